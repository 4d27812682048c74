"""The audit and credentials panes' first fetch from GitLab waits for the users load.

Driven through the real app on the demo drill, with the users load held in its worker (the
loader is replaced by one that waits for the test): the drill's request log is the witness of
what reached GitLab. Opening a pane starts its fetch at once; the end of the users load starts
the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import console.users_load as loader
from console.app import IncidentConsoleApp
from console.drill.server import DrillServer
from screens.main import MainScreen
from screens.panes.audit import AuditPane
from screens.panes.credentials import CredentialsPane
from tests.pilot_helpers import demo, reach_main, run_app, until

#: Paths only the credentials inventory asks for (the capability check probes ``/hooks``).
INVENTORY_PATHS = frozenset({"/deploy_keys", "/deploy_tokens", "/runners/all"})


class HeldUsersLoad:
    """``load_users_blocking`` that waits for ``release`` before loading for real."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._real = loader.load_users_blocking

    def __call__(self, *args: Any, **kw: Any) -> loader.LoadResult:
        self.entered.set()
        cancelled = kw.get("cancelled")
        while not self.release.wait(0.02):
            if cancelled is not None and cancelled():
                return loader.LoadResult(0, 0, 0.0, True, None)
        return self._real(*args, **kw)


@pytest.fixture
def held_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldUsersLoad]:
    held = HeldUsersLoad()
    monkeypatch.setattr(loader, "load_users_blocking", held)
    yield held
    held.release.set()


def _drill(app: IncidentConsoleApp) -> DrillServer:
    drill = app._startup.drill
    assert drill is not None
    return drill


def _audit_fetches(drill: DrillServer) -> int:
    """``GET /audit_events`` requests beyond the capability check's one probe."""
    return max(0, drill.requests_to("GET", "/audit_events") - 1)


def _inventory_fetches(drill: DrillServer) -> int:
    return sum(drill.requests_to("GET", path) for path in INVENTORY_PATHS)


async def _main_with_users_held(pilot: Any, held: HeldUsersLoad) -> MainScreen:
    main = await reach_main(pilot)
    await until(pilot, held.entered.is_set)
    audit, creds = main.pane("audit"), main.pane("credentials")
    assert isinstance(audit, AuditPane) and isinstance(creds, CredentialsPane)
    # Both asked for their first fetch and were told to wait (their cache reads are done).
    await until(pilot, lambda: audit.first_fetch_waiting and creds.first_fetch_waiting)
    return main


def test_no_audit_or_inventory_request_before_the_users_load_ends(
    held_load: HeldUsersLoad,
) -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await _main_with_users_held(pilot, held_load)
        drill = _drill(app)
        audit, creds = main.pane("audit"), main.pane("credentials")
        assert isinstance(audit, AuditPane) and isinstance(creds, CredentialsPane)
        assert not audit.loading and not creds.loading
        assert (_audit_fetches(drill), _inventory_fetches(drill)) == (0, 0)
        assert set(main.first_fetches.waiting) == {"audit", "credentials"}
        held_load.release.set()
        # The load ended and the list shows it (UsersLoadShown): both start, unopened.
        await until(pilot, lambda: _audit_fetches(drill) > 0 and _inventory_fetches(drill) > 0)
        assert main.active_pane == "users"
        assert not audit.first_fetch_waiting and not creds.first_fetch_waiting

    run_app(app, script)


def test_opening_the_audit_pane_starts_its_fetch_at_once(held_load: HeldUsersLoad) -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await _main_with_users_held(pilot, held_load)
        drill = _drill(app)
        await pilot.press("2")
        await until(pilot, lambda: _audit_fetches(drill) > 0)
        audit = main.pane("audit")
        assert isinstance(audit, AuditPane) and not audit.first_fetch_waiting
        # The credentials pane was not opened: it still waits for the users.
        assert main.first_fetches.waiting == ("credentials",)
        assert _inventory_fetches(drill) == 0
        await pilot.press("3")
        await until(pilot, lambda: _inventory_fetches(drill) > 0)
        assert main.first_fetches.waiting == ()

    run_app(app, script)


def test_cached_users_hold_nothing_back(tmp_path: Any) -> None:
    """Resumed with the users cached (no users load): the other panes fetch at once."""
    first = IncidentConsoleApp(demo())

    async def load_once(pilot: Any) -> None:
        main = await reach_main(pilot)
        await until(pilot, lambda: main.first_fetches.users_settled)  # UsersLoadShown

    run_app(first, load_once)
    app = IncidentConsoleApp(demo(resume=True))

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        drill = _drill(app)
        status = main.pane("users").query_one("#users-status")
        await until(pilot, lambda: "from the local cache" in str(status.render()))
        await until(pilot, lambda: main.first_fetches.users_settled)  # UsersCacheShown
        await until(pilot, lambda: _audit_fetches(drill) > 0)
        assert main.active_pane == "users" and main.first_fetches.waiting == ()

    run_app(app, script)
