"""The actions menu under Pilot at 80x24: a → choose → plan → type the count → run → summary."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.text import Text
from textual.app import App
from textual.widgets import Input, OptionList, Static

from console.config import ConnectionConfig, build_gitlab
from console.context import AppContext
from console.secret import Secret
from console.store import Store
from screens.action_run import ActionRunScreen
from screens.actions_menu import (
    ActionsMenuScreen,
    PlanScreen,
    open_actions_menu,
    open_token_actions_menu,
)
from screens.secret_box import OneTimeSecrets
from tests.pilot_helpers import screen_text


def _ctx(drill: Any, tmp_path: Path, ids: list[int], **flags: bool) -> AppContext:
    from console.drill.server import DrillServer

    store = Store.open(tmp_path / "state" / "console.db")
    incident = store.create_incident("menu", "compromised-account", None, drill.url, None, None)
    cfg = ConnectionConfig(url=drill.url)
    token = Secret(DrillServer.ADMIN_TOKEN)
    gl = build_gitlab(cfg, token)
    store.upsert_users(
        int(incident.id), [gl.http_get(f"/users/{i}") for i in ids], "2025-01-01T00:00:00Z"
    )
    conn = SimpleNamespace(config=cfg, token=token, is_drill=True)
    return AppContext(store, incident, conn, None, **flags)  # type: ignore[arg-type]


class Harness(App[None]):
    BINDINGS = [("a", "actions", "Actions")]

    def __init__(self, ctx: AppContext, ids: list[int]) -> None:
        super().__init__()
        self.ctx = ctx
        self.ids = ids

    def action_actions(self) -> None:
        open_actions_menu(self, self.ctx, self.ids)


def _text(app: App[Any], selector: str) -> str:
    content = app.screen.query_one(selector, Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def _finish(app: App[Any], pilot: Any) -> None:
    await app.workers.wait_for_complete()
    for _ in range(20):
        await pilot.pause()
        if isinstance(app.screen, ActionRunScreen) and app.screen.finished:
            return


async def _block_plan(app: App[Any], pilot: Any, *, opened: bool = False) -> None:
    """a (unless the menu is ``opened``), enter on Block: its plan, once it knows who we are."""
    if not opened:
        await pilot.press("a")
        await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, PlanScreen)
    await app.workers.wait_for_complete()  # the plan learns who we are (GET /user)
    await pilot.pause()


def test_block_two_users_from_the_menu(fresh_drill, tmp_path):
    ids = [33, 34]
    ctx = _ctx(fresh_drill, tmp_path, ids)

    async def run() -> None:
        app = Harness(ctx, ids)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, ActionsMenuScreen)
            # The title names who the actions are for, from the local cache.
            names = {u.id: u.username for u in ctx.store.users_by_ids(ctx.incident_id, ids)}
            title = app.screen.query_one(".dialog-title", Static).render()
            assert f"Actions for 2 users: @{names[33]} (#33), @{names[34]} (#34)" in str(title)
            menu = app.screen.query_one("#actions-list", OptionList)
            assert menu.highlighted == 0 and menu.get_option_at_index(0).id == "block_user"
            await _block_plan(app, pilot, opened=True)
            assert "Block: 2 users" in _text(app, "#plan-summary")
            targets = " ".join(str(w.content) for w in app.screen.query(".plan-target"))
            assert "#33" in targets and "#34" in targets
            assert "Nothing to do" not in screen_text(app)  # it has two targets

            await pilot.press("2", "enter")  # the wrong word does nothing but is journaled
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            assert "Type exactly y" in _text(app, "#plan-error")
            assert fresh_drill.state.users[33].state == "active"
            await app.workers.wait_for_complete()
            [refused] = ctx.store.journal_entries(ctx.incident_id)
            assert (refused.state, refused.extra["not_sent"]) == ("failed", "confirmation")

            app.screen.query_one("#plan-confirm", Input).value = ""
            await pilot.press("y", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ActionRunScreen)
            await _finish(app, pilot)
            assert app.screen.finished
            assert "2 done" in _text(app, "#run-summary")
            head = ctx.store.journal_head(ctx.incident_id)
            assert head in _text(app, "#run-head")
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, (ActionRunScreen, PlanScreen, ActionsMenuScreen))

    asyncio.run(run())
    assert fresh_drill.state.users[33].state == "blocked"
    assert fresh_drill.state.users[34].state == "blocked"
    assert [e.state for e in ctx.store.journal_entries(ctx.incident_id)] == [
        "failed",
        "done",
        "done",
    ]  # the refused confirmation first


def test_read_only_greys_out_actions_and_offers_a_dry_run(fresh_drill, tmp_path):
    ids = [35]
    ctx = _ctx(fresh_drill, tmp_path, ids, read_only=True)

    async def run() -> None:
        app = Harness(ctx, ids)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("a")
            await pilot.pause()
            menu = app.screen.query_one("#actions-list", OptionList)
            assert all(menu.get_option_at_index(i).disabled for i in range(menu.option_count))
            assert "Read-only" in _text(app, "#actions-mode")
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ActionsMenuScreen)

            await pilot.press("d")
            await pilot.pause()
            menu = app.screen.query_one("#actions-list", OptionList)
            assert not menu.get_option_at_index(0).disabled
            menu.highlighted = 0
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("enter")  # a dry run needs no typed confirmation
            await pilot.pause()
            assert isinstance(app.screen, ActionRunScreen)
            await _finish(app, pilot)
            assert "1 would do" in _text(app, "#run-summary")

    asyncio.run(run())
    assert fresh_drill.state.users[35].state == "active"
    assert [
        (e.state, e.extra.get("not_sent")) for e in ctx.store.journal_entries(ctx.incident_id)
    ] == [("noop_already", "dry_run")]


def test_password_reset_shows_the_new_password_once(fresh_drill, tmp_path):
    ids = [36]
    ctx = _ctx(fresh_drill, tmp_path, ids)

    async def run() -> str:
        app = Harness(ctx, ids)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("a")
            await pilot.pause()
            menu = app.screen.query_one("#actions-list", OptionList)
            menu.highlighted = next(
                i
                for i in range(menu.option_count)
                if menu.get_option_at_index(i).id == "reset_password"
            )
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("y", "enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            for _ in range(40):
                if isinstance(app.screen, OneTimeSecrets):
                    break
                await pilot.pause(0.05)
            assert isinstance(app.screen, OneTimeSecrets)
            shown = _text(app, "#secret-values")
            await pilot.press("escape")  # dismissed: gone from the screen
            await pilot.pause()
            after.append(screen_text(app))
            after.append(app.export_screenshot())
            assert isinstance(app.screen, ActionRunScreen)
            return shown

    after: list[str] = []
    shown = asyncio.run(run())
    assert "new password for #36" in shown
    password = shown.rsplit(": ", 1)[1].strip()
    assert len(password) == 24
    assert all(password not in capture for capture in after)
    [entry] = ctx.store.journal_entries(ctx.incident_id)
    assert password not in repr(entry)


def test_revoke_tokens_from_the_menu_never_includes_our_own_token(fresh_drill, tmp_path):
    from console.drill.server import DrillServer

    ctx = _ctx(fresh_drill, tmp_path, [])
    tokens = fresh_drill.state.tokens
    own = next(t for t in tokens.values() if t.value == DrillServer.ADMIN_TOKEN)
    victim = next(
        t
        for t in sorted(tokens.values(), key=lambda t: t.id)
        if t.user_id == 10 and not t.revoked and t.resource_type is None
    )
    listed = [
        {"id": t.id, "name": t.name, "user_id": t.user_id, "scopes": t.scopes}
        for t in (own, victim)
    ]

    async def run() -> None:
        app = Harness(ctx, [])
        async with app.run_test(size=(80, 24)) as pilot:
            open_token_actions_menu(app, ctx, listed)
            await pilot.pause()
            menu = app.screen.query_one("#actions-list", OptionList)
            assert menu.get_option_at_index(0).id == "revoke_token"
            await pilot.press("enter")
            await app.workers.wait_for_complete()  # learns our token id
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            assert [t.id for t in app.screen.plan.targets] == [victim.id]
            # our own token is offered only as a rotation, last, on its own word
            assert app.screen.own_plan is not None and app.screen.query("#plan-confirm-own")
            await pilot.press("y", "enter")  # its box left empty: left out
            await pilot.pause()
            await _finish(app, pilot)
            assert "1 done" in _text(app, "#run-summary")

    asyncio.run(run())
    assert victim.revoked and not own.revoked
    assert fresh_drill.requests_to("POST", "/personal_access_tokens/self/rotate") == 0


def test_own_token_in_a_token_selection_is_rotated_last_on_its_own_word(fresh_drill, tmp_path):
    from console.drill.server import DrillServer
    from console.session import Connection

    ctx = _ctx(fresh_drill, tmp_path, [])
    ctx.replace_connection(Connection(ctx.connection.config, ctx.connection.token, "env", "env"))
    tokens = fresh_drill.state.tokens
    own = next(t for t in tokens.values() if t.value == DrillServer.ADMIN_TOKEN)
    victim = next(
        t
        for t in sorted(tokens.values(), key=lambda t: t.id)
        if t.user_id == 10 and not t.revoked and t.resource_type is None
    )
    group = next(t for t in tokens.values() if t.resource_type == "group" and not t.revoked)
    listed = [
        {
            "id": t.id,
            "name": t.name,
            "user_id": t.user_id,
            "scopes": t.scopes,
            "resource_type": t.resource_type,
            "resource_id": t.resource_id,
        }
        for t in (own, victim, group)
    ]

    async def run() -> None:
        app = Harness(ctx, [])
        async with app.run_test(size=(80, 24)) as pilot:
            open_token_actions_menu(app, ctx, listed)
            await pilot.pause()
            await pilot.press("enter")  # Revoke
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            app.screen.query_one("#plan-confirm-own", Input).value = "rotat"
            app.screen.query_one("#plan-confirm", Input).focus()
            await pilot.press("y", "enter")  # a wrong own-token word stops everything
            await app.workers.wait_for_complete()
            assert isinstance(app.screen, PlanScreen) and fresh_drill.writes() == []
            app.screen.query_one("#plan-confirm-own", Input).value = "rotate"
            app.screen.query_one("#plan-confirm", Input).value = ""
            app.screen.query_one("#plan-confirm", Input).focus()
            await pilot.press("y", "enter")
            await pilot.pause()
            await _finish(app, pilot)
            assert "3 done" in _text(app, "#run-summary")

    asyncio.run(run())
    writes = [(m, p) for m, p, _ in fresh_drill.writes()]
    assert writes == [
        ("DELETE", f"/groups/{group.resource_id}/access_tokens/{group.id}"),
        ("DELETE", f"/personal_access_tokens/{victim.id}"),
        ("POST", "/personal_access_tokens/self/rotate"),
    ]  # own token last
    assert victim.revoked and group.revoked and own.revoked
    assert ctx.connection.token.reveal() != DrillServer.ADMIN_TOKEN
    refused = [e for e in ctx.store.journal_entries(ctx.incident_id) if e.extra.get("not_sent")]
    assert [e.extra["not_sent"] for e in refused] == ["own_token_unconfirmed"]


def test_menu_offers_to_resume_interrupted_actions(fresh_drill, tmp_path):
    ids = [37]
    ctx = _ctx(fresh_drill, tmp_path, ids)
    # a previous session journaled the intent and died before sending
    ctx.store.journal_intent(
        ctx.incident_id, "block_user", "user", 37, "omehta", {}, {"state": "active"}
    )

    async def run() -> None:
        app = Harness(ctx, ids)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("a")
            await pilot.pause()
            assert "1 action(s) were interrupted" in _text(app, "#actions-pending")
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, ActionRunScreen)
            await _finish(app, pilot)
            assert "1 done" in _text(app, "#run-summary")

    asyncio.run(run())
    assert fresh_drill.state.users[37].state == "blocked"
    assert ctx.store.journal_pending(ctx.incident_id) == []


def test_a_plan_for_thousands_lists_a_bounded_number_of_lines(drill, tmp_path):
    """Select all, then a: one widget per target froze the UI for seconds; the plan still
    holds (and the confirmation counts) every target."""
    from console.drill.server import DrillServer
    from screens.actions_menu import PLAN_LINES

    store = Store.open(tmp_path / "state" / "console.db")
    incident = store.create_incident("many", "compromised-account", None, drill.url, None, None)
    n = PLAN_LINES + 250
    ids = list(range(5000, 5000 + n))
    store.upsert_users(
        int(incident.id),
        [{"id": i, "username": f"u{i}", "state": "active"} for i in ids],
        "2025-01-01T00:00:00Z",
    )
    conn = SimpleNamespace(
        config=ConnectionConfig(url=drill.url), token=Secret(DrillServer.ADMIN_TOKEN), is_drill=True
    )
    ctx = AppContext(store, incident, conn, None)  # type: ignore[arg-type]

    async def run() -> None:
        app = Harness(ctx, ids)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("a")
            await pilot.pause()
            await pilot.press("enter")  # Block
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            assert len(app.screen.plan.targets) == n
            assert f"Block: {n} users" in _text(app, "#plan-summary")
            assert len(app.screen.query(".plan-target")) == PLAN_LINES
            assert "250 more" in _text(app, ".plan-more")

    asyncio.run(run())


def test_a_plan_whose_every_user_is_excluded_says_there_is_nothing_to_do(fresh_drill, tmp_path):
    ids = [1]  # root: the account the console acts as, never blocked by it
    ctx = _ctx(fresh_drill, tmp_path, ids)

    async def run() -> None:
        app = Harness(ctx, ids)
        async with app.run_test(size=(80, 24)) as pilot:
            await _block_plan(app, pilot)
            assert "Nothing to do: every selected user is excluded." in screen_text(app)
            assert not app.screen.query("#plan-confirm")

    asyncio.run(run())
