"""``--resume``: the cached incident first, the capability check beside it.

A resumed incident's users, marks, audit events and inventory are in the local store, so the
main screen opens from the store at once, **read-only**, while the capability check (several
round trips) runs in a worker. The outcome is a typed message to the app:

* :class:`ConnectionChecked`: the app holds the incident for writing (unless started
  ``--read-only`` or another console holds it) and leaves read-only, in place: the panes, their
  rows and anything typed meanwhile stay as they are;
* :class:`ConnectionCheckFailed`: the incident stays read-only, the screen says why (the
  ``OFFLINE`` line, stale panes) and ``:reconnect`` tries again, as an offline resume always did.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from rich.text import Text
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerFailed

from console.context import AppContext
from console.errors import Problem, describe_error
from console.session import Connection, Launch, check_connection
from console.startup_steps import (
    UNREACHABLE_KINDS,
    open_incidents,
    open_store,
    resume_incident,
    save_new_profile,
)
from screens.coverage import needs_attention
from screens.header import ConsoleHeader
from screens.panes.base import RecordPane

if TYPE_CHECKING:
    from console.capabilities import Coverage
    from console.profiles import Profile
    from console.store import Store
    from console.tokens import KeyringStatus

__all__ = [
    "CheckFailed",
    "ConnectionCheckFailed",
    "ConnectionChecked",
    "ResumeFirst",
    "offline_line",
    "offline_note",
    "show_checked",
    "show_offline",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


class CheckFailed(Exception):
    """A step that already has its :class:`Problem` (e.g. the capability check's fatal one)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.title)
        self.problem = problem


@dataclass
class ConnectionChecked(Message):
    """The capability check of a session opened from the cache passed."""

    coverage: Coverage


@dataclass
class ConnectionCheckFailed(Message):
    """The capability check of a session opened from the cache failed; it stays read-only."""

    problem: Problem


def offline_note(problem: Problem) -> str:
    """The main screen's ``offline`` text for ``problem``."""
    if problem.kind in UNREACHABLE_KINDS:
        return f"GitLab unreachable ({problem.title})"
    return f"GitLab check failed ({problem.title})"


def offline_line(note: str) -> Static:
    """The line above the panes of an incident open read-only from the cache."""
    return Static(
        Text(
            f"OFFLINE: {note}. Read-only from the local cache, as of each "
            "pane's last fetch. :reconnect tries again.",
            style="bold reverse",
        ),
        id="offline-line",
    )


def show_offline(screen: Screen[Any], note: str) -> None:
    """The check failed after the main ``screen`` opened: say so above the panes; their rows
    are stale."""
    if not screen.query("#offline-line"):
        screen.mount(offline_line(note), before=screen.query_one("#panes"))
    screen.query_one(ConsoleHeader).update(offline=True)
    for pane in screen.query(RecordPane):
        pane.went_offline()


def show_checked(
    screen: Screen[Any], coverage: Coverage, read_only: bool, lock_holder: str | None
) -> None:
    """The check passed after the main ``screen`` opened: the header names the identity and
    the mode, and the panes get the coverage (the users pane notes a partial list)."""
    changes: dict[str, object] = {"identity": coverage.username or "", "read_only": read_only}
    if lock_holder is not None:
        changes["lock_holder"] = lock_holder
    screen.query_one(ConsoleHeader).update(**changes)
    for pane in screen.query(RecordPane):
        pane.coverage = coverage


class _Drill(Protocol):
    def release_seeding(self) -> None: ...


class ResumeFirst:
    """The part of :class:`screens.startup.StartupFlow` that opens a resumed incident first
    (and a new incident's store beside the capability check)."""

    app: App[Any]
    launch: Launch
    drill: _Drill | None
    store: Store | None
    keyring: KeyringStatus | None
    offline_problem: Problem | None
    checking: bool = False
    """True while the capability check of an incident opened from the cache is running."""
    _new_profile: Profile | None
    _enter: Callable[[AppContext], Awaitable[None]]

    async def blocking(self, step: str, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def _open_store_beside(self, conn: Connection) -> Worker[Store] | None:
        """Open the store in a thread beside the capability check (it waits on the network),
        unless it is open already; :meth:`_collect_store` takes the result."""
        if self.store is not None:
            return None
        return self.app.run_worker(
            partial(open_store, conn.is_drill),
            thread=True,
            group="startup-io",
            exit_on_error=False,
        )

    async def _collect_store(self, opening: Worker[Store] | None) -> None:
        """Keep the store opened beside the check. A failure is not reported here: the flow
        opens the store again at its own step, which explains what went wrong."""
        if opening is None:
            return
        try:
            store = await opening.wait()
        except WorkerFailed:
            return
        if self.store is None:
            self.store = store
        else:
            store.close()

    def release_drill(self) -> None:
        """Let this run's drill, if any, build its simulated instance now (before the check)."""
        if self.drill is not None:
            self.drill.release_seeding()

    async def open_cached(self, conn: Connection) -> bool:
        """``--resume`` with an open incident in the store: show it now, check GitLab beside.

        False (nothing entered) when this is not a resume or the store has no open incident
        for this instance: the flow then checks first, as for a new incident.
        """
        if not self.launch.resume:
            return False
        if self.store is None:
            self.store = await self.blocking(
                "Opening the local state store…", open_store, conn.is_drill
            )
        store = self.store
        incidents = await self.blocking("Looking for open incidents…", open_incidents, store, conn)
        if not incidents:
            return False
        # Touched (and moved to the drill's new port) now; held for writing only once the
        # check has passed.
        incident = await self.blocking(
            "Resuming the incident…", resume_incident, store, conn, incidents[0], False
        )
        self.checking = True
        await self._enter(AppContext(store, incident, conn, None, True, self.launch.dry_run))
        self.release_drill()  # a --demo drill builds its instance once the screen is up
        self.app.notify("Checking GitLab: read-only until it answers.", markup=False, timeout=4)
        self.app.run_worker(self._check_cached(conn), group="connection-check", exit_on_error=False)
        return True

    async def _check_cached(self, conn: Connection) -> None:
        try:
            coverage = await self.blocking(
                "Checking what this token can see…",
                partial(check_connection, conn, keyring=self.keyring),
            )
            if coverage.fatal is not None:
                raise CheckFailed(coverage.fatal)
            profile, self._new_profile = self._new_profile, None
            await self.blocking("Saving the profile…", save_new_profile, profile)
        except Exception as exc:  # explained on screen, never a traceback
            problem = (
                exc.problem
                if isinstance(exc, CheckFailed)
                else describe_error(exc, url=conn.config.url, secret=conn.token)
            )
            log.warning("capability check failed, staying read-only: %s", problem.one_line())
            self.offline_problem = problem
            self.checking = False
            self.app.post_message(ConnectionCheckFailed(problem))
            return
        self.checking = False
        self.app.post_message(ConnectionChecked(coverage))
        if needs_attention(coverage):
            self.app.notify(
                "This token cannot see everything: v shows what is missing.",
                markup=False,
                severity="warning",
                timeout=12,
            )
