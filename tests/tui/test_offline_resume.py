"""``--resume`` with GitLab unreachable opens the incident read-only from the local cache.

Issue 9 item 5: a closed loopback port stands for the unreachable server; the incident and its
cached data were left by an earlier session in the (isolated) data directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from console.app import IncidentConsoleApp
from console.session import Launch, db_path
from console.store import Store
from console.store.lock import held_here, lock_path
from screens.header import ConsoleHeader
from screens.main import MainScreen
from tests.pilot_helpers import FAKE_PANES, cache_incident, run_app, screen_text, until


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


def test_resume_unreachable_opens_read_only_from_the_cache_and_reconnect_says_still_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    incident = cache_incident(url)
    monkeypatch.setenv("GITLAB_URL", url)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-" + "x" * 20)
    app = IncidentConsoleApp(Launch(resume=True), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
        main = app.screen
        assert isinstance(main, MainScreen)
        assert main.ctx.read_only and main.ctx.incident.id == incident.id
        # The check runs beside the open screen; once it has failed, the screen says so.
        await until(pilot, lambda: "OFFLINE: GitLab unreachable" in screen_text(app), timeout=30)
        assert main.ctx.read_only and main.ctx.coverage is None
        assert ":reconnect" in screen_text(app)
        # :reconnect while the server is still down: says so and stays read-only.
        await pilot.press("colon", *"reconnect", "enter")
        await until(
            pilot, lambda: any("Still offline" in n.message for n in app._notifications), timeout=30
        )
        assert app.screen is main and main.ctx.read_only

    run_app(app, script)


def test_reconnect_after_the_server_comes_back_leaves_read_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from console.drill.server import DrillOptions, DrillServer

    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    cache_incident(url)
    monkeypatch.setenv("GITLAB_URL", url)
    monkeypatch.setenv("GITLAB_TOKEN", DrillServer.ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch(resume=True), panes=FAKE_PANES)
    server = DrillServer(DrillOptions(users=50, port=port))

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
        offline = app.screen
        assert isinstance(offline, MainScreen) and offline.ctx.read_only
        await until(pilot, lambda: "OFFLINE" in screen_text(app), timeout=30)  # the check failed
        server.start()  # GitLab is back, on the same address
        await pilot.press("colon", *"reconnect", "enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, MainScreen) and app.screen is not offline,
            timeout=30,
        )
        await pilot.pause(0.2)
        main = app.screen
        assert isinstance(main, MainScreen)
        assert not main.ctx.read_only and main.ctx.coverage is not None
        assert "OFFLINE" not in screen_text(app)

    try:
        run_app(app, script)
    finally:
        server.stop()


def test_offline_the_users_pane_says_its_rows_are_stale_and_how_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from screens.panes.users import UsersPane

    url = f"http://127.0.0.1:{_closed_port()}"
    store = Store.open(db_path(False))
    incident = store.create_incident(
        title="Laptop stolen",
        kind="compromised-account",
        profile="default",
        instance_url=url,
        window_start="2026-11-01T00:00:00Z",
        window_end="",
    )
    users = [
        {"id": i, "username": f"user{i}", "name": f"User {i}", "state": "active"} for i in (1, 2, 3)
    ]
    store.upsert_users(incident.id, users[:2], "2026-11-02T07:00:00Z")
    store.upsert_users(incident.id, users[2:], "2026-11-02T08:30:15Z")
    store.close()
    monkeypatch.setenv("GITLAB_URL", url)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-" + "x" * 20)
    app = IncidentConsoleApp(Launch(resume=True), panes={**FAKE_PANES, "users": UsersPane})

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
        main = app.screen
        assert isinstance(main, MainScreen)
        pane = main.pane("users")
        assert isinstance(pane, UsersPane)
        # The check's retries (jittered backoff) can take a while before it fails.
        await until(pilot, lambda: "OFFLINE" in screen_text(app), timeout=30)
        await until(pilot, lambda: pane.stale_as_of is not None)
        assert pane.stale and str(pane.border_subtitle) == "STALE: data of 2026-11-02 08:30 UTC"
        # and on screen, once the border is repainted
        await until(pilot, lambda: "STALE: data of 2026-11-02 08:30 UTC" in screen_text(app))

    run_app(app, script)


def _reconnect_when_back(
    monkeypatch: pytest.MonkeyPatch, port: int, incident_id: int, incident_check: Any
) -> None:
    """Resume the incident cached for ``port`` while nothing listens there, start GitLab on it,
    ``:reconnect``, then ``incident_check(pilot, main)`` on the new main screen."""
    from console.drill.server import DrillOptions, DrillServer

    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("GITLAB_URL", url)
    monkeypatch.setenv("GITLAB_TOKEN", DrillServer.ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch(resume=True), panes=FAKE_PANES)
    server = DrillServer(DrillOptions(users=50, port=port))

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
        offline = app.screen
        await until(pilot, lambda: "OFFLINE" in screen_text(app), timeout=30)  # the check failed
        assert held_here(db_path(False), incident_id) is None  # offline: read-only, no lock
        server.start()
        await pilot.press("colon", *"reconnect", "enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, MainScreen) and app.screen is not offline,
            timeout=30,
        )
        main = app.screen
        assert isinstance(main, MainScreen)
        await incident_check(pilot, main)

    try:
        run_app(app, script)
    finally:
        server.stop()


def test_reconnect_holds_the_incident_for_writing_as_a_normal_start_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = _closed_port()
    incident = cache_incident(f"http://127.0.0.1:{port}")
    path = db_path(False)

    async def check(pilot: Any, main: MainScreen) -> None:
        await until(pilot, lambda: held_here(path, incident.id) is not None)
        assert not main.ctx.read_only
        header = main.query_one(ConsoleHeader)
        assert header.state.lock_holder is None and "READ-ONLY" not in header.state.badges()

    try:
        _reconnect_when_back(monkeypatch, port, incident.id, check)
    finally:
        lock = held_here(path, incident.id)
        if lock is not None:
            lock.release()


@pytest.fixture
def another_console() -> Iterator[tuple[int, int]]:
    """Another console holds the incident cached for a closed port (a separate open file
    description conflicts like a process); yields the port and the incident's id."""
    port = _closed_port()
    incident = cache_incident(f"http://127.0.0.1:{port}")
    fd = os.open(lock_path(db_path(False), incident.id), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    holder = {"pid": 4242, "host": "jump-2", "since": "2026-11-02T09:00:00Z"}
    os.pwrite(fd, json.dumps(holder).encode(), 0)
    try:
        yield port, incident.id
    finally:
        os.close(fd)


def test_reconnect_stays_read_only_naming_the_console_that_holds_the_incident(
    monkeypatch: pytest.MonkeyPatch, another_console: tuple[int, int]
) -> None:
    port, incident_id = another_console

    async def check(pilot: Any, main: MainScreen) -> None:
        header = main.query_one(ConsoleHeader)
        await until(pilot, lambda: header.state.lock_holder is not None)
        assert "READ-ONLY" in header.state.badges()
        await until(pilot, lambda: "held by PID 4242 on jump-2" in screen_text(pilot.app))
        assert held_here(db_path(False), incident_id) is None

    _reconnect_when_back(monkeypatch, port, incident_id, check)
