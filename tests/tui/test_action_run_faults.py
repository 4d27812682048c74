"""The actions screens under faults (Pilot, 80x24): who holds the incident, the plan's steps
before a resume, a step that needs attention with its follow-up one key away, and the
breaker's one-sentence halt."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable, Input, OptionList

import screens.action_run
from actions import Target
from actions.plan import build_plan
from actions.token_actions import RotateToken
from actions.user_actions import BlockUser
from screens.action_run import ActionRunScreen
from screens.actions_menu import ActionsMenuScreen, PlanScreen, follow_up_screens
from tests.integration.test_actions_faults import HOLDER
from tests.tui.test_actions_menu import Harness, _ctx, _finish, _text

REPO = Path(__file__).resolve().parents[2]


class RunHarness(App[None]):
    def __init__(self, screen: ActionRunScreen) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


def _cell(app: App[Any], key: str) -> str:
    table = app.screen.query_one("#run-table", DataTable)
    value = table.get_cell(key, "result")
    return value.plain if isinstance(value, Text) else str(value)


def test_a_second_console_is_read_only_and_names_the_holder(fresh_drill, tmp_path):
    ids = [33]
    ctx = _ctx(fresh_drill, tmp_path, ids)
    ctx.store.journal_intent(ctx.incident_id, "block_user", "user", 33, "u", {}, None)
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ctx.store.path), str(ctx.incident_id)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"

        async def run() -> None:
            app = Harness(ctx, ids)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("a")
                await pilot.pause()
                assert isinstance(app.screen, ActionsMenuScreen)
                mode = _text(app, "#actions-mode")
                assert f"Another console (PID {child.pid} on " in mode
                assert "read-only" in mode
                menu = app.screen.query_one("#actions-list", OptionList)
                assert all(menu.get_option_at_index(i).disabled for i in range(menu.option_count))
                assert _text(app, "#actions-pending") == ""  # not ours to re-check
                await pilot.press("r")
                await pilot.pause()
                assert isinstance(app.screen, ActionsMenuScreen)

        asyncio.run(run())
    finally:
        child.kill()
        child.wait(timeout=10)
    assert fresh_drill.state.users[33].state == "active"
    assert [e.state for e in ctx.store.journal_entries(ctx.incident_id)] == ["intent"]


def test_resume_shows_the_plan_steps_then_finishes_them(fresh_drill, tmp_path, monkeypatch):
    ids = [33, 34, 35]
    ctx = _ctx(fresh_drill, tmp_path, ids)
    store, inc = ctx.store, ctx.incident_id
    pid = store.plan_create(inc, "block_user", {}, [("user", i, f"u{i}") for i in ids])
    gl = ctx.gitlab()
    gl.http_post("/users/33/block")
    eid = store.journal_intent(inc, "block_user", "user", 33, "u33", {}, None, plan_step=(pid, 0))
    store.journal_update(eid, "done")
    store.journal_intent(inc, "block_user", "user", 34, "u34", {}, None, plan_step=(pid, 1))

    gate = threading.Event()
    real = screens.action_run.resume

    def gated(*args: Any, **kw: Any) -> Any:
        gate.wait(10)
        return real(*args, **kw)

    monkeypatch.setattr(screens.action_run, "resume", gated)

    async def run() -> None:
        app = RunHarness(ActionRunScreen(ctx, None, resume=True))
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(50):
                await pilot.pause(0.02)
                if "user:35" in app.screen._rows:
                    break
            assert _cell(app, "user:33").startswith("done")
            assert _cell(app, "user:34").startswith("in flight")
            assert _cell(app, "user:35").startswith("not started")
            assert "2 step(s) to finish" in _text(app, "#run-status")
            gate.set()
            await _finish(app, pilot)
            assert "2 done" in _text(app, "#run-summary")
            assert _cell(app, "user:34").startswith("done")
            assert _cell(app, "user:35").startswith("done")

    asyncio.run(run())
    assert all(fresh_drill.state.users[i].state == "blocked" for i in ids)
    assert store.plans_open(inc) == []


def test_needs_attention_offers_the_revoke_one_key_away(fresh_drill, tmp_path):
    ctx = _ctx(fresh_drill, tmp_path, [])
    tok = next(
        t
        for t in sorted(fresh_drill.state.tokens.values(), key=lambda t: t.id)
        if not t.revoked and t.resource_type is None and not t.impersonation and t.user_id != 1
    )
    fresh_drill.options.fault = lambda m, p: (
        "drop" if p.endswith(f"/personal_access_tokens/{tok.id}/rotate") else None
    )
    plan = build_plan(
        RotateToken(), [Target("token", tok.id, tok.name, info={"user_id": tok.user_id})]
    )

    async def run() -> None:
        app = RunHarness(ActionRunScreen(ctx, plan, follow_up=follow_up_screens(ctx)))
        async with app.run_test(size=(80, 24)) as pilot:
            await _finish(app, pilot)
            new_id = tok.rotated_to
            assert new_id is not None
            assert _cell(app, "0").startswith("NEEDS ATTENTION")
            assert f"revoke the new token #{new_id} whose value was lost" in _cell(app, "0")
            assert "1 need attention" in _text(app, "#run-summary")
            fresh_drill.options.fault = None
            await pilot.press("v")
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert [t.id for t in app.screen.plan.targets] == [new_id]
            app.screen.query_one("#plan-confirm", Input).value = ""
            await pilot.press("y", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ActionRunScreen)
            await _finish(app, pilot)
            assert "1 done" in _text(app, "#run-summary")

    asyncio.run(run())
    assert fresh_drill.state.tokens[tok.rotated_to].revoked


def test_the_breaker_halt_is_one_sentence_on_screen(fresh_drill, tmp_path):
    ids = [33, 34, 35, 36, 37]
    ctx = _ctx(fresh_drill, tmp_path, ids)
    fresh_drill.options.fault = lambda m, p: 403 if m == "POST" else None
    plan = build_plan(BlockUser(), [Target("user", i, f"u{i}") for i in ids], actor_id=1)

    async def run() -> None:
        app = RunHarness(ActionRunScreen(ctx, plan))
        async with app.run_test(size=(80, 24)) as pilot:
            await _finish(app, pilot)
            halt = _text(app, "#run-halt")
            assert halt.startswith("Stopped: 3 requests in a row were refused (403)")
            assert "the write (POST /users/35/block)" in halt
            assert "f: finish the 2 step(s) not started" in _text(app, "#run-hint")
            await pilot.press("D")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "2 step(s) dropped" in _text(app, "#run-hint")

    asyncio.run(run())
    assert all(fresh_drill.state.users[i].state == "active" for i in ids)
    assert ctx.store.plans_open(ctx.incident_id) == []
