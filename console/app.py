"""The Textual application: the startup flow, the product's key map, and crash handling.

Startup is one async worker that reads top to bottom: get a connection (drill, environment,
profile + keyring, or the connect form), check capabilities, open the store, pick or create the
incident, then show the main screen. Every disk or network step runs in a thread worker while the
"connecting…" screen says what is happening; every failure becomes a ``describe_error`` screen
with retry / edit / quit, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import WorkerFailed, WorkerState

from console.config import normalize_url
from console.context import AppContext
from console.errors import ConfigError, Problem, describe_error
from console.logs import LOG_FILE, redact, register_secret
from console.paths import log_dir
from console.profiles import Profile, ProfileBook, default_cfg_path
from console.sanitize import safe
from console.secret import Secret
from console.session import (
    Connection,
    Launch,
    PendingLogin,
    StartPlan,
    check_connection,
    complete_login,
    db_path,
    plan_start,
)
from console.tokens import KeyringStatus, TokenStore, probe_keyring
from screens.confirm import ConfirmScreen
from screens.connect import (
    ConnectFormScreen,
    ConnectingScreen,
    ConnectRequest,
    KeyringNoticeScreen,
    ProblemScreen,
)
from screens.coverage import CoverageScreen, needs_attention
from screens.help import HelpScreen, collect_bindings
from screens.incidents import NEW, IncidentChoiceScreen, default_incident_fields
from screens.main import ConsoleCommands, MainScreen, PaneFactory
from screens.profiles import IMPORT, ProfilePickerScreen
from styles import STYLES_DIR, stylesheet

if TYPE_CHECKING:
    from console.drill.server import DrillServer
    from console.store import Incident, Store

__all__ = ["IncidentConsoleApp", "run"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# Workers that never make quitting risky: startup steps, UI-state writes, the quit check itself.
_QUIET_GROUPS = frozenset({"startup", "startup-io", "ui-state", "quit-check"})


def _other_stylesheets() -> list[Path]:
    own = ("app.tcss", "startup.tcss")
    return sorted(p for p in STYLES_DIR.glob("*.tcss") if p.name not in own)


class _Failed(Exception):
    """A step that already has its :class:`Problem` (e.g. the capability check's fatal one)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.title)
        self.problem = problem


class IncidentConsoleApp(App[None]):
    """Keyboard-only console for one GitLab incident. Build with a :class:`Launch`."""

    TITLE = "GitLab Incident Console"
    # Every stylesheet: panes are widgets and cannot bring their own CSS_PATH. Absolute paths
    # from the installed package, so a non-editable wheel finds them too.
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("startup.tcss"), *_other_stylesheets()]
    COMMANDS = {ConsoleCommands}
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
        self._drill: DrillServer | None = None
        self._store: Store | None = None
        self._conn: Connection | None = None
        self._keyring: KeyringStatus | None = None
        self._keyring_explained = False
        self._new_profile: Profile | None = None
        self._asking_quit = False

    # -- lifecycle -----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.push_screen(ConnectingScreen())
        self._startup()

    def shutdown(self) -> None:
        """Stop the drill (called after the app exits).

        The store is deliberately left open: thread workers (uncancellable) may still be inside
        a write when the app returns, and closing a connection another thread is using crashes
        sqlite3. Every write is already committed (WAL, synchronous=FULL); exit closes the file.
        """
        if self._drill is not None:
            self._drill.stop()
            self._drill = None

    async def _blocking(self, step: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a thread worker while the status line shows ``step``."""
        if isinstance(self.screen, ConnectingScreen):
            self.screen.set_step(step)
        worker = self.run_worker(
            partial(fn, *args), thread=True, group="startup-io", exit_on_error=False
        )
        try:
            result: T = await worker.wait()
        except WorkerFailed as failed:
            raise failed.error from None
        return result

    # -- the startup flow ----------------------------------------------------------------
    def _startup(self) -> None:
        self.run_worker(self._startup_flow(), group="startup", exclusive=True, exit_on_error=False)

    async def _startup_flow(self) -> None:
        edit, note = False, ""
        while True:
            try:
                conn = await self._connection(edit=edit, note=note)
                if conn is None:
                    self.exit()
                    return
                self._conn = conn
                register_secret(conn.token)
                coverage = await self._blocking(
                    "Checking what this token can see…",
                    partial(check_connection, conn, keyring=self._keyring),
                )
                if coverage.fatal is not None:
                    raise _Failed(coverage.fatal)
                await self._blocking("Saving the profile…", self._save_new_profile)
                if needs_attention(coverage) and not await self.push_screen_wait(
                    CoverageScreen(coverage, startup=True)
                ):
                    self.exit()
                    return
                if self._store is None:
                    self._store = await self._blocking(
                        "Opening the local state store…", _open_store, conn.is_drill
                    )
                incident = await self._pick_incident(force_choice=False)
                if incident is None:
                    self.exit()
                    return
                self.ctx = AppContext(
                    self._store, incident, conn, coverage, self.launch.read_only,
                    self.launch.dry_run,
                )
                await self.switch_screen(MainScreen(self.ctx, panes=self._panes))
                return
            except Exception as exc:  # every failure is explained, none is a traceback
                choice, note = await self._explain(exc)
                if choice == "quit":
                    self.exit(return_code=1)
                    return
                edit = choice == "edit"

    async def _explain(self, exc: BaseException) -> tuple[str, str]:
        conn = self._conn
        if isinstance(exc, _Failed):
            problem = exc.problem
        else:
            problem = describe_error(
                exc,
                url=conn.config.url if conn else self.launch.url,
                ca_bundle=conn.config.ca_bundle if conn else self.launch.ca_bundle,
                secret=conn.token if conn else None,
            )
        log.warning("startup failed: %s", problem.one_line())
        can_edit = not self.launch.demo
        choice = await self.push_screen_wait(ProblemScreen(problem, can_edit=can_edit))
        return choice, f"{problem.title}: {problem.detail}"

    async def _connection(self, *, edit: bool, note: str) -> Connection | None:
        """Where to connect and with which token; ``None`` means the responder quit."""
        if self._conn is not None and not edit:
            return self._conn  # retry: the environment token has already been consumed
        if edit:
            conn, launch = self._conn, self.launch
            return await self._ask(
                name=conn.profile_name if conn else (launch.profile or ""),
                url=conn.config.url if conn else (launch.url or ""),
                ca_bundle=conn.config.ca_bundle if conn else launch.ca_bundle,
                token=conn.token if conn else None,
                note=note,
            )
        step = "Starting the drill instance…" if self.launch.demo else "Reading settings…"
        return await self._from_plan(await self._blocking(step, _plan, self.launch))

    async def _from_plan(self, plan: StartPlan) -> Connection | None:
        if plan.drill is not None:
            self._drill = plan.drill
        if plan.keyring is not None:
            self._keyring = plan.keyring
        for line in plan.notes:
            self.notify(line, markup=False, timeout=8)
        if plan.connection is not None:
            return plan.connection
        if plan.pending is not None:
            pending = plan.pending
            return await self._ask(
                name=pending.profile_name,
                url=pending.config.url,
                ca_bundle=pending.config.ca_bundle,
                token_only=not pending.is_new_profile,
            )
        return await self._pick_profile(plan.profiles)

    async def _pick_profile(
        self, profiles: list[Profile], *, imported: bool = False
    ) -> Connection | None:
        can_import = not imported and await self._blocking(
            "Reading settings…", default_cfg_path().exists
        )
        while profiles:
            choice = await self.push_screen_wait(
                ProfilePickerScreen(profiles, can_import=can_import)
            )
            if choice is None:
                return None
            if choice == NEW:
                break
            if choice == IMPORT:
                profiles = await self._import_cfg()
                can_import = False  # once per run; a second import would only add duplicates
                continue
            status = await self._keyring_status()
            launch = replace(self.launch, profile=choice.name, url=None)
            plan = await self._blocking(
                "Reading the token from the keyring…",
                partial(plan_start, launch, store=TokenStore(status=status)),
            )
            return await self._from_plan(plan)
        return await self._ask(can_import=can_import and not profiles)

    async def _ask(
        self,
        *,
        name: str = "",
        url: str = "",
        ca_bundle: str | None = None,
        token: Secret | None = None,
        token_only: bool = False,
        can_import: bool = False,
        note: str = "",
    ) -> Connection | None:
        """The connect form; the login is completed (and the token stored) in a worker."""
        status = await self._keyring_status()
        storage = (
            f"The token will be saved in {status.label}."
            if status.available
            else "The token will be kept in memory for this session only."
        )
        result = await self.push_screen_wait(
            ConnectFormScreen(
                name=name, url=url, ca_bundle=ca_bundle, token=token, storage_note=storage,
                can_import=can_import, token_only=token_only, message=note,
                can_remember=status.available,
            )
        )
        if result is None:
            return None
        if result == IMPORT:
            return await self._pick_profile(await self._import_cfg(), imported=True)
        assert isinstance(result, ConnectRequest)
        profile = Profile(
            name=result.name,
            url=result.url,
            ca_bundle=result.ca_bundle,
            allow_plain_http=self.launch.allow_plain_http,
        )
        config = profile.to_config(ca_bundle=self.launch.ca_bundle)
        config.validate()
        pending = PendingLogin(config, profile.name, status, is_new_profile=not token_only)
        self._new_profile = profile if not token_only else None
        return await self._blocking(
            "Saving the token…" if result.remember else "Connecting…",
            partial(
                complete_login, pending, result.token, remember=result.remember,
                store=TokenStore(status=status),
            ),
        )

    async def _keyring_status(self) -> KeyringStatus:
        """Probe the keyring once per run; if it is unusable, explain that once."""
        if self._keyring is None:
            self._keyring = await self._blocking("Looking for an OS keyring…", probe_keyring)
        if not self._keyring.available and not self._keyring_explained:
            self._keyring_explained = True
            await self.push_screen_wait(KeyringNoticeScreen(self._keyring.explanation()))
        return self._keyring

    async def _import_cfg(self) -> list[Profile]:
        added, plaintext, profiles = await self._blocking(
            "Importing ~/.python-gitlab.cfg…", _import_profiles
        )
        self.notify(f"Imported {added} profile(s); tokens were not copied.", markup=False)
        if plaintext:
            self.notify(
                f"~/.python-gitlab.cfg keeps tokens in plain text ({safe(', '.join(plaintext))}). "
                "Revoke or move them; anyone who can read that file can use them.",
                markup=False, severity="warning", timeout=15,
            )
        return profiles

    def _save_new_profile(self) -> None:
        """After a successful check, remember a profile typed into the form (never its token)."""
        profile, self._new_profile = self._new_profile, None
        if profile is None:
            return
        book = ProfileBook.load()
        book.add(profile, replace=True)
        book.save()

    # -- incidents -----------------------------------------------------------------------
    async def _pick_incident(self, *, force_choice: bool) -> Incident | None:
        store, conn = self._store, self._conn
        assert store is not None and conn is not None
        incidents = await self._blocking(
            "Looking for open incidents…", _open_incidents, store, conn
        )
        resume_latest = self.launch.resume or conn.is_drill
        if incidents and resume_latest and not force_choice:
            chosen: Any = incidents[0]
        elif incidents:
            chosen = await self.push_screen_wait(
                IncidentChoiceScreen(incidents, instance_url=conn.config.url)
            )
            if chosen is None:
                return None
        else:
            chosen = NEW
        if chosen == NEW:
            return await self._blocking("Starting a new incident…", _new_incident, store, conn)
        return await self._blocking("Resuming the incident…", _resume_incident, store, conn,
                                    chosen)

    def action_new_incident(self) -> None:
        self.run_worker(self._switch_incident(new=True), group="startup", exclusive=True)

    def action_choose_incident(self) -> None:
        self.run_worker(self._switch_incident(new=False), group="startup", exclusive=True)

    async def _switch_incident(self, *, new: bool) -> None:
        ctx = self.ctx
        if ctx is None or self._store is None:
            return
        incident: Incident | None
        try:
            if new:
                incident = await self._blocking(
                    "Starting a new incident…", _new_incident, self._store, ctx.connection
                )
            else:
                incident = await self._pick_incident(force_choice=True)
        except Exception as exc:
            problem = describe_error(exc, secret=ctx.connection.token)
            self.notify(problem.one_line(), markup=False, severity="error", timeout=10)
            return
        if incident is None or incident.id == ctx.incident_id:
            return
        self.ctx = replace(ctx, incident=incident)
        await self.switch_screen(MainScreen(self.ctx, panes=self._panes))
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

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(collect_bindings(self.screen)))

    async def action_quit(self) -> None:
        """Quit at once when idle; ask first while work or response actions are in flight."""
        if self._asking_quit:
            return
        busy = [
            w for w in self.workers
            if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            and w.group not in _QUIET_GROUPS
        ]
        pending = 0
        if self.ctx is not None:
            worker = self.run_worker(
                partial(self.ctx.store.journal_pending, self.ctx.incident_id),
                thread=True, group="quit-check", exit_on_error=False,
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
            parts.append(f"{len(busy)} background task(s) are still running")
        if pending:
            parts.append(f"{pending} response action(s) are not yet verified")
        body = "; ".join(parts) + ". They resume or are re-checked when you start again."
        self._asking_quit = True

        def answered(yes: bool | None) -> None:
            self._asking_quit = False
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit now?", body, yes="quit", no="stay"), answered)

    # -- crash handling ------------------------------------------------------------------
    def _handle_exception(self, error: Exception) -> None:
        """Replace Textual's crash report: it prints local variables, which may hold secrets.

        The terminal gets one redacted line; the full traceback (no locals) goes to the
        redacting log file.
        """
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        text = redact("".join(traceback.format_exception(error)))
        log.error("unhandled exception\n%s", text)
        line = safe(redact(f"{type(error).__name__}: {error}"), kind="line", max_cells=200)
        where = log_dir() / LOG_FILE
        self._exit_renderables.append(
            Text(
                f"incident-console stopped after an internal error: {line}\n"
                f"The full traceback (tokens redacted) is in {where}."
            )
        )
        self._close_messages_no_wait()

    def _fatal_error(self) -> None:
        # Textual calls this directly in a few paths; route them through the redacted handler.
        import sys

        error = sys.exc_info()[1]
        self._handle_exception(error if isinstance(error, Exception) else RuntimeError("crash"))


# -- blocking helpers (run in thread workers) ------------------------------------------------
def _plan(launch: Launch) -> StartPlan:
    """``plan_start``, except that several profiles and no choice on the command line means
    "ask": the responder picks (the default is listed first) instead of silently getting it."""
    book: ProfileBook | None = None
    if not launch.demo:
        with contextlib.suppress(ConfigError):  # plan_start reports it if it needs the book
            book = ProfileBook.load()
    default = book.default if book is not None else None
    if book is not None and len(book.profiles) > 1 and not (launch.profile or launch.url):
        book.default = None
    plan = plan_start(launch, book=book)
    plan.profiles.sort(key=lambda p: p.name != default)
    return plan


def _import_profiles() -> tuple[int, list[str], list[Profile]]:
    from console.profiles import import_python_gitlab_cfg

    book = ProfileBook.load()
    imported = import_python_gitlab_cfg(existing=book.names())
    for item in imported.profiles:
        book.add(item.profile)
    book.save()
    profiles = [book.profiles[name] for name in book.names()]
    return len(imported.profiles), imported.plaintext_sections, profiles


def _open_store(is_drill: bool) -> Store:
    from console.store import Store

    return Store.open(db_path(is_drill))


def _open_incidents(store: Store, conn: Connection) -> list[Incident]:
    # The drill gets a new port every run, and has its own database: match any drill incident.
    url = normalize_url(conn.config.url)
    return [
        i
        for i in store.list_incidents("open")
        if conn.is_drill or normalize_url(i.instance_url) == url
    ]


def _new_incident(store: Store, conn: Connection) -> Incident:
    fields = default_incident_fields(datetime.now(UTC))
    return store.create_incident(
        title=fields["title"], kind=fields["kind"], profile=conn.profile_name,
        instance_url=conn.config.url, window_start=fields["window_start"],
        window_end=fields["window_end"],
    )


def _resume_incident(store: Store, conn: Connection, incident: Incident) -> Incident:
    if incident.instance_url != conn.config.url:
        return store.update_incident(incident.id, instance_url=conn.config.url)
    store.touch_incident(incident.id)
    return incident


def run(launch: Launch) -> int:
    """Run the console until the responder quits; returns the process exit status."""
    app = IncidentConsoleApp(launch)
    try:
        app.run(mouse=False)
    finally:
        app.shutdown()
    return app.return_code or 0
