"""The capability check: what this token on this instance can and cannot see (``Coverage``).

One synchronous pass (run it in a thread worker) over ``/metadata``, ``/user``,
``/personal_access_tokens/self``, an admin-only endpoint (Admin Mode detection) and
``/audit_events`` (tier), collecting ``RateLimit-*`` headers on the way. Every request has a
timeout and goes through the read policy of :mod:`console.api.pages`: a 502 from a proxy or a
dropped connection at start-up is retried with backoff, a short ``Retry-After`` is waited out
(visibly, cancellably), a long one is reported. Failures become :class:`~console.errors.Problem`.
The ``Date`` of the replies gives GitLab's clock (:mod:`console.clock`): the skew is recorded, and
token expiry is counted on the server's calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

import httpx

from console import timeutil
from console.api.loaded import is_client_error
from console.api.pages import CancelledFn, WaitCallback, get_response, refusal
from console.clock import ServerClock
from console.config import clock_of, is_loopback_host
from console.errors import Problem, describe_error
from console.problem import ProblemError
from console.sanitize import safe
from console.timeutil import format_iso, parse_date

if TYPE_CHECKING:  # the check reads through httpx at start-up; python-gitlab loads later
    import gitlab

__all__ = [
    "SOURCE_DRILL",
    "SOURCE_ENV",
    "SOURCE_KEYRING",
    "SOURCE_PROMPT",
    "Coverage",
    "CoverageLine",
    "check_capabilities",
]

SOURCE_KEYRING: Final = "keyring"
SOURCE_ENV: Final = "env"
SOURCE_PROMPT: Final = "prompt"
SOURCE_DRILL: Final = "drill"

# Admin-only endpoints tried in order; the first that is not 404 decides "admin API usable".
ADMIN_PROBES: Final = ("/users/{uid}/memberships", "/application/statistics", "/hooks")
_RATE_HEADERS: Final = (
    "RateLimit-Name",
    "RateLimit-Limit",
    "RateLimit-Observed",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
EXPIRY_WARN_DAYS: Final = 7

Level = Literal["ok", "warn", "blind"]


@dataclass(frozen=True, slots=True)
class CoverageLine:
    level: Level
    text: str


def _s(value: object, cells: int = 60) -> str:
    return safe(value, kind="line", max_cells=cells)


@dataclass
class Coverage:
    """Facts learned about the instance and token, and what they mean for the responder."""

    url: str
    token_source: str = SOURCE_PROMPT
    keyring_label: str | None = None  # e.g. "Secret Service" when the token is stored there
    keyring_reason: str | None = None  # why it could not be stored, if it could not
    tls_verified: bool = True
    # instance
    version: str | None = None
    revision: str | None = None
    enterprise: bool | None = None
    # actor
    user_id: int | None = None
    username: str | None = None
    is_admin: bool = False
    # token
    token_name: str | None = None
    scopes: tuple[str, ...] | None = None
    expires_at: date | None = None
    # derived
    admin_api: bool | None = None  # an admin-only endpoint answered 200
    admin_mode_blocked: bool = False  # is_admin, yet admin endpoints answer 403
    audit_events: bool | None = None  # GET /audit_events answered 200
    audit_status: int | None = None
    tier: str = "unknown"  # free | premium_or_ultimate | unknown
    rate_limit: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    fatal: Problem | None = None
    checked_at: datetime = field(default_factory=timeutil.now)  # the server's time, when known
    # GitLab's clock minus this host's, from the replies' Date headers (None: no Date seen)
    clock_skew_s: float | None = None
    clock_note: str | None = None  # a sentence for the panel when the skew passes a minute

    @property
    def ok(self) -> bool:
        return self.fatal is None

    @property
    def can_act(self) -> bool:
        """Admin write actions are possible (admin, admin endpoints usable, api scope)."""
        scoped = self.scopes is None or "api" in self.scopes
        return self.ok and self.is_admin and not self.admin_mode_blocked and scoped

    def server_now(self) -> datetime:
        """The current time on the server: this host's clock corrected by the measured skew."""
        return timeutil.now() + timedelta(seconds=self.clock_skew_s or 0.0)

    def expires_in_days(self, today: date | None = None) -> int | None:
        """Days until the token expires, counted on the server's calendar unless ``today``."""
        if self.expires_at is None:
            return None
        return (self.expires_at - (today or self.server_now().date())).days

    def lines(self, today: date | None = None) -> list[CoverageLine]:
        out: list[CoverageLine] = []
        add = out.append
        if self.fatal is not None:
            add(CoverageLine("blind", f"{self.fatal.title}: {self.fatal.detail}"))
        if self.version:
            edition = {True: "Enterprise", False: "Community", None: "unknown"}[self.enterprise]
            add(CoverageLine("ok", f"GitLab {_s(self.version, 40)} ({edition} Edition)"))
        if self.username is not None:
            who = f"@{_s(self.username, 40)} (#{self.user_id})"
            if self.is_admin:
                add(CoverageLine("ok", f"signed in as {who}, administrator"))
            else:
                add(CoverageLine("ok", f"signed in as {who}"))
                add(
                    CoverageLine(
                        "blind", "not an administrator: user list is partial, sign-in IPs hidden"
                    )
                )
        if self.admin_mode_blocked:
            add(
                CoverageLine(
                    "blind",
                    "token lacks admin_mode scope: Admin Mode is on and admin endpoints answer 403",
                )
            )
        if self.scopes is not None:
            shown = ", ".join(_s(s, 30) for s in self.scopes) or "none"
            if "api" in self.scopes:
                add(CoverageLine("ok", f"token scopes: {shown}"))
            else:
                add(
                    CoverageLine(
                        "warn", f"token scopes: {shown} — no api scope: response actions disabled"
                    )
                )
        days = self.expires_in_days(today)
        if days is not None:
            if days < 0:
                add(CoverageLine("blind", f"token expired on {self.expires_at}"))
            elif days == 0:
                add(CoverageLine("warn", "token expires today"))
            elif days <= EXPIRY_WARN_DAYS:
                unit = "day" if days == 1 else "days"
                add(CoverageLine("warn", f"token expires in {days} {unit} ({self.expires_at})"))
            else:
                add(CoverageLine("ok", f"token expires {self.expires_at} (in {days} days)"))
        elif self.scopes is not None:
            add(CoverageLine("ok", "token has no expiry date"))
        if self.audit_events:
            add(CoverageLine("ok", "audit events API available (Premium/Ultimate)"))
        elif self.tier == "free":
            add(
                CoverageLine(
                    "warn",
                    "Free tier: no audit events API, using contribution events and sign-in "
                    "fields instead",
                )
            )
        elif self.audit_status == 403:
            add(
                CoverageLine(
                    "warn",
                    "audit events API refused (403): using contribution events and sign-in "
                    "fields instead",
                )
            )
        elif self.audit_status is not None:
            add(CoverageLine("warn", f"audit events API not usable (HTTP {self.audit_status})"))
        if self.rate_limit:
            limit = self.rate_limit.get("RateLimit-Limit")
            remaining = self.rate_limit.get("RateLimit-Remaining")
            add(
                CoverageLine(
                    "ok",
                    f"rate limit observed: {_s(limit, 12) or '?'}/min, "
                    f"{_s(remaining, 12) or '?'} remaining",
                )
            )
        if self.clock_note is not None:
            add(CoverageLine("warn", self.clock_note))
        if not self.tls_verified:
            add(CoverageLine("warn", "TLS verification is OFF for this profile"))
        host = urlsplit(self.url).hostname or ""
        if self.url.startswith("http://") and not is_loopback_host(host):
            add(CoverageLine("warn", "plain http:// connection: the token is not encrypted"))
        add(self._token_line())
        for problem in self.problems:
            add(CoverageLine("warn", f"{problem.title}: {problem.detail}"))
        return out

    def _token_line(self) -> CoverageLine:
        if self.token_source == SOURCE_ENV:
            return CoverageLine(
                "ok", "token from GITLAB_TOKEN (environment), not stored by the console"
            )
        if self.token_source == SOURCE_DRILL:
            return CoverageLine("ok", "drill token (local simulated GitLab)")
        if self.token_source == SOURCE_KEYRING:
            return CoverageLine("ok", f"token in {self.keyring_label or 'the OS keyring'}")
        if self.keyring_label is None:
            return CoverageLine(
                "warn", "token not stored: keyring unavailable (memory only for this session)"
            )
        return CoverageLine("ok", "token entered for this session only (not saved)")


