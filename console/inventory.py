"""The credentials inventory, rebuilt from REST (gitlab-api.md §4.13).

Self-managed GitLab has no instance-level credentials-inventory endpoint, so this gathers the
pieces: every personal access token (impersonation, bot and service-account tokens included),
deploy keys, deploy tokens, runners, instance CI/CD variables, system hooks, and the variables and
hooks of every group and project. Each source fails on its own: a 403 on one list becomes a
problem note, never an empty inventory.

CI/CD variable *values* are dropped the moment a response is parsed; no ``Credential`` holds one.
Synchronous (python-gitlab or a sync httpx-style client): the caller runs it in a thread worker.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from console.audit import HttpStatusError, iter_pages, parse_time
from console.errors import Problem, describe_error
from console.secret import redact_url

__all__ = [
    "KIND_LABELS",
    "KIND_ORDER",
    "Credential",
    "HttpStatusError",
    "Inventory",
    "InventoryProgress",
    "SourceProblem",
    "credential_flags",
    "fetch_inventory",
    "hook_row",
    "redact_url",
    "token_row",
    "variable_row",
]

KIND_ORDER: tuple[str, ...] = (
    "pat", "impersonation", "bot_token", "service_token", "deploy_key", "deploy_token",
    "runner", "instance_variable", "group_variable", "project_variable", "system_hook",
    "group_hook", "project_hook",
)

KIND_LABELS: Mapping[str, str] = {
    "pat": "Personal access token",
    "impersonation": "Impersonation token",
    "bot_token": "Group/project access token",
    "service_token": "Service account token",
    "deploy_key": "Deploy key",
    "deploy_token": "Deploy token",
    "runner": "Runner",
    "instance_variable": "Instance CI/CD variable",
    "group_variable": "Group CI/CD variable",
    "project_variable": "Project CI/CD variable",
    "system_hook": "System hook",
    "group_hook": "Group webhook",
    "project_hook": "Project webhook",
}

ROTATE_HINTS: Mapping[str, str] = {
    "pat": "Revoke it (DELETE /personal_access_tokens/:id) or rotate it; rotation revokes the "
           "old value and the new one expires in 7 days unless expires_at is given.",
    "impersonation": "Revoke it (DELETE /users/:user_id/impersonation_tokens/:id); an admin "
                     "created it and the user cannot see it.",
    "bot_token": "Rotate or revoke it under its group or project (…/access_tokens/:id).",
    "service_token": "Rotate or revoke it under the service account's tokens.",
    "deploy_key": "Remove it from the projects it can reach, or replace the key pair.",
    "deploy_token": "Revoke it under the project or group that owns it (the instance list does "
                    "not name the owner).",
    "runner": "Reset the runner's authentication token (POST /runners/:id/reset_authentication_"
              "token) and re-register the machine, or delete the runner.",
    "instance_variable": "Change the secret at its source, then PUT the new value "
                         "(/admin/ci/variables/:key).",
    "group_variable": "Change the secret at its source, then PUT the new value "
                      "(/groups/:id/variables/:key).",
    "project_variable": "Change the secret at its source, then PUT the new value "
                        "(/projects/:id/variables/:key).",
    "system_hook": "Check the URL; replace its secret token (PUT /hooks/:id with url and token).",
    "group_hook": "Check the URL; replace its secret token (PUT with url and token).",
    "project_hook": "Check the URL; replace its secret token (PUT with url and token).",
}

ADMIN_SCOPES = frozenset({"sudo", "admin_mode"})
UNUSED_DAYS = 90
DEFAULT_CONCURRENCY = 6
DEFAULT_MAX_NAMESPACES = 5000


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential-like object. Never carries a secret value (token, key material, variable
    value, hook token). Text fields are raw server text: sanitise at display."""

    kind: str
    id: int | str
    name: str
    owner: str  # display form: "alice", "acme/api", "instance", "" when unknown
    owner_type: str  # user | group | project | instance | ""
    owner_id: int | None
    scopes: tuple[str, ...]
    created_at: str | None
    last_used_at: str | None
    expires_at: str | None
    state: str
    protected: bool | None
    flags: tuple[str, ...]
    rotate_hint: str
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The review-mark id: ``f"{kind}:{id}"``."""
        return f"{self.kind}:{self.id}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "id": self.id, "name": self.name, "owner": self.owner,
            "owner_type": self.owner_type, "owner_id": self.owner_id,
            "scopes": list(self.scopes), "created_at": self.created_at,
            "last_used_at": self.last_used_at, "expires_at": self.expires_at,
            "state": self.state, "protected": self.protected, "flags": list(self.flags),
            "rotate_hint": self.rotate_hint, "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Credential:
        return cls(
            kind=str(d["kind"]), id=d["id"], name=str(d.get("name") or ""),
            owner=str(d.get("owner") or ""), owner_type=str(d.get("owner_type") or ""),
            owner_id=d.get("owner_id"), scopes=tuple(d.get("scopes") or ()),
            created_at=d.get("created_at"), last_used_at=d.get("last_used_at"),
            expires_at=d.get("expires_at"), state=str(d.get("state") or ""),
            protected=d.get("protected"), flags=tuple(d.get("flags") or ()),
            rotate_hint=str(d.get("rotate_hint") or ""),
            extra={str(k): str(v) for k, v in (d.get("extra") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source that could not be read (fully), and why."""

    source: str
    problem: Problem


