"""Startup resolution: CLI args / environment → profile → token → connection → incident.

Everything here is headless and blocking (keyring probe, drill start, capability check): the app
calls these helpers from thread workers.

Order of precedence:

1. ``--demo``: start a local drill; drill token; ``drill.sqlite`` so drills never mix with real
   incidents.
2. ``GITLAB_TOKEN`` (+ ``GITLAB_URL``, glab's ``GITLAB_HOST`` or ``--url``): unattended use. The
   keyring is not touched and the variable is removed from ``os.environ`` right after reading.
3. A profile (``--profile``, ``--url`` matching a profile, or the default profile): its token
   from the OS keyring if one is stored; otherwise the app asks for it (:class:`PendingLogin`)
   and :func:`complete_login` stores it if a keyring can serve, or keeps it in memory only.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from console.capabilities import (
    SOURCE_DRILL,
    SOURCE_ENV,
    SOURCE_KEYRING,
    SOURCE_PROMPT,
    Coverage,
    check_capabilities,
)
from console.config import ConnectionConfig, build_gitlab, build_httpx_sync, normalize_url
from console.errors import ConfigError
from console.launch import Launch
from console.paths import data_dir, private_dir
from console.profiles import Profile, ProfileBook
from console.redact import register_secret
from console.secret import Secret
from console.tokens import KeyringStatus, TokenStore, token_key

if TYPE_CHECKING:
    import gitlab

    from console.drill.child import DrillProcess
    from console.drill.options import DrillOptions
    from console.drill.server import DrillServer

__all__ = [
    "DRILL_DB",
    "INCIDENTS_DB",
    "Connection",
    "Launch",
    "PendingLogin",
    "StartPlan",
    "check_connection",
    "complete_login",
    "connection_from_env",
    "db_path",
    "drill_options",
    "forget_token",
    "latest_incident",
    "open_gitlab",
    "plan_start",
]

INCIDENTS_DB: Final = "incidents.sqlite"
DRILL_DB: Final = "drill.sqlite"
DRILL_PROFILE: Final = "drill"


@dataclass(frozen=True)
class Connection:
    """A resolved target: where, with which token, and where the token came from."""

    config: ConnectionConfig
    token: Secret
    token_source: str  # keyring | env | prompt | drill
    profile_name: str
    is_drill: bool = False
    keyring_label: str | None = None  # set when the token is (now) stored in a keyring

    @property
    def url(self) -> str:
        return self.config.url


@dataclass(frozen=True)
class PendingLogin:
    """We know where to connect but need the token typed in (``Input(password=True)``)."""

    config: ConnectionConfig
    profile_name: str
    keyring: KeyringStatus
    is_new_profile: bool = False

    @property
    def key(self) -> str:
        return token_key(self.config.url, self.profile_name)

    @property
    def can_save(self) -> bool:
        return self.keyring.available


@dataclass
class StartPlan:
    """The outcome of :func:`plan_start`: exactly one of connection / pending / needs_profile."""

    connection: Connection | None = None
    pending: PendingLogin | None = None
    needs_profile: bool = False  # no URL, no profile: show the first-run / profile picker
    profiles: list[Profile] = field(default_factory=list)
    drill: DrillServer | DrillProcess | None = None  # stop it on exit
    keyring: KeyringStatus | None = None
    notes: list[str] = field(default_factory=list)  # shown once at startup


def _with_scheme(host: str) -> str:
    host = host.strip()
    return host if "://" in host else f"https://{host}"


def connection_from_env(
    environ: MutableMapping[str, str] | None = None,
    *,
    url: str | None = None,
    ca_bundle: str | None = None,
    allow_plain_http: bool = False,
) -> Connection | None:
    """``GITLAB_TOKEN`` + ``GITLAB_URL``/``GITLAB_HOST`` (or ``url``) → a Connection, or None.

    The token is removed from ``environ`` *and* ``os.environ`` as soon as it is read, so child
    processes never inherit it. Raises :class:`ConfigError` if a token is set without any URL.
    """
    env = os.environ if environ is None else environ
    raw = env.pop("GITLAB_TOKEN", None)
    os.environ.pop("GITLAB_TOKEN", None)
    if raw is None or not raw.strip():
        return None
    token = Secret(raw)
    del raw
    register_secret(token)
    target = url or env.get("GITLAB_URL") or env.get("GITLAB_HOST")
    if not target or not target.strip():
        raise ConfigError(
            "GITLAB_TOKEN is set but no GitLab URL is: set GITLAB_URL (or GITLAB_HOST) or pass "
            "--url."
        )
    config = ConnectionConfig(
        url=_with_scheme(target), ca_bundle=ca_bundle, allow_plain_http=allow_plain_http
    )
    config.validate()
    return Connection(config, token, SOURCE_ENV, "env", is_drill=False)


def db_path(is_drill: bool) -> Path:
    """The SQLite file: drills and real incidents never share one."""
    return private_dir(data_dir()) / (DRILL_DB if is_drill else INCIDENTS_DB)


def drill_options(launch: Launch) -> DrillOptions:
    """The drill ``launch`` asks for (``--users``, ``--latency-ms``, ``--tier``)."""
    from console.drill.options import DrillOptions

    tier: Any = launch.drill_tier
    return DrillOptions(users=launch.drill_users, latency_ms=launch.drill_latency_ms, tier=tier)


def start_drill(launch: Launch) -> tuple[DrillServer | DrillProcess, Connection]:
    # Either way the URL (and so the connection) is known at once: the port is bound first and
    # requests wait in its queue until the simulated instance is built. A child process seeds
    # and serves on another core (started by the command line, if it did, before the console's
    # imports); in-process, the seeding waits for the first screen.
    server: DrillServer | DrillProcess
    if launch.drill_process:
        from console.drill.child import DrillProcess

        started = launch.drill
        server = (
            started if isinstance(started, DrillProcess) else DrillProcess(drill_options(launch))
        )
    else:
        from console.drill.server import DrillServer

        server = DrillServer(drill_options(launch), seed_later=True)
    url = server.start()
    config = ConnectionConfig(url=url, timeout=30.0)
    token = Secret(server.ADMIN_TOKEN)
    register_secret(token)
    return server, Connection(config, token, SOURCE_DRILL, DRILL_PROFILE, is_drill=True)


def _config_for(profile: Profile, launch: Launch) -> ConnectionConfig:
    cfg = profile.to_config(ca_bundle=launch.ca_bundle)
    if launch.allow_plain_http and not cfg.allow_plain_http:
        cfg = profile.to_config(ca_bundle=launch.ca_bundle, allow_plain_http=True)
    cfg.validate()
    return cfg


def plan_start(
    launch: Launch,
    *,
    environ: MutableMapping[str, str] | None = None,
    store: TokenStore | None = None,
    book: ProfileBook | None = None,
) -> StartPlan:
    """Decide how to connect. Blocking (may probe the keyring ~3 s or start a drill)."""
    plan = StartPlan()
    if launch.demo:
        plan.drill, plan.connection = start_drill(launch)
        return plan

    env_conn = connection_from_env(
        environ,
        url=launch.url,
        ca_bundle=launch.ca_bundle,
        allow_plain_http=launch.allow_plain_http,
    )
    if env_conn is not None:
        plan.connection = env_conn
        plan.notes.append(
            "Using GITLAB_TOKEN from the environment (removed from it now); the keyring is not "
            "used."
        )
        return plan

    book = book if book is not None else ProfileBook.load()
    plan.notes.extend(book.warnings)
    plan.profiles = [book.profiles[n] for n in book.names()]

    profile: Profile | None = None
    new_profile = False
    if launch.profile:
        profile = book.get(launch.profile)
        if profile is None:
            raise ConfigError(
                f"No profile named {launch.profile!r}; known: "
                + (", ".join(book.names()) or "none")
                + "."
            )
    elif launch.url:
        profile = book.find_by_url(launch.url)
        if profile is None:
            profile = Profile(
                name=_name_for_url(launch.url, book),
                url=launch.url,
                ca_bundle=launch.ca_bundle,
                allow_plain_http=launch.allow_plain_http,
            )
            new_profile = True
    elif book.default and book.get(book.default):
        profile = book.get(book.default)
    elif len(book.profiles) == 1:
        profile = plan.profiles[0]

    if profile is None:
        plan.needs_profile = True
        return plan

    cfg = _config_for(profile, launch)
    store = store if store is not None else TokenStore()
    plan.keyring = store.status
    if store.available:
        token = store.get(token_key(cfg.url, profile.name))
        if token is not None:
            register_secret(token)
            plan.connection = Connection(
                cfg, token, SOURCE_KEYRING, profile.name, keyring_label=store.status.label
            )
            return plan
    plan.pending = PendingLogin(cfg, profile.name, store.status, is_new_profile=new_profile)
    return plan


def _name_for_url(url: str, book: ProfileBook) -> str:
    host = ConnectionConfig(url=url).host or "gitlab"
    base = "".join(c if c.isalnum() or c in "._-" else "-" for c in host)[:56] or "gitlab"
    name, n = base, 2
    while name in book.profiles:
        name = f"{base}-{n}"
        n += 1
    return name


def complete_login(
    pending: PendingLogin,
    token: Secret,
    *,
    remember: bool,
    store: TokenStore | None = None,
    book: ProfileBook | None = None,
) -> Connection:
    """Turn a typed-in token into a Connection; store it in the keyring if asked and possible.

    If ``remember`` but no keyring can serve, the token stays in memory (source ``prompt``);
    the caller shows ``pending.keyring.explanation()``. A new ``--url`` profile is saved to
    ``profiles.toml`` when ``book`` is given (never with the token).
    """
    register_secret(token)
    if book is not None and pending.is_new_profile and book.get(pending.profile_name) is None:
        cfg = pending.config
        book.add(
            Profile(
                name=pending.profile_name,
                url=cfg.url,
                ca_bundle=cfg.ca_bundle,
                verify_tls=cfg.verify_tls,
                proxy=cfg.proxy,
                timeout=cfg.timeout,
                allow_plain_http=cfg.allow_plain_http,
            )
        )
        book.save()
    if remember and store is not None and store.available:
        store.set(pending.key, token)
        return Connection(
            pending.config,
            token,
            SOURCE_KEYRING,
            pending.profile_name,
            keyring_label=store.status.label,
        )
    return Connection(pending.config, token, SOURCE_PROMPT, pending.profile_name)


def forget_token(url: str, profile_name: str, store: TokenStore) -> bool:
    """Logout: delete the stored token for this profile."""
    return store.delete(token_key(normalize_url(url), profile_name))


def open_gitlab(conn: Connection) -> gitlab.Gitlab:
    return build_gitlab(conn.config, conn.token)


def check_connection(conn: Connection, *, keyring: KeyringStatus | None = None) -> Coverage:
    """Build a client and run the capability check (blocking; thread worker).

    The check reads through httpx: a python-gitlab client builds every API manager it has on
    creation (~30 ms of CPU in front of the first screen), and nothing here needs them.
    """
    client = build_httpx_sync(conn.config, conn.token, max_connections=4)
    try:
        label = conn.keyring_label
        if label is None and conn.token_source == SOURCE_PROMPT and keyring is not None:
            label = keyring.label if keyring.available else None
        return check_capabilities(
            client,
            token_source=conn.token_source,
            keyring_label=label,
            keyring_reason=None if keyring is None or keyring.available else keyring.reason,
            ca_bundle=conn.config.ca_bundle,
            tls_verified=conn.config.ssl_verify is not False,
        )
    finally:
        client.close()


class _IncidentLike(Protocol):
    id: int
    instance_url: str


class _StoreLike(Protocol):
    def list_incidents(self, status: str | None = "open") -> list[Any]: ...


def latest_incident(store: _StoreLike, instance_url: str) -> Any | None:
    """For ``--resume``: the most recently active open incident for this instance."""
    target = normalize_url(instance_url)
    for incident in store.list_incidents("open"):
        if normalize_url(str(getattr(incident, "instance_url", ""))) == target:
            return incident
    return None
