"""The header: mode badges, review and runbook progress, the console holding the incident.

Pilot tests through the real app (drill startup, the shipped runbook pane) and the real lock
file; the header widget on its own for what it draws from a state.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from textual.app import App, ComposeResult

from console.app import IncidentConsoleApp
from console.session import db_path
from console.store.lock import lock_path
from screens.header import ConsoleHeader, HeaderState
from screens.main import default_pane_factories
from styles import stylesheet
from tests.pilot_helpers import FAKE_PANES, demo, reach_main, run_app, screen_text, until


class HeaderApp(App[None]):
    CSS_PATH = [stylesheet("app.tcss")]

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()


def test_offline_is_read_only_and_one_update_redraws_every_field() -> None:
    async def go() -> None:
        app = HeaderApp()
        async with app.run_test(size=(100, 4)) as pilot:
            header = app.query_one(ConsoleHeader)
            header.update(
                instance_url="https://gitlab.example",
                identity="root",
                incident_title="Takeover [b]x[/]",
                offline=True,
                review=(3, 40, False),
                runbook="runbook 4/6 · 3 open",
                active_pane="runbook",
            )
            await pilot.pause()
            lines = screen_text_of(app)
            assert lines[0].split()[:2] == ["OFFLINE", "READ-ONLY"]
            assert "Takeover [b]x[/]" in lines[0]  # literal, never markup
            assert lines[0].rstrip().endswith("reviewed 3/40, root ✗ · runbook 4/6 · 3 open")
            assert "https://gitlab.example  as root" in lines[1]
            assert "4 Runbook" in lines[1]
            header.update(lock_holder="PID 7 on jump1, since 2025-01-01T00:00:00Z")
            await pilot.pause()
            assert screen_text_of(app)[1].startswith(" held by PID 7 on jump1")

    asyncio.run(go())


def screen_text_of(app: App[Any]) -> list[str]:
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip) for strip in strips]


def test_badges_follow_the_state() -> None:
    assert HeaderState().badges() == []
    assert HeaderState(drill=True, dry_run=True).badges() == ["DRILL", "DRY-RUN"]
    assert HeaderState(lock_holder="PID 1 on h").badges() == ["READ-ONLY"]
    assert HeaderState(review=None, runbook="").progress() == ""


def test_the_runbook_pane_reports_its_progress_to_the_header() -> None:
    panes = {**FAKE_PANES, **{k: v for k, v in default_pane_factories().items() if k == "runbook"}}
    app = IncidentConsoleApp(demo(), panes=panes)

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        header = main.query_one(ConsoleHeader)
        await until(pilot, lambda: header.state.runbook.startswith("runbook "))
        await until(pilot, lambda: header.state.runbook in screen_text(app).splitlines()[0])
        await pilot.press("4")
        await until(pilot, lambda: header.state.active_pane == "runbook")

    run_app(app, script)


@pytest.fixture
def another_console() -> Iterator[None]:
    """Another console holds the demo's first incident: the lock file, flock'ed and filled in
    exactly as that console would (a separate open file description conflicts like a process)."""
    path = lock_path(db_path(True), 1)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.pwrite(
        fd, json.dumps({"pid": 4242, "host": "jump-2", "since": "2025-05-10T12:00:00Z"}).encode(), 0
    )
    try:
        yield
    finally:
        os.close(fd)


@pytest.mark.usefixtures("another_console")
def test_the_header_names_the_console_holding_the_incident() -> None:
    app = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        header = main.query_one(ConsoleHeader)
        await until(pilot, lambda: header.state.lock_holder is not None)
        assert "READ-ONLY" in header.state.badges()
        assert "held by PID 4242 on jump-2" in screen_text(app)

    run_app(app, script)