@dataclass(frozen=True, slots=True)
class InventoryProgress:
    source: str
    done: int
    total: int | None
    rows: int


@dataclass(slots=True)
class Inventory:
    rows: list[Credential]
    problems: list[SourceProblem]
    complete: bool = True

    def by_kind(self) -> dict[str, list[Credential]]:
        out: dict[str, list[Credential]] = {}
        for row in self.rows:
            out.setdefault(row.kind, []).append(row)
        return out


# ---------------------------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------------------------


def _in_window(value: str | None, window: tuple[datetime, datetime] | None) -> bool:
    when = parse_time(value)
    return window is not None and when is not None and window[0] <= when <= window[1]


def credential_flags(
    *,
    kind: str,
    created_at: str | None,
    last_used_at: str | None,
    expires_at: str | None,
    scopes: Sequence[str],
    state: str,
    window: tuple[datetime, datetime] | None,
    now: datetime,
    expiry_applies: bool,
    tracks_use: bool,
    protected: bool | None = None,
) -> list[str]:
    """The review flags that apply to one credential (plain words, most urgent first)."""
    flags: list[str] = []
    live = state in ("active", "online", "offline", "paused", "stale", "never_contacted", "")
    if ADMIN_SCOPES & set(scopes):
        flags.append("admin scope")
    elif "api" in scopes:
        flags.append("api scope")
    if _in_window(created_at, window):
        flags.append("created in incident window")
    if tracks_use and _in_window(last_used_at, window):
        flags.append("used in incident window")
    if expiry_applies and live and not expires_at:
        flags.append("never expires")
    if tracks_use and live:
        used = parse_time(last_used_at)
        if used is None:
            flags.append("never used")
        elif now - used >= timedelta(days=UNUSED_DAYS):
            flags.append(f"unused {UNUSED_DAYS}+ days")
    if protected:
        flags.append("protected variable")
    if kind == "impersonation":
        flags.append("impersonation")
    return flags


def _window(
    window: tuple[datetime | str, datetime | str] | None,
) -> tuple[datetime, datetime] | None:
    if window is None:
        return None
    lo, hi = parse_time(window[0]), parse_time(window[1])
    if lo is None or hi is None:
        return None
    return (lo, hi) if lo <= hi else (hi, lo)


