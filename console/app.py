"""The Textual application: the product's key map, incident switching, and crash handling.

Startup (connection → keyring → capability check → store → incident) is
:class:`screens.startup.StartupFlow`, with its blocking steps in :mod:`console.startup_steps`;
the app runs it as one worker and enters the main screen with the context it produces.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.system_commands import SystemCommandsProvider
from textual.worker import WorkerFailed, WorkerState

from console import startgc
from console.context import AppContext
from console.errors import Problem, describe_error
from console.sanitize import safe
from console.session import Launch
from screens.confirm import ConfirmScreen
from screens.connect import ConnectingScreen
from screens.crash_report import CrashReport
from screens.main import MainScreen, PaneFactory
from screens.messages import CredentialsChanged, UsersChanged
from screens.startup import StartupFlow
from screens.startup_resume import (
    ConnectionChecked,
    ConnectionCheckFailed,
    offline_note,
    show_checked,
    show_offline,
)
from screens.too_small import too_small, update_notice
from styles import STYLES_DIR, stylesheet

if TYPE_CHECKING:
    from console.store import Incident

__all__ = ["IncidentConsoleApp", "run"]

log = logging.getLogger(__name__)
# Workers that never make quitting risky: startup steps, UI-state writes, the quit check itself.
_QUIET_GROUPS = frozenset({"startup", "startup-io", "connection-check", "ui-state", "quit-check"})


def _other_stylesheets() -> list[Path]:
    own = ("app.tcss", "startup.tcss")
    return sorted(p for p in STYLES_DIR.glob("*.tcss") if p.name not in own)


# What a worker group is doing, in the words the quit dialog uses.
_WORK_NAMES: dict[str, str] = {
    "users-load": "loading users",
    "users-enrich": "fetching sign-in IPs",
    "users-risk": "scoring risk",
    "audit-load": "loading audit events",
    "cred-load": "loading the credentials inventory",
    "dossier-fetch": "fetching a dossier",
    "action-run": "running a response action",
    "startup-io": "connecting",
}


class ConsolePalette(SystemCommandsProvider):
    """The command palette's one source: :meth:`IncidentConsoleApp.get_system_commands` (its
    own class, so Textual's default provider, and what it may offer later, is not in COMMANDS)."""


