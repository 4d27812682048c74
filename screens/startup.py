"""The startup flow: connection → keyring → capability check → store → incident.

``--resume`` with an open incident in the store takes a shorter way: connection → store →
incident, read-only, with the capability check beside it (``screens.startup_resume``).

:class:`StartupFlow` is one async worker that reads top to bottom: get a connection (drill,
environment, profile + keyring, or the connect form), check capabilities, open the store, pick or
create the incident, then hand the :class:`AppContext` to the app. Every disk or network step runs
in a thread worker (``console.startup_steps``) while the "connecting…" screen says what is
happening; every failure becomes a ``describe_error`` screen with retry / edit / quit, never a
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App
from textual.worker import WorkerFailed

from console.config import warm_up
from console.context import AppContext
from console.errors import Problem, describe_error
from console.profiles import Profile, default_cfg_path
from console.redact import register_secret
from console.sanitize import safe
from console.secret import Secret
from console.session import (
    Connection,
    Launch,
    PendingLogin,
    StartPlan,
    check_connection,
    complete_login,
    plan_start,
)
from console.startup_steps import (
    import_profiles,
    new_incident,
    open_incidents,
    open_store,
    plan_launch,
    resume_incident,
    save_new_profile,
)
from console.tokens import KeyringStatus, TokenStore, probe_keyring
from screens.connect import (
    BACK,
    ConnectFormScreen,
    ConnectingScreen,
    ConnectRequest,
    KeyringNoticeScreen,
    ProblemScreen,
)
from screens.coverage import CoverageScreen, needs_attention
from screens.incidents import NEW, IncidentChoiceScreen, default_incident_fields
from screens.profiles import IMPORT, ProfilePickerScreen
from screens.startup_resume import CheckFailed as _Failed
from screens.startup_resume import ResumeFirst

if TYPE_CHECKING:
    from console.drill.child import DrillProcess
    from console.drill.server import DrillServer
    from console.store import Incident, Store

__all__ = ["StartupFlow"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class StartupFlow(ResumeFirst):
    """Drives the startup screens of one app run; ``enter`` receives the finished context.

    The flow keeps what it resolved (the drill, the store, the connection, the keyring status)
    so that a retry does not repeat it and the app can switch incidents later.
    """

    def __init__(
        self,
        app: App[Any],
        launch: Launch,
        enter: Callable[[AppContext], Awaitable[None]],
    ) -> None:
        self.app = app
        self.launch = launch
        self._enter = enter
        self.drill: DrillServer | DrillProcess | None = None
        self.store: Store | None = None
        self.conn: Connection | None = None
        self.keyring: KeyringStatus | None = None
        self._keyring_explained = False
        self._new_profile: Profile | None = None
        self._created_incident = False
        self.offline_problem: Problem | None = None
        """Set when the incident is read-only because GitLab could not be reached (or the
        capability check failed) after it was opened from the cache."""

    def stop_drill(self) -> None:
        """Stop the drill instance, if this run started one."""
        if self.drill is not None:
            self.drill.stop()
            self.drill = None

    async def blocking(self, step: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a thread worker while the status line shows ``step``."""
        if isinstance(self.app.screen, ConnectingScreen):
            self.app.screen.set_step(step)
        worker = self.app.run_worker(
            partial(fn, *args), thread=True, group="startup-io", exit_on_error=False
        )
        try:
            result: T = await worker.wait()
        except WorkerFailed as failed:
            raise failed.error from None
        return result

    # -- the flow ------------------------------------------------------------------------
    async def run(self) -> None:
        """Retry, edit or quit until the main screen is up (or the responder quits)."""
        app = self.app
        edit, note = False, ""
        while True:
            try:
                conn = await self._connection(edit=edit, note=note)
                if conn is None:
                    app.exit()
                    return
                self.conn = conn
                register_secret(conn.token)
                if await self.open_cached(conn):  # --resume: cached rows now, the check beside
                    return
                self.release_drill()
                # Beside the check, which mostly waits on the network: what the first screen
                # needs next (the store) and what the users load needs first (warm_up).
                self.app.run_worker(
                    partial(warm_up, conn.config),
                    thread=True,
                    group="startup-io",
                    exit_on_error=False,
                )
                opening = self._open_store_beside(conn)
                coverage = await self.blocking(
                    "Checking what this token can see…",
                    partial(check_connection, conn, keyring=self.keyring),
                )
                await self._collect_store(opening)
                if coverage.fatal is not None:
                    raise _Failed(coverage.fatal)
                profile, self._new_profile = self._new_profile, None
                await self.blocking("Saving the profile…", save_new_profile, profile)
                if needs_attention(coverage) and not await app.push_screen_wait(
                    CoverageScreen(coverage, startup=True)
                ):
                    app.exit()
                    return
                if self.store is None:  # not opened beside the check: now, failures explained
                    self.store = await self.blocking(
                        "Opening the local state store…", open_store, conn.is_drill
                    )
                incident = await self.pick_incident(force_choice=False)
                if incident is None:
                    app.exit()
                    return
                await self._enter(
                    AppContext(
                        self.store,
                        incident,
                        conn,
                        coverage,
                        self.launch.read_only,
                        self.launch.dry_run,
                        new_incident=self._created_incident,
                    )
                )
                return
            except Exception as exc:  # every failure is explained, none is a traceback
                choice, note = await self._explain(exc)
                if choice == "quit":
                    app.exit(return_code=1)
                    return
                edit = choice == "edit"

    async def reconnect(self) -> Any:
        """Run the capability check again; the coverage on success, else raises."""
        assert self.conn is not None
        coverage = await self.blocking(
            "Reconnecting…", partial(check_connection, self.conn, keyring=self.keyring)
        )
        if coverage.fatal is not None:
            raise _Failed(coverage.fatal)
        return coverage

    async def _explain(self, exc: BaseException) -> tuple[str, str]:
        conn = self.conn
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
        choice = await self.app.push_screen_wait(ProblemScreen(problem, can_edit=can_edit))
        return choice, f"{problem.title}: {problem.detail}"

    # -- connection: plan, profile picker, connect form, keyring -------------------------
    async def _connection(self, *, edit: bool, note: str) -> Connection | None:
        """Where to connect and with which token; ``None`` means the responder quit."""
        if self.conn is not None and not edit:
            return self.conn  # retry: the environment token has already been consumed
        if edit:
            conn, launch = self.conn, self.launch
            return _connection(
                await self._ask(
                    name=conn.profile_name if conn else (launch.profile or ""),
                    url=conn.config.url if conn else (launch.url or ""),
                    ca_bundle=conn.config.ca_bundle if conn else launch.ca_bundle,
                    token=conn.token if conn else None,
                    note=note,
                )
            )
        step = "Starting the drill instance…" if self.launch.demo else "Reading settings…"
        return await self._from_plan(await self.blocking(step, plan_launch, self.launch))

    async def _from_plan(self, plan: StartPlan) -> Connection | None:
        if plan.drill is not None:
            self.drill = plan.drill
        if plan.keyring is not None:
            self.keyring = plan.keyring
        for line in plan.notes:
            self.app.notify(line, markup=False, timeout=8)
        if plan.connection is not None:
            return plan.connection
        if plan.pending is not None:
            pending = plan.pending
            return _connection(
                await self._ask(
                    name=pending.profile_name,
                    url=pending.config.url,
                    ca_bundle=pending.config.ca_bundle,
                    token_only=not pending.is_new_profile,
                )
            )
        return await self._pick_profile(plan.profiles)

    async def _pick_profile(
        self, profiles: list[Profile], *, imported: bool = False
    ) -> Connection | None:
        can_import = not imported and await self.blocking(
            "Reading settings…", default_cfg_path().exists
        )
        while profiles:
            choice = await self.app.push_screen_wait(
                ProfilePickerScreen(profiles, can_import=can_import)
            )
            if choice is None:
                return None
            if choice == NEW:
                conn = await self._ask(can_go_back=True)
                if conn == BACK:
                    continue  # escape on the form: back to the picker
                return _connection(conn)
            if choice == IMPORT:
                profiles = await self._import_cfg()
                can_import = False  # once per run; a second import would only add duplicates
                continue
            status = await self._keyring_status()
            launch = replace(self.launch, profile=choice.name, url=None)
            plan = await self.blocking(
                "Reading the token from the keyring…",
                partial(plan_start, launch, store=TokenStore(status=status)),
            )
            return await self._from_plan(plan)
        return _connection(await self._ask(can_import=can_import and not profiles))

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
        can_go_back: bool = False,
    ) -> Any:
        """The connect form; the login is completed (and the token stored) in a worker.

        Returns the connection, ``None`` (quit) or :data:`BACK` (only with ``can_go_back``).
        """
        status = await self._keyring_status()
        storage = (
            f"The token will be saved in {status.label}."
            if status.available
            else "The token will be kept in memory for this session only."
        )
        result = await self.app.push_screen_wait(
            ConnectFormScreen(
                name=name,
                url=url,
                ca_bundle=ca_bundle,
                token=token,
                storage_note=storage,
                can_import=can_import,
                token_only=token_only,
                message=note,
                can_remember=status.available,
                can_go_back=can_go_back,
            )
        )
        if result is None or result == BACK:
            return result
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
        return await self.blocking(
            "Saving the token…" if result.remember else "Connecting…",
            partial(
                complete_login,
                pending,
                result.token,
                remember=result.remember,
                store=TokenStore(status=status),
            ),
        )

    async def _keyring_status(self) -> KeyringStatus:
        """Probe the keyring once per run; if it is unusable, explain that once."""
        if self.keyring is None:
            self.keyring = await self.blocking("Looking for an OS keyring…", probe_keyring)
        if not self.keyring.available and not self._keyring_explained:
            self._keyring_explained = True
            await self.app.push_screen_wait(KeyringNoticeScreen(self.keyring.explanation()))
        return self.keyring

    async def _import_cfg(self) -> list[Profile]:
        added, plaintext, profiles = await self.blocking(
            "Importing ~/.python-gitlab.cfg…", import_profiles
        )
        self.app.notify(f"Imported {added} profile(s); tokens were not copied.", markup=False)
        if plaintext:
            self.app.notify(
                f"~/.python-gitlab.cfg keeps tokens in plain text ({safe(', '.join(plaintext))}). "
                "Revoke or move them; anyone who can read that file can use them.",
                markup=False,
                severity="warning",
                timeout=15,
            )
        return profiles

    # -- incidents -----------------------------------------------------------------------
    async def pick_incident(self, *, force_choice: bool) -> Incident | None:
        """Resume the latest (``--resume``, drill, or the only open one), ask which, or start one.

        Returning to the one open incident of this instance needs no question: the responder
        is back at work in one step (a new incident is a palette command away).
        """
        store, conn = self.store, self.conn
        assert store is not None and conn is not None
        incidents = await self.blocking("Looking for open incidents…", open_incidents, store, conn)
        resume_latest = self.launch.resume or conn.is_drill or len(incidents) == 1
        if incidents and resume_latest and not force_choice:
            chosen: Any = incidents[0]
        elif incidents:
            chosen = await self.app.push_screen_wait(
                IncidentChoiceScreen(incidents, instance_url=conn.config.url)
            )
            if chosen is None:
                return None
        else:
            chosen = NEW
        if chosen == NEW:
            return await self.new_incident(store, conn)
        return await self.blocking(
            "Resuming the incident…",
            resume_incident,
            store,
            conn,
            chosen,
            not self.launch.read_only,
        )

    async def new_incident(self, store: Store, conn: Connection) -> Incident:
        """Start a new incident with the default title and a 30-day window."""
        fields = default_incident_fields(conn.config.clock.now())  # GitLab's now
        incident = await self.blocking(
            "Starting a new incident…", new_incident, store, conn, fields, not self.launch.read_only
        )
        self._created_incident = True
        return incident


def _connection(value: object) -> Connection | None:
    """``_ask``'s answer where it cannot be :data:`BACK`: a connection, or ``None`` (quit)."""
    return value if isinstance(value, Connection) else None