def _s(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _scopes(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


_USERINFO = re.compile(r"^[^@/]*@")


# ---------------------------------------------------------------------------------------------
# Row builders (one per source)
# ---------------------------------------------------------------------------------------------

UserInfo = Mapping[str, Any]  # at least username; optionally bot / user_type


_RESOURCE_BOT = re.compile(r"^(project|group)_\d+_bot")


def _user_kind(info: UserInfo | None) -> str:
    """pat, bot_token (group/project access token) or service_token, from the owner."""
    if not info:
        return "pat"
    user_type = str(info.get("user_type") or info.get("kind") or "")
    username = str(info.get("username") or "")
    if user_type in ("service_account", "service"):
        return "service_token"
    if user_type in ("project_bot", "group_bot") or _RESOURCE_BOT.match(username):
        return "bot_token"
    if user_type == "bot" or info.get("bot") is True:
        # The REST user has only `bot: true`; GitLab names resource bots project_N_bot_… /
        # group_N_bot_…, so any other bot holding a PAT is a service account.
        return "service_token"
    return "pat"


def token_row(
    raw: Mapping[str, Any], user: UserInfo | None, window: tuple[datetime, datetime] | None,
    now: datetime,
) -> Credential:
    kind = "impersonation" if raw.get("impersonation") else _user_kind(user)
    revoked = bool(raw.get("revoked"))
    expires = _s(raw.get("expires_at"))
    expired = expires is not None and (parse_time(expires) or now) <= now
    state = "revoked" if revoked else "expired" if expired else (
        "active" if raw.get("active", True) else "inactive")
    scopes = _scopes(raw.get("scopes"))
    user_id = raw.get("user_id") if isinstance(raw.get("user_id"), int) else None
    owner = str(user.get("username")) if user and user.get("username") else (
        f"user #{user_id}" if user_id is not None else "")
    extra = {"user_id": str(user_id) if user_id is not None else ""}
    if raw.get("description"):
        extra["description"] = str(raw["description"])
    ips = raw.get("last_used_ips")
    if isinstance(ips, list) and ips:
        extra["last_used_ips"] = ", ".join(str(i) for i in ips)
    flags = credential_flags(
        kind=kind, created_at=_s(raw.get("created_at")), last_used_at=_s(raw.get("last_used_at")),
        expires_at=expires, scopes=scopes, state=state, window=window, now=now,
        expiry_applies=True, tracks_use=True,
    )
    return Credential(
        kind=kind, id=int(raw["id"]), name=str(raw.get("name") or ""), owner=owner,
        owner_type="user", owner_id=user_id, scopes=scopes, created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("last_used_at")), expires_at=expires, state=state,
        protected=None, flags=tuple(flags), rotate_hint=ROTATE_HINTS[kind], extra=extra,
    )


def deploy_key_row(
    raw: Mapping[str, Any], window: tuple[datetime, datetime] | None, now: datetime
) -> Credential:
    def paths(key: str) -> list[str]:
        items = raw.get(key)
        if not isinstance(items, list):
            return []
        return [str(p.get("path_with_namespace") or p.get("name") or p.get("id"))
                for p in items if isinstance(p, Mapping)]

    write, read = paths("projects_with_write_access"), paths("projects_with_readonly_access")
    reach = write + read
    owner = reach[0] + (f" (+{len(reach) - 1})" if len(reach) > 1 else "") if reach else ""
    expires = _s(raw.get("expires_at"))
    expired = expires is not None and (parse_time(expires) or now) <= now
    state = "expired" if expired else "active"
    scopes = ("write",) if write else ("read",)
    flags = credential_flags(
        kind="deploy_key", created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("last_used_at")), expires_at=expires, scopes=(), state=state,
        window=window, now=now, expiry_applies=True, tracks_use="last_used_at" in raw,
    )
    if write:
        flags.insert(0, "write access")
    extra = {
        "fingerprint_sha256": str(raw.get("fingerprint_sha256") or ""),
        "write access": ", ".join(write), "read-only access": ", ".join(read),
    }
    return Credential(
        kind="deploy_key", id=int(raw["id"]), name=str(raw.get("title") or ""), owner=owner,
        owner_type="project" if reach else "", owner_id=None, scopes=scopes,
        created_at=_s(raw.get("created_at")), last_used_at=_s(raw.get("last_used_at")),
        expires_at=expires, state=state, protected=None, flags=tuple(flags),
        rotate_hint=ROTATE_HINTS["deploy_key"], extra=extra,
    )


