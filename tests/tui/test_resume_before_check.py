"""``--resume`` shows the cached incident before the capability check has answered.

A drill whose every request waits until the test releases it stands for a slow GitLab: the
cached users must be on screen (read-only) while the check is still waiting, and the same screen
must become writable, in place, once it passes.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from console.app import IncidentConsoleApp
from console.runbook import COVERAGE_CACHE_KEY
from console.session import Launch
from screens.header import ConsoleHeader
from screens.main import MainScreen
from tests.pilot_helpers import FAKE_PANES, cache_incident, run_app, screen_text, until


def _resume_with_cached_users(
    monkeypatch: pytest.MonkeyPatch, url: str, token: str
) -> tuple[IncidentConsoleApp, Any]:
    """A cached incident with three users, and an app set to resume it with ``token``."""
    from screens.panes.users import UsersPane

    users = [
        {"id": i, "username": f"cached{i}", "name": f"Cached {i}", "state": "active"}
        for i in (1, 2, 3)
    ]
    incident = cache_incident(url, profile="env", users=users)
    monkeypatch.setenv("GITLAB_URL", url)
    monkeypatch.setenv("GITLAB_TOKEN", token)
    app = IncidentConsoleApp(Launch(resume=True), panes={**FAKE_PANES, "users": UsersPane})
    return app, incident


async def _cached_rows_shown(pilot: Any, app: IncidentConsoleApp) -> MainScreen:
    """The main screen, once the users pane shows the cached rows."""
    from screens.panes.users import UsersPane

    await until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
    main = app.screen
    assert isinstance(main, MainScreen)
    pane = main.pane("users")
    assert isinstance(pane, UsersPane)
    await until(pilot, lambda: "cached2" in screen_text(app), timeout=30)
    return main


def test_resume_shows_cached_rows_read_only_before_the_check_then_becomes_writable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from console.drill.server import DrillOptions, DrillServer

    released = threading.Event()
    held: list[str] = []

    def hold(method: str, path: str) -> None:
        held.append(path)
        released.wait(30)  # the request waits in the drill's handler thread
        return None

    server = DrillServer(DrillOptions(users=50, fault=hold))
    url = server.start()
    app, incident = _resume_with_cached_users(monkeypatch, url, DrillServer.ADMIN_TOKEN)

    async def script(pilot: Any) -> None:
        main = await _cached_rows_shown(pilot, app)
        # The rows are up and the check is still held by the drill: read-only meanwhile.
        await until(pilot, lambda: bool(held), timeout=30)
        assert not released.is_set()
        assert app._startup.checking
        assert main.ctx.read_only and main.ctx.coverage is None
        assert main.ctx.incident.id == incident.id
        header = main.query_one(ConsoleHeader)
        assert header.state.read_only
        assert "READ-ONLY" in screen_text(app)

        released.set()
        await until(pilot, lambda: not main.ctx.read_only, timeout=30)
        assert main.ctx.coverage is not None and not app._startup.checking
        assert app.screen is main  # in place: the rows and anything typed stay
        await until(pilot, lambda: not header.state.read_only)
        await until(pilot, lambda: "READ-ONLY" not in screen_text(app))
        assert "OFFLINE" not in screen_text(app)
        assert header.state.identity == "root"
        assert app._startup.offline_problem is None
        # The check that passed late is kept with the incident, as one that passed first is.
        await until(
            pilot, lambda: main.ctx.store.cache_get(incident.id, COVERAGE_CACHE_KEY) is not None
        )
        cached = main.ctx.store.cache_get(incident.id, COVERAGE_CACHE_KEY)
        assert cached is not None and cached[0]["username"] == "root"

    try:
        run_app(app, script)
    finally:
        released.set()
        server.stop()


def test_resume_with_a_refused_token_stays_read_only_and_says_why(
    monkeypatch: pytest.MonkeyPatch, fresh_drill: Any
) -> None:
    """Not unreachable but refused (401): the cached incident stays open, read-only."""
    url = fresh_drill.url
    cache_incident(url, profile="env")
    monkeypatch.setenv("GITLAB_URL", url)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-" + "r" * 20)  # not a token the drill knows
    app = IncidentConsoleApp(Launch(resume=True), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
        main = app.screen
        assert isinstance(main, MainScreen)
        await until(pilot, lambda: "OFFLINE: GitLab check failed" in screen_text(app), timeout=30)
        assert main.ctx.read_only and main.ctx.coverage is None
        assert app._startup.offline_problem is not None and not app._startup.checking
        assert main.query_one(ConsoleHeader).state.offline
        assert any("GitLab check failed" in n.message for n in app._notifications)

    run_app(app, script)


def test_a_non_admin_check_that_answers_after_the_cached_rows_notes_the_partial_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from console.drill.server import DrillOptions, DrillServer

    released = threading.Event()

    def hold(method: str, path: str) -> None:
        released.wait(30)  # the check waits until the cached rows are on screen
        return None

    server = DrillServer(DrillOptions(users=50, fault=hold))
    url = server.start()
    app, _ = _resume_with_cached_users(monkeypatch, url, DrillServer.USER_TOKEN)

    async def script(pilot: Any) -> None:
        main = await _cached_rows_shown(pilot, app)
        assert main.ctx.coverage is None and "not an administrator" not in screen_text(app)

        released.set()
        await until(pilot, lambda: main.ctx.coverage is not None, timeout=30)
        assert main.ctx.coverage is not None and not main.ctx.coverage.is_admin
        assert app.screen is main  # the same pane, mounted before the check answered
        await until(
            pilot, lambda: "partial list: this token is not an administrator" in screen_text(app)
        )

    try:
        run_app(app, script)
    finally:
        released.set()
        server.stop()