class IncidentConsoleApp(CrashReport):
    """Keyboard-only console for one GitLab incident. Build with a :class:`Launch`."""

    TITLE = "GitLab Incident Console"
    # Every stylesheet: panes are widgets and cannot bring their own CSS_PATH. Absolute paths
    # from the installed package, so a non-editable wheel finds them too.
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("startup.tcss"), *_other_stylesheets()]
    COMMANDS = {ConsolePalette}
    # Keys that open or confirm a response action count only when pressed on their own.
    GUARDED_ACTIONS = frozenset(
        {
            "delegate('actions')",  # a: the actions menu (app, main screen)
            "actions",  # a: the dossier's and the credentials' actions
            "contain",  # !: the Contain playbook (users pane, dossier)
            "contain_author",  # !: Contain the author of an audit event
            "undo",  # u: reverse a journal entry
            "resume",  # r: re-check interrupted actions (actions menu)
            "finish_rest",  # f: finish a halted run
            "drop_rest",  # D: drop a halted run's remaining steps
            "select",  # enter: choose from a list (the actions menu, the runbook)
            "answer(True)",  # y: yes to a confirmation
            "confirm_submit",  # enter in a typed confirmation (screens.widgets.confirm_input)
        }
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_pane('users')", "Users"),
        Binding("2", "switch_pane('audit')", "Audit events"),
        Binding("3", "switch_pane('credentials')", "Credentials"),
        Binding("slash", "delegate('search')", "Search/filter"),
        Binding("a", "delegate('actions')", "Actions"),
        Binding("enter", "delegate('open')", "Open", show=False),
        Binding("space", "delegate('toggle_select')", "Select row", show=False),
        Binding("escape", "delegate('back')", "Back", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+p", "command_palette", "Command palette", show=False),
    ]

    def __init__(self, launch: Launch, *, panes: Mapping[str, PaneFactory] | None = None) -> None:
        super().__init__()
        self.launch = launch
        self.ctx: AppContext | None = None
        self._panes = panes
        self._startup = StartupFlow(self, launch, enter=self._enter_main)
        self._asking_quit = False

    # -- lifecycle -----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_timer(startgc.RESUME_AFTER, startgc.resume)  # the first rows resume it sooner
        self.push_screen(ConnectingScreen())
        self.run_worker(self._startup.run(), group="startup", exclusive=True, exit_on_error=False)

    def on_resize(self, event: events.Resize) -> None:
        """Below the minimum size, one notice instead of columns vanishing without a word."""
        self.call_after_refresh(self._size_notice)

    def screen_changed(self) -> None:
        self.call_after_refresh(self._size_notice)

    def refuses_keys(self) -> bool:
        """While the too-small notice covers the screen, keys reach nothing under it."""
        return too_small(self.size.width, self.size.height)

    def _size_notice(self) -> None:
        for screen in self.screen_stack:
            if screen is not self.screen:
                update_notice(screen, 10**6, 10**6)  # only the visible screen carries it
        update_notice(self.screen, self.size.width, self.size.height)

    def on_credentials_changed(self, message: CredentialsChanged) -> None:
        """A run re-read credentials into the store: the credentials list redraws from it."""
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.credentials_changed(message.keys)

    def on_users_changed(self, message: UsersChanged) -> None:
        """A modal (the action run) re-read users: the main screen's list must show it."""
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.users_changed(message.user_ids)

    def shutdown(self) -> None:
        """Stop the drill (called after the app exits).

        The store is deliberately left open: thread workers (uncancellable) may still be inside
        a write when the app returns, and closing a connection another thread is using crashes
        sqlite3. Every write is already committed (WAL, synchronous=FULL); exit closes the file.
        """
        self._startup.stop_drill()

    async def _enter_main(self, ctx: AppContext) -> None:
        """The startup flow's last step: show the main screen for ``ctx``."""
        self.ctx = ctx
        await self.switch_screen(self._main_screen())

    def _main_screen(self) -> MainScreen:
        assert self.ctx is not None
        offline = self._startup.offline_problem
        note = None if offline is None else offline_note(offline)
        return MainScreen(self.ctx, panes=self._panes, offline=note)

    def _main_screens(self) -> list[MainScreen]:
        return [s for s in self.screen_stack if isinstance(s, MainScreen)]

    async def on_connection_checked(self, message: ConnectionChecked) -> None:
        """A resumed incident's check passed: hold it for writing, then leave read-only."""
        ctx = self.ctx
        if ctx is None:
            return
        holder = None
        if not self.launch.read_only:
            from console.store.lock import claim_writer

            worker = self.run_worker(
                partial(claim_writer, ctx.store.path, ctx.incident_id),
                thread=True,
                group="startup-io",
                exit_on_error=False,
            )
            try:
                holder = await worker.wait()
            except WorkerFailed as failed:
                problem = describe_error(failed.error, secret=ctx.connection.token)
                self.notify(problem.one_line(), markup=False, severity="error", timeout=10)
        ctx.coverage = message.coverage
        ctx.read_only = self.launch.read_only
        for screen in self._main_screens():
            show_checked(
                screen, message.coverage, ctx.read_only, holder.describe() if holder else None
            )
            screen.cache_coverage()  # kept with the incident, as a start that checked first

    def on_connection_check_failed(self, message: ConnectionCheckFailed) -> None:
        """A resumed incident's check failed: it stays read-only, and the screen says why."""
        for screen in self._main_screens():
            show_offline(screen, offline_note(message.problem))
        self.notify(
            f"GitLab check failed: {message.problem.one_line()}",
            markup=False,
            severity="warning",
            timeout=10,
        )

    def action_reconnect(self) -> None:
        """``:reconnect``: after an offline resume, try GitLab again and leave read-only."""
        if self._startup.checking:
            self.notify("Still checking GitLab…", markup=False)
            return
        if self._startup.offline_problem is None:
            self.notify("Already connected.", markup=False)
            return
        self.run_worker(self._reconnect(), group="startup", exclusive=True, exit_on_error=False)

    async def _reconnect(self) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        try:
            coverage = await self._startup.reconnect()
        except Exception as exc:
            problem = getattr(exc, "problem", None)
            if not isinstance(problem, Problem):
                problem = describe_error(exc, secret=ctx.connection.token)
            self.notify(
                f"Still offline: {problem.one_line()}", markup=False, severity="warning", timeout=10
            )
            return
        self._startup.offline_problem = None
        self.ctx = replace(ctx, coverage=coverage, read_only=self.launch.read_only)
        await self.switch_screen(self._main_screen())
        self.notify("Reconnected: panes reload from GitLab with r.", markup=False)

    # -- incidents -----------------------------------------------------------------------
    def action_new_incident(self) -> None:
        self.run_worker(self._switch_incident(new=True), group="startup", exclusive=True)

    def action_choose_incident(self) -> None:
        self.run_worker(self._switch_incident(new=False), group="startup", exclusive=True)

    async def _switch_incident(self, *, new: bool) -> None:
        ctx, store = self.ctx, self._startup.store
        if ctx is None or store is None:
            return
        incident: Incident | None
        try:
            if new:
                incident = await self._startup.new_incident(store, ctx.connection)
            else:
                incident = await self._startup.pick_incident(force_choice=True)
        except Exception as exc:
            problem = describe_error(exc, secret=ctx.connection.token)
            self.notify(problem.one_line(), markup=False, severity="error", timeout=10)
            return
        if incident is None or incident.id == ctx.incident_id:
            return
        self.ctx = replace(ctx, incident=incident)
        await self.switch_screen(self._main_screen())
        self.notify(f"Incident: {safe(incident.title, kind='line')}", markup=False)

    # -- key map -------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("switch_pane", "delegate", "new_incident", "choose_incident"):
            return isinstance(self.screen, MainScreen)
        return True

    def action_switch_pane(self, key: str) -> None:
        if isinstance(self.screen, MainScreen):
            self.screen.show_pane(key)

    async def action_delegate(self, action: str) -> None:
        screen = self.screen
        if isinstance(screen, MainScreen) and not await screen.delegate(action):
            if action == "search":
                self.notify("This pane has nothing to search.", markup=False)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: the main screen's commands, help and quit. Not Textual's own
        (its screenshot command would write the screen, secrets and all, to a file)."""
        if isinstance(screen, MainScreen):
            for title, help_text, action in screen.palette_commands():
                yield SystemCommand(title, help_text, partial(self.run_action, action, screen))
        yield SystemCommand("Help", "Every key that works here", self.action_help)
        yield SystemCommand("Quit", "Leave the console", self.action_quit)

    def action_help(self) -> None:
        from screens.help import HelpScreen, collect_bindings  # loaded when first asked for

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(collect_bindings(self.screen)))

    async def action_quit(self) -> None:
        """Quit at once when idle; ask first while work or response actions are in flight."""
        if self._asking_quit:
            return
        busy = [
            w
            for w in self.workers
            if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            and w.group not in _QUIET_GROUPS
        ]
        pending = 0
        if self.ctx is not None:
            worker = self.run_worker(
                partial(self.ctx.store.journal_pending, self.ctx.incident_id),
                thread=True,
                group="quit-check",
                exit_on_error=False,
            )
            try:
                pending = len(await worker.wait())
            except WorkerFailed:
                pending = 0
        if not busy and not pending:
            self.exit()
            return
        parts = []
        if busy:
            doing = sorted({_WORK_NAMES.get(w.group, "saving state") for w in busy})
            parts.append("still " + ", ".join(doing))
        if pending:
            parts.append(f"{pending} response action(s) are not yet verified")
        body = "; ".join(parts) + ". They resume or are re-checked when you start again."
        self._asking_quit = True

        def answered(yes: bool | None) -> None:
            self._asking_quit = False
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit now?", body, yes="quit", no="stay"), answered)


EXIT_GRACE_S = 0.5
"""After the screen closes, how long in-flight worker threads get before the process ends."""


def run(launch: Launch) -> int:
    """Run the console until the responder quits; returns the process exit status.

    Quitting ends the process within a second whatever is in flight: a thread worker blocked in
    a slow request would otherwise keep the interpreter alive (thread pools are joined at exit)
    with a blank terminal, and a second ctrl+c would print a traceback from that join.
    """
    app = IncidentConsoleApp(launch)
    try:
        app.run(mouse=False)
    finally:
        signal.signal(signal.SIGINT, _exit_now)
        app.shutdown()
    code = app.return_code or 0
    _end_if_threads_linger(code)
    return code


def _exit_now(signum: int, frame: object) -> None:
    _flush_and_exit(130)


def _flush_and_exit(code: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _end_if_threads_linger(code: int) -> None:
    """Give worker threads ``EXIT_GRACE_S`` to finish, then end the process without them.

    Every journal write is committed when it is made (WAL, synchronous=FULL), and the journal is
    designed to survive ``kill -9``: nothing is lost by not waiting.
    """
    deadline = time.monotonic() + EXIT_GRACE_S
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    ):
        log.info("quitting with worker threads still running; they are abandoned")
        _flush_and_exit(code)