def deploy_token_row(
    raw: Mapping[str, Any], window: tuple[datetime, datetime] | None, now: datetime
) -> Credential:
    expires = _s(raw.get("expires_at"))
    state = "revoked" if raw.get("revoked") else "expired" if raw.get("expired") else "active"
    scopes = _scopes(raw.get("scopes"))
    flags = credential_flags(
        kind="deploy_token", created_at=_s(raw.get("created_at")), last_used_at=None,
        expires_at=expires, scopes=(), state=state, window=window, now=now,
        expiry_applies=True, tracks_use=False,
    )
    if any(s.startswith("write_") for s in scopes):
        flags.insert(0, "write scope")
    return Credential(
        kind="deploy_token", id=int(raw["id"]), name=str(raw.get("name") or ""), owner="",
        owner_type="", owner_id=None, scopes=scopes, created_at=_s(raw.get("created_at")),
        last_used_at=None, expires_at=expires, state=state, protected=None, flags=tuple(flags),
        rotate_hint=ROTATE_HINTS["deploy_token"],
        extra={"username": str(raw.get("username") or "")},
    )


def runner_row(
    raw: Mapping[str, Any], window: tuple[datetime, datetime] | None, now: datetime
) -> Credential:
    runner_type = str(raw.get("runner_type") or "")
    state = "paused" if raw.get("paused") else str(raw.get("status") or "")
    flags = credential_flags(
        kind="runner", created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("contacted_at")), expires_at=None, scopes=(), state=state,
        window=window, now=now, expiry_applies=False, tracks_use=False,
    )
    if runner_type == "instance_type" or raw.get("is_shared"):
        flags.insert(0, "instance runner")
    if _in_window(_s(raw.get("contacted_at")), window):
        flags.append("contacted in incident window")
    owner = {"instance_type": "instance", "group_type": "group",
             "project_type": "project"}.get(runner_type, runner_type)
    name = str(raw.get("description") or raw.get("name") or "")
    return Credential(
        kind="runner", id=int(raw["id"]), name=name, owner=owner, owner_type=owner,
        owner_id=None, scopes=(), created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("contacted_at")), expires_at=_s(raw.get("token_expires_at")),
        state=state, protected=None, flags=tuple(flags), rotate_hint=ROTATE_HINTS["runner"],
        extra={"runner_type": runner_type, "ip_address": str(raw.get("ip_address") or "")},
    )


def variable_row(
    raw: Mapping[str, Any], scope: str, owner: str, owner_id: int | None
) -> Credential:
    """Build a row from a variable **without its value** (only the allow-listed fields)."""
    key = str(raw.get("key") or "")
    env = str(raw.get("environment_scope") or "*") if scope != "instance" else ""
    kind = f"{scope}_variable"
    ident: str = key if scope == "instance" else f"{owner_id}:{key}:{env}"
    protected = bool(raw.get("protected"))
    masked, hidden = bool(raw.get("masked")), bool(raw.get("hidden"))
    flags: list[str] = []
    if protected:
        flags.append("protected variable")
    if not masked and not hidden:
        flags.append("not masked")
    if hidden:
        flags.append("hidden")
    if str(raw.get("variable_type") or "") == "file":
        flags.append("file variable")
    extra = {
        "variable_type": str(raw.get("variable_type") or "env_var"),
        "masked": str(masked).lower(), "hidden": str(hidden).lower(),
        "raw": str(bool(raw.get("raw"))).lower(),
    }
    if env:
        extra["environment_scope"] = env
    if raw.get("description"):
        extra["description"] = str(raw["description"])
    return Credential(
        kind=kind, id=ident, name=key, owner=owner, owner_type=scope, owner_id=owner_id,
        scopes=(env,) if env else (), created_at=None, last_used_at=None, expires_at=None,
        state="masked" if masked else "plain", protected=protected, flags=tuple(flags),
        rotate_hint=ROTATE_HINTS[kind], extra=extra,
    )


