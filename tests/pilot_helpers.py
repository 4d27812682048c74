"""Helpers shared by the Pilot tests: screen text, settling, and driving the whole app.

``screen_lines`` reads Textual's compositor (a private API) to get the text a terminal would
show; layout is checked with snapshots (tests/tui/test_snapshots.py), text with these.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.app import App
from textual.binding import Binding
from textual.widget import Widget

from console.app import IncidentConsoleApp
from console.session import Launch, db_path
from console.store import Incident, Store
from screens.connect import ProblemScreen
from screens.coverage import CoverageScreen
from screens.header import ConsoleHeader
from screens.main import MainScreen


def screen_lines(app: App[Any]) -> list[str]:
    """The rendered screen as plain text lines (what reaches the terminal, minus styles)."""
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip) for strip in strips]


async def settle_workers(app: App[Any], pilot: Any) -> None:
    """Let workers finish and their messages land (a few rounds: results start more work)."""
    for _ in range(5):
        await app.workers.wait_for_complete()
        await pilot.pause()


class FakePane(Widget, can_focus=True):
    """Stands in for a real pane: one binding of its own, records restore() and search."""

    BINDINGS = [Binding("z", "zap", "Zap the highlighted row")]

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.restored: dict[str, Any] | None = None
        self.searches = 0

    def render(self) -> str:
        return f"fake pane {self.id}"

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        self.restored = dict(state)

    def action_search(self) -> None:
        self.searches += 1

    def action_zap(self) -> None:
        pass


FAKE_PANES = {"users": FakePane, "audit": FakePane, "credentials": FakePane}


def screen_text(app: IncidentConsoleApp) -> str:
    """What the terminal would show, as plain text."""
    update = app.screen._compositor.render_update(full=True)
    console = Console(file=io.StringIO(), width=app.size.width, color_system=None)
    console.print(update)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; screen is {type(pilot.app.screen).__name__}")
        await pilot.pause(0.05)


async def reach_main(pilot: Any) -> MainScreen:
    """Wait for the main screen, continuing past the coverage panel if the drill shows one."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, (MainScreen, CoverageScreen, ProblemScreen)))
    if isinstance(app.screen, CoverageScreen):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    assert isinstance(app.screen, MainScreen), screen_text(app)
    main = app.screen
    # switch_screen makes it current before its children are mounted; wait for on_mount
    await until(
        pilot,
        lambda: (
            bool(main.query(ConsoleHeader))
            and bool(main.query_one(ConsoleHeader).state.instance_url)
        ),
    )
    await pilot.pause()
    return main


def demo(**kw: Any) -> Launch:
    return Launch(demo=True, drill_users=kw.pop("drill_users", 60), **kw)


def run_app(app: IncidentConsoleApp, script: Callable[[Any], Any]) -> None:
    async def go() -> None:
        try:
            async with app.run_test(size=(80, 24), notifications=True) as pilot:
                await script(pilot)
        finally:
            app.shutdown()

    asyncio.run(go())


def cache_incident(
    url: str,
    *,
    profile: str = "default",
    users: list[dict[str, Any]] | None = None,
    fetched_at: str = "2026-11-02T07:00:00Z",
) -> Incident:
    """An open incident (and its cached users) in the test's store, as a resume finds it."""
    store = Store.open(db_path(False))
    incident = store.create_incident(
        title="Laptop stolen",
        kind="compromised-account",
        profile=profile,
        instance_url=url,
        window_start="2026-11-01T00:00:00Z",
        window_end="",
    )
    if users:
        store.upsert_users(incident.id, users, fetched_at)
    store.close()
    return incident
