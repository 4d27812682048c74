"""Only the active pane is built with the main screen; the others after its first rows, or at
once when asked for earlier (``screens.lazy_panes``).

Driven through the real app on the demo drill. The fallback that builds the panes when no rows
ever show is pushed out of the way, so what builds a pane here is the key or the first rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import console.users_load as loader
import screens.main
from console.app import IncidentConsoleApp
from screens.main import MainScreen
from screens.panes.audit import AuditPane
from screens.panes.users import UsersPane
from tests.pilot_helpers import demo, reach_main, run_app, until
from tests.tui.test_first_fetch_order import HeldUsersLoad

ALL_PANES = {"users", "audit", "credentials", "runbook", "journal"}


@pytest.fixture
def held_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldUsersLoad]:
    """The users load waits for the test: the list shows no rows until it is released."""
    held = HeldUsersLoad()
    monkeypatch.setattr(loader, "load_users_blocking", held)
    yield held
    held.release.set()


@pytest.fixture(autouse=True)
def no_fallback_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screens.main, "BUILD_FALLBACK", 600.0)


def _focus_in(main: MainScreen, key: str) -> bool:
    focused, pane = main.focused, main.mounted_panes().get(key)
    return focused is not None and pane is not None and pane in focused.ancestors_with_self


def test_a_pane_key_typed_during_start_up_builds_that_pane_at_once(
    held_load: HeldUsersLoad,
) -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        await pilot.press("2")  # typed while the console is still connecting
        main = await reach_main(pilot)
        assert set(main.mounted_panes()) <= {"users", "audit"}
        # The users list shows no rows (its load is held), so nothing else builds the audit
        # pane: the key does, once the screen stops holding typed keys.
        await until(pilot, lambda: main.active_pane == "audit" and _focus_in(main, "audit"))
        audit = main.mounted_panes()["audit"]
        assert isinstance(audit, AuditPane)
        assert not audit.first_fetch_waiting  # opened: its first fetch is not held back
        assert set(main.mounted_panes()) == {"users", "audit"}
        assert not main.query_one("#pane-credentials").children  # not built: not asked for
        held_load.release.set()
        await until(pilot, lambda: set(main.mounted_panes()) == ALL_PANES, 30)
        assert main.active_pane == "audit" and _focus_in(main, "audit")

    run_app(app, script)


def test_the_other_panes_are_built_after_the_first_rows_without_a_key() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        users = main.mounted_panes()["users"]
        assert isinstance(users, UsersPane)
        await until(pilot, lambda: users.table.row_count > 0, 30)
        await until(pilot, lambda: set(main.mounted_panes()) == ALL_PANES, 30)
        # Built behind the list: the users pane still shows and keeps the focus.
        assert main.active_pane == "users" and _focus_in(main, "users")
        # The panes built later behave as at start: the audit pane shows its rows when opened.
        await pilot.press("2")
        audit = main.mounted_panes()["audit"]
        assert isinstance(audit, AuditPane)
        await until(pilot, lambda: main.active_pane == "audit" and audit.table.row_count > 0, 30)
        assert _focus_in(main, "audit")

    run_app(app, script)


def test_the_collector_and_the_coverage_wait_for_the_first_rows(
    held_load: HeldUsersLoad,
) -> None:
    """What the start-up puts off (``MainScreen._after_first_rows``): the garbage collector,
    paused since the imports, and the coverage kept with the incident come after the first
    rows, not in front of them."""
    import gc

    from console import startgc
    from console.runbook import COVERAGE_CACHE_KEY

    app = IncidentConsoleApp(demo())
    startgc.pause()  # as the command line does before importing the app

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        store, incident_id = main.ctx.store, main.ctx.incident_id
        await until(pilot, lambda: main.ctx.coverage is not None)
        await pilot.pause(0.2)
        assert startgc.paused() and not gc.isenabled()  # the list is still empty (held)
        assert store.cache_get(incident_id, COVERAGE_CACHE_KEY) is None
        held_load.release.set()
        await until(pilot, lambda: not startgc.paused(), 30)
        assert gc.isenabled()
        await until(pilot, lambda: store.cache_get(incident_id, COVERAGE_CACHE_KEY) is not None)
        # the other panes build now: let them finish before the test tears the app down
        await until(pilot, lambda: set(main.mounted_panes()) == ALL_PANES, 30)

    try:
        run_app(app, script)
    finally:
        startgc.resume()