_HOOK_EVENT = re.compile(r"^(.*)_events$")


def hook_row(
    raw: Mapping[str, Any], scope: str, owner: str, owner_id: int | None,
    window: tuple[datetime, datetime] | None, now: datetime,
) -> Credential:
    kind = f"{scope}_hook"
    url, hidden = redact_url(str(raw.get("url") or ""))
    events = tuple(
        m.group(1) for k, v in raw.items() if v is True and (m := _HOOK_EVENT.match(k))
    )
    flags = credential_flags(
        kind=kind, created_at=_s(raw.get("created_at")), last_used_at=None, expires_at=None,
        scopes=(), state="", window=window, now=now, expiry_applies=False, tracks_use=False,
    )
    if raw.get("enable_ssl_verification") is False:
        flags.append("TLS verification off")
    if hidden:
        flags.append("credentials in URL")
    if raw.get("token_present") is False:
        flags.append("no secret token")
    name = str(raw.get("name") or "") or url
    extra = {"url": url}
    if raw.get("description"):
        extra["description"] = str(raw["description"])
    if raw.get("alert_status"):
        extra["alert_status"] = str(raw["alert_status"])
    state = "disabled" if raw.get("disabled_until") else "active"
    return Credential(
        kind=kind, id=int(raw["id"]), name=name, owner=owner, owner_type=scope if scope !=
        "system" else "instance", owner_id=owner_id, scopes=events,
        created_at=_s(raw.get("created_at")), last_used_at=None, expires_at=None, state=state,
        protected=None, flags=tuple(flags), rotate_hint=ROTATE_HINTS[kind], extra=extra,
    )


# ---------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------


class _Cancelled(Exception):
    pass


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "response_code", None)
    return code if isinstance(code, int) else None


def _admin_problem(source: str, exc: BaseException) -> Problem:
    status = _status(exc)
    if status in (401, 403):
        return Problem(
            title=f"{source}: not visible to this token",
            detail=f"Listing {source} needs an administrator token (GitLab answered {status}).",
            next_step="Use an administrator's token with the api (and admin_mode) scope.",
            kind="coverage",
            status=status,
        )
    if status == 404:
        return Problem(
            title=f"{source}: not available",
            detail=f"This GitLab does not offer {source} to this token (GitLab answered 404).",
            next_step="It may need a newer version, a higher tier or administrator rights.",
            kind="coverage",
            status=status,
        )
    p = describe_error(exc)
    return replace(p, title=f"{source}: {p.title}")


