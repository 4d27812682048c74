"""The dossier screen: opened from the users pane, drill sections, review keys, audit jump."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from textual import on

from console.dossier import Dossier, Section
from console.errors import Problem
from console.users_load import load_users_blocking
from screens.actions_menu import ActionsMenuScreen
from screens.dossier import DossierScreen
from screens.messages import ShowAuditForUser
from screens.note import NoteScreen
from tests.tui.test_users_pane import PaneApp, make_ctx, make_users, screen_text, settle


class DossierApp(PaneApp):
    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.audit_requests: list[int | None] = []

    @on(ShowAuditForUser)
    def _audit(self, message: ShowAuditForUser) -> None:
        self.audit_requests.append(message.user_id)


def body_text(app: DossierApp) -> str:
    """All section texts of the dossier (the body scrolls, so read the widgets, not the screen)."""
    screen = app.screen
    assert isinstance(screen, DossierScreen)
    parts = []
    for widget in screen.query(".dossier-title, .dossier-section"):
        lines = app.console.render_lines(widget.content, app.console.options.update_width(76))
        parts.append("\n".join("".join(seg.text for seg in line) for line in lines))
    return "\n".join(parts)


def test_dossier_from_pane_against_drill(drill: Any, tmp_path: Path) -> None:
    # No window: the last 30 days, where the drill's scenario (mchen's trail) happened.
    ctx = make_ctx(tmp_path, url=drill.url, token=drill.ADMIN_TOKEN, window=(None, None))
    result = load_users_blocking(
        ctx.connection.config, ctx.connection.token, ctx.store, ctx.incident_id
    )
    assert result.problem is None and result.loaded == 2000

    async def run() -> None:
        app = DossierApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.pane.current_user_id == 1
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen)
            text = body_text(app)
            header = screen_text(app).splitlines()[0]
            assert "#1 @root" in header and "ADMIN" in header and "unreviewed" in header
            # 4 since issue 10: the attacker's impersonation token for root joined the seed
            assert "Personal access tokens (4)" in text
            assert "Memberships (2)" in text
            assert "Blast radius" in text and "namespace(s) with Maintainer/Owner" in text
            assert "Sign-in" in text and "sign-in count" in text
            assert "Audit events by or about the user (" in text
            assert "loading…" not in text

            await pilot.press("escape")  # mchen (#7) has an attacker trail in the drill
            await pilot.press(*["down"] * 6, "enter")
            await settle(pilot)
            assert "#7 @mchen" in screen_text(app).splitlines()[0]
            text = body_text(app)
            audit = re.search(r"Audit events by or about the user \((\d+)\)", text)
            events = re.search(r"Recent contribution events \((\d+)\)", text)
            assert audit and int(audit.group(1)) > 0, text
            assert events and int(events.group(1)) > 0
            await pilot.press("escape", "home", "enter")
            await settle(pilot)

            await pilot.press("C")  # C: mark with a note (c marks and moves on)
            await settle(pilot)
            assert isinstance(app.screen, NoteScreen)
            await pilot.press(*"root ok", "enter")
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen)
            mark = ctx.store.marks(ctx.incident_id, "user")[1]
            assert (mark.mark, mark.note) == ("cleared", "root ok")
            assert "✓ cleared" in screen_text(app).splitlines()[0]
            assert app.progress[-1].root_reviewed
            # The note was saved after its dialog closed: the dossier shows it without r.
            assert "review note: root ok" in body_text(app)

            await pilot.press("n")  # next unreviewed: the dossier and the pane move together
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DossierScreen) and screen.user_id == 2
            assert app.pane.current_user_id == 2
            assert "#2 @" in screen_text(app).splitlines()[0]

            await pilot.press("F", "escape")  # flag, skip the note
            await settle(pilot)
            assert ctx.store.marks(ctx.incident_id, "user")[2].mark == "flagged"

            await pilot.press("a")  # the response actions for the user on screen
            await settle(pilot)
            assert isinstance(app.screen, ActionsMenuScreen) and app.screen.user_ids == [2]
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen)

            await pilot.press("e")  # jump to the audit pane for this user
            await settle(pilot)
            assert not isinstance(app.screen, DossierScreen)
            assert app.audit_requests == [2]

            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen)
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, DossierScreen)
            assert app.pane.table.has_focus

    asyncio.run(run())


def test_failed_sections_show_their_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import console.dossier as dossier_module

    ctx = make_ctx(tmp_path, make_users(5))
    denied = Problem(
        "Forbidden", "403 from /users/1/memberships", "Use an admin token.", "auth", 403
    )

    def fake_fetch(gl: Any, user_id: int, window: tuple[str, str]) -> Dossier:
        return Dossier(
            user_id=user_id,
            window=window,
            fetched_at="2024-06-01T00:00:00Z",
            seconds=0.1,
            profile=Section("profile", {"id": user_id, "username": "root", "state": "active"}),
            memberships=Section("memberships", None, denied),
            tokens=Section("tokens", [{"id": 9, "name": "ci", "scopes": ["api"]}]),
            blast_radius=Section("blast_radius", None, denied, "needs the user's memberships"),
        )

    monkeypatch.setattr(dossier_module, "fetch_dossier", fake_fetch)
    monkeypatch.setattr(type(ctx), "gitlab", lambda self: object())

    async def run() -> None:
        app = DossierApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            text = body_text(app)
            assert "Memberships  ⚠ unavailable" in text
            assert "⚠ Forbidden: 403 from /users/1/memberships" in text
            assert "Use an admin token." in text
            assert "Personal access tokens (1)" in text and "api" in text
            assert "SSH keys" in text and "not fetched" in text

    asyncio.run(run())

    def boom(gl: Any, user_id: int, window: tuple[str, str]) -> Dossier:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(dossier_module, "fetch_dossier", boom)

    async def run_failed() -> None:
        app = DossierApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            text = body_text(app)
            assert text.count("⚠") >= 10  # every section says why it is empty
            assert "loading…" not in text
            assert app.is_running

    asyncio.run(run_failed())


def test_review_at_speed_in_the_dossier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the dossier, c/f mark the user on screen and open the next unreviewed one; no note
    box (C/F ask for a note); the pane's cursor follows."""
    import console.dossier as dossier_module
    from console.context import AppContext

    ctx = make_ctx(tmp_path, make_users(10))
    ctx.store.set_mark(ctx.incident_id, "user", 2, "cleared")
    monkeypatch.setattr(
        dossier_module,
        "fetch_dossier",
        lambda gl, uid, w: Dossier(user_id=uid, window=w, fetched_at="x", seconds=0.0),
    )
    monkeypatch.setattr(AppContext, "gitlab", lambda self: object())

    async def run() -> None:
        app = DossierApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen) and app.screen.user_id == 1
            await pilot.press("c")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DossierScreen) and screen.user_id == 3  # 2 was reviewed
            await pilot.press("f")
            await settle(pilot)
            assert not isinstance(app.screen, NoteScreen)
            assert isinstance(app.screen, DossierScreen) and app.screen.user_id == 4
            assert app.pane.current_user_id == 4
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert (marks[1].mark, marks[3].mark) == ("cleared", "flagged")
            assert marks[1].note is None and marks[3].note is None
            await pilot.press("F")  # with a note this time: the box opens for user 4
            await settle(pilot)
            assert isinstance(app.screen, NoteScreen)
            await pilot.press(*"phished", "enter")
            await settle(pilot)
            assert isinstance(app.screen, DossierScreen) and app.screen.user_id == 4
            assert ctx.store.marks(ctx.incident_id, "user")[4].note == "phished"

    asyncio.run(run())