class _Fatal(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.title)
        self.problem = problem


def _instance_url(client: gitlab.Gitlab | httpx.Client) -> str:
    if isinstance(client, httpx.Client):
        return str(client.base_url).rstrip("/").removesuffix("/api/v4")
    return str(client.url)


def _timeout_of(client: gitlab.Gitlab | httpx.Client) -> float:
    timeout = client.timeout
    if isinstance(timeout, httpx.Timeout):
        timeout = timeout.read
    return float(timeout) if isinstance(timeout, int | float) and timeout else 30.0


def check_capabilities(
    gl: gitlab.Gitlab | httpx.Client,
    *,
    token_source: str = SOURCE_PROMPT,
    keyring_label: str | None = None,
    keyring_reason: str | None = None,
    timeout: float | None = None,
    ca_bundle: str | None = None,
    cancelled: CancelledFn | None = None,
    on_wait: WaitCallback | None = None,
    tls_verified: bool | None = None,
) -> Coverage:
    """Run the capability check (blocking; call from a thread). Never raises for HTTP errors.

    ``gl`` is a python-gitlab client (:func:`console.config.build_gitlab`) or a synchronous
    httpx one (:func:`console.config.build_httpx_sync`; give ``tls_verified`` with it, which a
    python-gitlab client tells itself). A client built there feeds its config's clock; the skew
    it learned is recorded in ``clock_skew_s``/``clock_note`` (another client: the local clock).
    """
    url = _instance_url(gl)
    clock = clock_of(gl) or ServerClock()
    if tls_verified is None:
        tls_verified = not isinstance(gl, httpx.Client) and gl.ssl_verify is not False
    cov = Coverage(
        url=url,
        token_source=token_source,
        keyring_label=keyring_label,
        keyring_reason=keyring_reason,
        tls_verified=tls_verified,
    )
    per_call = timeout if timeout is not None else _timeout_of(gl)

    def get(path: str, query: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """(status, json) for 2xx/403/404/405; raises _Fatal for 401 and network errors."""
        try:
            resp = get_response(
                gl,
                path,
                dict(query or {}),
                timeout=per_call,
                cancelled=cancelled,
                on_wait=on_wait,
            )
        except ProblemError as exc:  # a long Retry-After, or cancelled while waiting
            raise _Fatal(exc.problem) from None
        except Exception as exc:
            refused = refusal(exc)
            if refused is not None and refused[0] in (400, 403, 404, 405):
                return refused
            if refused is None and not (
                isinstance(exc, httpx.HTTPError | OSError) or is_client_error(exc)
            ):
                raise  # not a failure of the request: a defect, for the worker's handler
            raise _Fatal(describe_error(exc, url=url, ca_bundle=ca_bundle)) from None
        if hasattr(resp, "status_code"):  # httpx's or requests' response (duck-typed: requests
            # is not imported here)
            for name in _RATE_HEADERS:
                value = resp.headers.get(name)
                if value is not None:
                    cov.rate_limit[name] = _s(value, 40)
            try:
                return resp.status_code, resp.json()
            except ValueError:
                return resp.status_code, None
        return 200, resp

    try:
        _check(cov, get, clock)
    except _Fatal as fatal:
        cov.fatal = fatal.problem
    cov.clock_skew_s = clock.skew_seconds
    cov.clock_note = clock.skew_note()
    cov.checked_at = clock.now()
    return cov


def _check(cov: Coverage, get: Any, clock: ServerClock) -> None:
    """The five questions, asked in two rounds of concurrent requests (the instance, the actor
    and the token; then the admin API and the tier), their answers read in the same order as
    one at a time: the first fatal answer in that order decides, whatever arrived first."""
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="capability-check")
    try:
        meta = pool.submit(get, "/metadata")
        user = pool.submit(get, "/user")
        tok = pool.submit(get, "/personal_access_tokens/self")
        _first_round(cov, meta, user, tok, get)
        # The tier question needs GitLab's "now", learned from the first round's replies.
        since = format_iso(clock.now() - timedelta(days=1), "seconds")
        audit = pool.submit(get, "/audit_events", {"per_page": 1, "created_after": since})
        if cov.is_admin:
            _admin_api(cov, get)
        _tier(cov, audit.result())
    finally:
        # After a fatal answer nothing waits for the other requests (each has its timeout).
        pool.shutdown(wait=False, cancel_futures=True)