def fetch_inventory(
    gl: Any,
    window: tuple[datetime | str, datetime | str] | None = None,
    *,
    on_progress: Callable[[InventoryProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    is_admin: bool | None = None,
    user_lookup: Callable[[Iterable[int]], Mapping[int, UserInfo]] | None = None,
    resolve_users: bool = True,
    namespaces: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_namespaces: int = DEFAULT_MAX_NAMESPACES,
    now: datetime | None = None,
) -> Inventory:
    """Rebuild the inventory. Never raises for server errors: they become ``problems``.

    ``user_lookup`` maps user ids to cached user info (username, bot/user_type) — the pane passes
    the store's users cache; ids it cannot resolve are fetched (``GET /users/:id``) when
    ``resolve_users`` is set. ``namespaces`` enables the per-group/per-project variables and hooks
    sweep (up to ``max_namespaces`` of each, ``concurrency`` requests at a time).
    """
    win = _window(window)
    clock = now or datetime.now(UTC)
    is_cancelled = cancelled or (lambda: False)
    rows: list[Credential] = []
    problems: list[SourceProblem] = []
    lock = threading.Lock()

    def progress(source: str, done: int, total: int | None) -> None:
        if on_progress is not None:
            on_progress(InventoryProgress(source, done, total, len(rows)))

    def check() -> None:
        if is_cancelled():
            raise _Cancelled

    def listing(source: str, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        items: list[Any] = []
        for page in iter_pages(gl, path, {"per_page": 100, **(params or {})}):
            check()
            items.extend(x for x in page if isinstance(x, Mapping))
            progress(source, len(items), None)
        return items

    def guarded(source: str, path: str, build: Callable[[Mapping[str, Any]], Credential],
                params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        try:
            items = listing(source, path, params)
        except _Cancelled:
            raise
        except Exception as exc:
            problems.append(SourceProblem(source, _admin_problem(source, exc)))
            return []
        for item in items:
            try:
                rows.append(build(item))
            except (KeyError, TypeError, ValueError):
                continue  # a row without an id is unusable; skip rather than fail the source
        return items

    try:
        # Personal access tokens (admin: every user's, incl. impersonation, bot, service).
        try:
            tokens = listing("personal access tokens", "/personal_access_tokens")
        except _Cancelled:
            raise
        except Exception as exc:
            tokens = []
            problems.append(SourceProblem("personal access tokens",
                                          _admin_problem("personal access tokens", exc)))
        check()
        owner_ids = sorted({t["user_id"] for t in tokens if isinstance(t.get("user_id"), int)})
        users = _resolve_users(gl, owner_ids, user_lookup, resolve_users, concurrency, check)
        for t in tokens:
            try:
                rows.append(token_row(t, users.get(t.get("user_id", -1)), win, clock))
            except (KeyError, TypeError, ValueError):
                continue
        if is_admin is False:
            problems.append(SourceProblem("personal access tokens", Problem(
                title="Only this token's own tokens are listed",
                detail="A non-administrator sees only their own personal access tokens; the "
                       "instance-wide inventory needs an administrator token.",
                next_step="Sign in with an administrator's token for the full inventory.",
                kind="coverage",
            )))
        progress("personal access tokens", len(tokens), len(tokens))

        guarded("deploy keys", "/deploy_keys", lambda r: deploy_key_row(r, win, clock))
        guarded("deploy tokens", "/deploy_tokens", lambda r: deploy_token_row(r, win, clock))
        guarded("runners", "/runners/all", lambda r: runner_row(r, win, clock))
        guarded("instance CI/CD variables", "/admin/ci/variables",
                lambda r: variable_row(r, "instance", "instance", None))
        guarded("system hooks", "/hooks",
                lambda r: hook_row(r, "system", "instance", None, win, clock))

        if namespaces:
            _sweep_namespaces(gl, rows, problems, lock, win, clock, check, progress,
                              concurrency, max_namespaces)
    except _Cancelled:
        return Inventory(_sorted(rows), problems, complete=False)
    return Inventory(_sorted(rows), problems)


def _sorted(rows: list[Credential]) -> list[Credential]:
    def rank(kind: str) -> int:
        return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)

    return sorted(rows, key=lambda r: (rank(r.kind), str(r.owner), str(r.name), str(r.id)))


def _resolve_users(
    gl: Any, ids: Sequence[int],
    lookup: Callable[[Iterable[int]], Mapping[int, UserInfo]] | None,
    fetch_missing: bool, concurrency: int, check: Callable[[], None],
    cap: int = 500,
) -> dict[int, UserInfo]:
    found: dict[int, UserInfo] = {}
    if lookup is not None and ids:
        try:
            found.update(lookup(ids))
        except Exception:  # the cache is an optimisation; fall back to the server
            found = {}
    missing = [i for i in ids if i not in found][:cap]
    if not fetch_missing or not missing:
        return found

    def get(uid: int) -> tuple[int, UserInfo | None]:
        check()
        try:
            for page in iter_pages(gl, f"/users/{uid}"):
                if page and isinstance(page[0], Mapping):
                    return uid, page[0]
        except _Cancelled:
            raise
        except Exception:
            return uid, None
        return uid, None

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for fut in as_completed([pool.submit(get, uid) for uid in missing]):
            uid, info = fut.result()
            if info is not None:
                found[uid] = info
    return found


def _sweep_namespaces(
    gl: Any, rows: list[Credential], problems: list[SourceProblem], lock: threading.Lock,
    win: tuple[datetime, datetime] | None, clock: datetime, check: Callable[[], None],
    progress: Callable[[str, int, int | None], None], concurrency: int, max_namespaces: int,
) -> None:
    """Variables and hooks of every group and project, ``concurrency`` requests at a time."""
    def collect(source: str, path: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        try:
            for page in iter_pages(gl, path, params):
                check()
                out.extend(x for x in page if isinstance(x, Mapping))
                progress(source, len(out), None)
                if len(out) >= max_namespaces:
                    problems.append(SourceProblem(source, Problem(
                        title=f"{source}: only the first {max_namespaces} were swept",
                        detail=f"The instance has more {source} than the sweep limit.",
                        next_step="Review the remaining ones per namespace in GitLab.",
                        kind="coverage",
                    )))
                    return out[:max_namespaces]
        except _Cancelled:
            raise
        except Exception as exc:
            problems.append(SourceProblem(source, _admin_problem(source, exc)))
        return out

    groups = collect("groups", "/groups", {"per_page": 100, "all_available": "true"})
    check()
    projects = collect("projects", "/projects", {
        "per_page": 100, "pagination": "keyset", "order_by": "id", "sort": "asc",
        "simple": "true",
    })
    check()

    jobs: list[tuple[str, str, str, int, str]] = []  # (source, path, scope, owner_id, owner)
    for g in groups:
        gid, gpath = g.get("id"), str(g.get("full_path") or g.get("path") or g.get("id"))
        if isinstance(gid, int):
            jobs.append(("group CI/CD variables", f"/groups/{gid}/variables", "group", gid, gpath))
            jobs.append(("group webhooks", f"/groups/{gid}/hooks", "group", gid, gpath))
    for p in projects:
        pid = p.get("id")
        ppath = str(p.get("path_with_namespace") or p.get("name") or pid)
        if isinstance(pid, int):
            jobs.append(("project CI/CD variables", f"/projects/{pid}/variables", "project",
                         pid, ppath))
            jobs.append(("project webhooks", f"/projects/{pid}/hooks", "project", pid, ppath))

    failures: dict[str, list[BaseException]] = {}

    def run(job: tuple[str, str, str, int, str]) -> None:
        source, path, scope, owner_id, owner = job
        check()
        built: list[Credential] = []
        try:
            for page in iter_pages(gl, path, {"per_page": 100}):
                for item in page:
                    if not isinstance(item, Mapping):
                        continue
                    try:
                        if source.endswith("variables"):
                            built.append(variable_row(item, scope, owner, owner_id))
                        else:
                            built.append(hook_row(item, scope, owner, owner_id, win, clock))
                    except (KeyError, TypeError, ValueError):
                        continue
        except _Cancelled:
            raise
        except Exception as exc:
            with lock:
                failures.setdefault(source, []).append(exc)
            return
        with lock:
            rows.extend(built)

    done = 0
    total = len(jobs)
    progress("group and project settings", 0, total)
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        futures = [pool.submit(run, job) for job in jobs]
        for fut in as_completed(futures):
            try:
                fut.result()
            except _Cancelled:
                for f in futures:
                    f.cancel()
                raise
            done += 1
            if done % 10 == 0 or done == total:
                progress("group and project settings", done, total)
            check()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    for source, errors in sorted(failures.items()):
        statuses = {_status(e) for e in errors}
        first = _admin_problem(source, errors[0])
        if statuses <= {404} and "webhooks" in source and source.startswith("group"):
            detail = "Group webhooks need GitLab Premium or Ultimate (GitLab answered 404)."
        else:
            detail = f"{len(errors)} namespace(s) could not be read. {first.detail}"
        problems.append(SourceProblem(source, replace(first, detail=detail)))