Reply = Future[tuple[int, Any]]


def _first_round(
    cov: Coverage, meta_reply: Reply, user_reply: Reply, tok_reply: Reply, get: Any
) -> None:
    # 1. instance
    status, meta = meta_reply.result()
    if status == 404:
        status, meta = get("/version")
    if status == 200 and isinstance(meta, dict):
        cov.version = _s(meta.get("version"), 40) or None
        cov.revision = _s(meta.get("revision"), 40) or None
        enterprise = meta.get("enterprise")
        cov.enterprise = enterprise if isinstance(enterprise, bool) else None
    elif status == 403:
        cov.problems.append(
            Problem(
                "Version unknown",
                "GitLab refused /metadata (403); the token may lack the read_api/api scope.",
                "Use a token with the api scope.",
                "scope",
                403,
            )
        )

    # 2. actor
    status, user = user_reply.result()
    if status != 200 or not isinstance(user, dict):
        raise _Fatal(
            Problem(
                "Cannot identify the token's user",
                f"GET /user answered {status}: the token may lack the api/read_user scope.",
                "Create a token with the api scope (and admin_mode if Admin Mode is on).",
                "scope",
                status,
            )
        )
    uid = user.get("id")
    cov.user_id = uid if isinstance(uid, int) else None
    cov.username = str(user.get("username", "")) or None
    cov.is_admin = user.get("is_admin") is True

    # 3. the token itself
    status, tok = tok_reply.result()
    if status == 200 and isinstance(tok, dict):
        scopes = tok.get("scopes")
        if isinstance(scopes, list):
            cov.scopes = tuple(str(s) for s in scopes)
        cov.token_name = _s(tok.get("name"), 60) or None
        cov.expires_at = parse_date(tok.get("expires_at"))


def _admin_api(cov: Coverage, get: Any) -> None:
    # 4. admin API (Admin Mode)
    for path in ADMIN_PROBES:
        status, _ = get(path.format(uid=cov.user_id or 1), {"per_page": 1})
        if status == 404:
            continue
        cov.admin_api = status == 200
        cov.admin_mode_blocked = status == 403
        break


def _tier(cov: Coverage, audit_reply: tuple[int, Any]) -> None:
    # 5. tier: does the audit events API answer?
    status, _ = audit_reply
    cov.audit_status = status
    if status == 200:
        cov.audit_events = True
        cov.tier = "premium_or_ultimate"
    else:
        cov.audit_events = False
        if status == 404 or cov.enterprise is False:
            cov.tier = "free"
