"""The journaled response-action engine: "nothing lost, nothing done twice".

Per target (security-and-reliability.md §3):

1. pre-read the target; already in the desired state → journal ``noop_already``, send nothing;
2. journal ``intent`` (committed, durable) *before* the request goes on the wire;
3. send the write once: ``obey_rate_limit=False``, no transient retries, an explicit timeout;
   journal ``sent`` with the HTTP status and GitLab's ``X-Request-Id``;
4. verify with a GET → ``done`` with ``post_state``, otherwise ``failed`` / ``unknown``.

Failure classes: 401 halts the run (our token may be revoked); 403/404 are recorded per target;
429 pauses (``Retry-After`` honoured, capped) and continues; 5xx, 409, timeouts and dropped
connections are ambiguous: read back, then decide; a write is never blindly repeated.

:func:`resume_pending` finishes what a crash left behind: every ``intent``/``sent``/``unknown``
entry is re-read; if the server already shows the desired state the entry becomes ``done``
without a second write; otherwise only *convergent* actions are re-issued, non-convergent ones
(rotate, password reset) are marked as needing a human.

No Textual or Rich here: callers get plain dataclasses and an ``on_step`` callback.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import gitlab
import gitlab.exceptions
import requests

from console.errors import parse_retry_after, redact_tokens
from console.sanitize import safe
from console.secret import Secret

JSON = Any
WRITE_TIMEOUT = 30.0
READ_TIMEOUT = 30.0
MAX_RATE_LIMIT_WAIT = 120.0
DEFAULT_RATE_LIMIT_WAIT = 10.0
MAX_429_PER_TARGET = 5

# Journal states (console.store): intent|sent|done|noop_already|not_found|forbidden|failed|unknown
PENDING_STATES = frozenset({"intent", "sent", "unknown"})
TERMINAL_STATES = frozenset({"done", "noop_already", "not_found", "forbidden", "failed"})
NEEDS_HUMAN = "needs human"


class ActionError(Exception):
    """Base for refusals raised before anything is sent."""


class ReadOnlyRefused(ActionError):
    """A mutating plan was submitted while the console is in read-only mode."""


# --------------------------------------------------------------------------------------------
# Data model


@dataclass(frozen=True, slots=True)
class Target:
    """One object an action applies to. ``label`` is raw server text: escape it before display."""

    kind: str  # "user" | "token"
    id: int
    label: str = ""
    flags: frozenset[str] = frozenset()
    info: Mapping[str, JSON] = field(default_factory=dict)

    @property
    def safe_label(self) -> str:
        return safe(self.label, kind="username")


@dataclass(frozen=True, slots=True)
class State:
    """What a GET says about a target; ``data`` is JSON-able and journaled as pre/post state."""

    data: Mapping[str, JSON]

    def get(self, key: str, default: JSON = None) -> JSON:
        return self.data.get(key, default)

    def as_json(self) -> dict[str, JSON]:
        return dict(self.data)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcome of one write. ``secret`` (new password / token) is shown once, never stored."""

    http_status: int | None
    request_id: str | None
    body: JSON = None
    secret: Secret | None = None
    extra: Mapping[str, JSON] = field(default_factory=dict)  # JSON-able, journaled in post_state


class HttpFailure(Exception):
    """A request that did not return 2xx (or never got a response)."""

    def __init__(
        self,
        status: int | None,
        message: str,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
        transport: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        self.transport = transport

    @property
    def ambiguous(self) -> bool:
        """The write may or may not have been applied: read back before deciding."""
        return self.transport or self.status is None or self.status >= 500 or self.status == 409


@runtime_checkable
class Action(Protocol):
    name: str
    title: str
    description: str
    target_kinds: frozenset[str]
    convergent: bool
    mutating: bool
    excludes_actor: bool
    observable: bool  # False when no read can show the effect (a new password)

    def params(self) -> dict[str, JSON]:
        """JSON-able parameters to journal (never a secret)."""
        ...

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State: ...

    def desired(self, state: State) -> bool: ...

    def precheck(self, target: Target, state: State) -> str | None:
        """A reason to refuse this target before anything is sent, or None."""
        ...

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult: ...

    def verified(self, state: State, result: ApplyResult) -> bool:
        """After a successful write: does the read-back confirm it?"""
        ...


class BaseAction:
    """Defaults for the :class:`Action` protocol; concrete actions override what differs."""

    name = "base"
    title = "Action"
    description = ""
    target_kinds: frozenset[str] = frozenset({"user"})
    convergent = True
    mutating = True
    excludes_actor = False
    observable = True
    already = "already done; nothing sent"
    resume_note = ""  # added to "done (verified after resume)", e.g. a lost one-time secret

    def params(self) -> dict[str, JSON]:
        return {}

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        raise NotImplementedError

    def desired(self, state: State) -> bool:
        raise NotImplementedError

    def precheck(self, target: Target, state: State) -> str | None:
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        raise NotImplementedError

    def verified(self, state: State, result: ApplyResult) -> bool:
        return self.desired(state)

    def explain(self, exc: HttpFailure) -> str | None:
        """A clear sentence for an error specific to this action, or None for the default."""
        return None


@dataclass(frozen=True)
class Plan:
    action: Action
    targets: tuple[Target, ...]
    excluded: tuple[tuple[Target, str], ...] = ()
    summary: str = ""

    @property
    def count(self) -> int:
        return len(self.targets)


@dataclass
class StepOutcome:
    """One target's result. ``state`` is a journal state or one of the non-journaled outcomes
    ``would_do`` / ``refused`` / ``skipped``."""

    index: int
    target: Target
    state: str
    message: str = ""
    journal_id: int | None = None
    http_status: int | None = None
    request_id: str | None = None
    secret: Secret | None = None

    @property
    def ok(self) -> bool:
        return self.state in {"done", "noop_already", "would_do"}


@dataclass(frozen=True)
class StepEvent:
    """Progress for the UI: ``phase`` is reading|sending|verifying|paused|finished."""

    index: int
    total: int
    target: Target | None
    phase: str
    message: str = ""
    outcome: StepOutcome | None = None


@dataclass
class RunResult:
    action: str
    dry_run: bool
    outcomes: list[StepOutcome] = field(default_factory=list)
    halted: str | None = None
    cancelled: bool = False
    head_hash: str | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.state] = out.get(o.state, 0) + 1
        return out

    def summary(self) -> str:
        words = {"noop_already": "already done", "would_do": "would do"}
        parts = [f"{n} {words.get(state, state.replace('_', ' '))}"
                 for state, n in sorted(self.counts().items())]
        text = ", ".join(parts) if parts else "nothing to do"
        if self.halted:
            text += f". Halted: {self.halted}"
        elif self.cancelled:
            text += ". Cancelled before the end."
        return text


# --------------------------------------------------------------------------------------------
# HTTP: one request, no hidden retries, headers captured (python-gitlab exceptions drop them)

_local = threading.local()


def _capture_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    _local.last = response


def _ensure_hook(gl: gitlab.Gitlab) -> None:
    hooks = gl.session.hooks.setdefault("response", [])
    if _capture_response not in hooks:
        hooks.append(_capture_response)


def _message(exc: gitlab.exceptions.GitlabError) -> str:
    msg = exc.error_message
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    # Redacted: a proxy or server that echoes the request would put our token in the journal.
    text = redact_tokens(msg if isinstance(msg, str) else repr(msg))
    return safe(text, kind="line", max_cells=200)


def http(
    gl: gitlab.Gitlab,
    verb: str,
    path: str,
    *,
    data: Mapping[str, JSON] | None = None,
    query: Mapping[str, JSON] | None = None,
    timeout: float = WRITE_TIMEOUT,
    read: bool = False,
) -> ApplyResult:
    """Send exactly one request (reads may retry transient errors twice).

    Returns the parsed JSON body (or None) with status and ``X-Request-Id``; raises
    :class:`HttpFailure` otherwise. Never follows python-gitlab's own 429 sleep.
    """
    _ensure_hook(gl)
    _local.last = None
    try:
        resp = gl.http_request(
            verb,
            path,
            query_data=dict(query) if query else None,
            post_data=dict(data) if data is not None else None,
            timeout=timeout,
            obey_rate_limit=False,
            retry_transient_errors=read,
            max_retries=2 if read else 0,
        )
    except gitlab.exceptions.GitlabError as exc:
        last: requests.Response | None = getattr(_local, "last", None)
        headers: Mapping[str, str] = last.headers if last is not None else {}
        raise HttpFailure(
            exc.response_code,
            _message(exc),
            request_id=headers.get("X-Request-Id"),
            retry_after=parse_retry_after(headers) if exc.response_code == 429 else None,
        ) from None
    except (requests.Timeout, requests.ConnectionError, requests.RequestException) as exc:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        raise HttpFailure(None, f"{verb.upper()} {path}: {kind}", transport=True) from None
    body: JSON = None
    if resp.content and "json" in resp.headers.get("Content-Type", ""):
        try:
            body = resp.json()
        except ValueError:
            body = None
    return ApplyResult(resp.status_code, resp.headers.get("X-Request-Id"), body)


def get_json(gl: gitlab.Gitlab, path: str, **query: JSON) -> JSON:
    return http(gl, "get", path, query=query or None, timeout=READ_TIMEOUT, read=True).body


# --------------------------------------------------------------------------------------------
# The run


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class _Halt(Exception):
    pass


class _Runner:
    def __init__(
        self,
        store: Any,
        incident_id: int,
        gl: gitlab.Gitlab,
        *,
        dry_run: bool,
        on_step: Callable[[StepEvent], None] | None,
        cancelled: Callable[[], bool] | None,
        total: int,
        sleep: Callable[[float], None],
        max_wait: float,
    ) -> None:
        self.store = store
        self.incident_id = incident_id
        self.gl = gl
        self.dry_run = dry_run
        self._on_step = on_step
        self._cancelled = cancelled
        self.total = total
        self.sleep = sleep
        self.max_wait = max_wait

    # -- plumbing
    def emit(self, index: int, target: Target | None, phase: str, message: str = "",
             outcome: StepOutcome | None = None) -> None:
        if self._on_step is not None:
            self._on_step(StepEvent(index, self.total, target, phase, message, outcome))

    def is_cancelled(self) -> bool:
        return bool(self._cancelled and self._cancelled())

    def pause(self, index: int, target: Target | None, seconds: float | None) -> None:
        wait = DEFAULT_RATE_LIMIT_WAIT if seconds is None else seconds
        wait = min(self.max_wait, max(0.0, wait)) + random.uniform(0, 0.25)
        self.emit(index, target, "paused", f"rate limited: pausing {wait:.0f} s")
        left = wait
        while left > 0 and not self.is_cancelled():
            step = min(0.25, left)
            self.sleep(step)
            left -= step

    def journal_update(self, entry_id: int, state: str, **fields: JSON) -> None:
        try:
            self.store.journal_update(entry_id, state, **fields)
        except Exception as exc:
            raise _Halt(f"the journal could not be written ({safe(exc, kind='line')}); "
                        "no further actions will be sent") from None

    def journal_intent(self, action: Action, target: Target, pre: State | None,
                       **kw: JSON) -> int:
        try:
            return int(self.store.journal_intent(
                self.incident_id, action.name, target.kind, target.id, target.safe_label,
                action.params(), pre.as_json() if pre is not None else None, **kw,
            ))
        except Exception as exc:
            raise _Halt(f"the journal could not be written ({safe(exc, kind='line')}); "
                        "no further actions will be sent") from None

    def read(self, action: Action, index: int, target: Target) -> State:
        """Read with 429 pauses; 401 halts; other failures propagate as HttpFailure."""
        for _ in range(MAX_429_PER_TARGET):
            try:
                return action.read_state(self.gl, target)
            except HttpFailure as exc:
                if exc.status == 401:
                    raise _Halt("GitLab rejected the token (401): it may have been revoked. "
                                "Nothing further was sent.") from None
                if exc.status != 429:
                    raise
                self.pause(index, target, exc.retry_after)
                if self.is_cancelled():
                    raise
        raise HttpFailure(429, "still rate limited after several pauses")

    # -- one target of a plan
    def run_target(self, action: Action, index: int, target: Target) -> StepOutcome:
        self.emit(index, target, "reading")
        try:
            pre = self.read(action, index, target)
        except HttpFailure as exc:
            return self.record_read_failure(action, index, target, exc)
        if action.desired(pre):
            msg = str(getattr(action, "already", "") or "already done; nothing sent")
            if self.dry_run:
                return StepOutcome(index, target, "noop_already", msg)
            # one committed record; nothing is sent, so there is nothing to resume
            eid = self.journal_intent(action, target, pre, state="noop_already")
            return StepOutcome(index, target, "noop_already", msg, eid)
        refusal = action.precheck(target, pre)
        if refusal:
            return StepOutcome(index, target, "refused", refusal)
        if self.dry_run:
            return StepOutcome(index, target, "would_do", f"would {action.title.lower()}")
        eid = self.journal_intent(action, target, pre)
        return self.send_and_verify(action, index, target, eid)

    def record_read_failure(self, action: Action, index: int, target: Target,
                            exc: HttpFailure) -> StepOutcome:
        state = {404: "not_found", 403: "forbidden"}.get(exc.status or 0, "failed")
        msg = _explain(action, exc)
        if self.dry_run or state == "failed":
            # nothing was about to be sent; a failed read is reported, not journaled
            return StepOutcome(index, target, state, msg, http_status=exc.status)
        eid = self.journal_intent(action, target, None)
        self.journal_update(eid, state, http_status=exc.status, request_id=exc.request_id,
                            error=msg, t_done=_now())
        return StepOutcome(index, target, state, msg, eid, exc.status, exc.request_id)

    def send_and_verify(self, action: Action, index: int, target: Target,
                        eid: int, *, resumed: bool = False) -> StepOutcome:
        result: ApplyResult | None = None
        for _ in range(MAX_429_PER_TARGET):
            if self.is_cancelled():
                self.journal_update(eid, "failed", error="cancelled before sending", t_done=_now())
                return StepOutcome(index, target, "failed", "cancelled before sending", eid)
            self.emit(index, target, "sending")
            try:
                result = action.apply(self.gl, target)
                break
            except HttpFailure as exc:
                if exc.status == 429:
                    # rejected by the rate limiter before processing: pause, re-read, decide
                    self.pause(index, target, exc.retry_after)
                    try:
                        now = self.read(action, index, target)
                    except HttpFailure as rexc:
                        return self.unknown(index, target, eid, rexc, "after a 429")
                    if action.desired(now):
                        return self.done(index, target, eid, now, exc.status, exc.request_id,
                                         "done (verified after rate limit)")
                    continue
                if exc.status == 401:
                    self.journal_update(eid, "failed", http_status=401, request_id=exc.request_id,
                                        error="token rejected (401)", t_done=_now())
                    raise _Halt("GitLab rejected the token (401): it may have been revoked. "
                                "Nothing further was sent.") from None
                if exc.status in (403, 404):
                    state = "forbidden" if exc.status == 403 else "not_found"
                    msg = _explain(action, exc)
                    self.journal_update(eid, state, http_status=exc.status,
                                        request_id=exc.request_id, error=msg, t_done=_now())
                    return StepOutcome(index, target, state, msg, eid, exc.status, exc.request_id)
                if exc.ambiguous:
                    return self.read_back_after_ambiguous(action, index, target, eid, exc)
                msg = _explain(action, exc)
                self.journal_update(eid, "failed", http_status=exc.status,
                                    request_id=exc.request_id, error=msg, t_done=_now())
                return StepOutcome(index, target, "failed", msg, eid, exc.status, exc.request_id)
        if result is None:
            self.journal_update(eid, "unknown", http_status=429,
                                error="still rate limited; resume later", t_done=_now())
            return StepOutcome(index, target, "unknown", "still rate limited; resume later", eid)

        self.journal_update(eid, "sent", http_status=result.http_status,
                            request_id=result.request_id, t_sent=_now())
        self.emit(index, target, "verifying")
        try:
            post = self.read(action, index, target)
        except HttpFailure as exc:
            out = self.unknown(index, target, eid, exc, "verifying")
            out.secret = result.secret
            return out
        if action.verified(post, result):
            msg = "done (verified after resume)" if resumed else "done (verified)"
            out = self.done(index, target, eid, post, result.http_status, result.request_id, msg,
                            extra=result.extra)
            out.secret = result.secret
            return out
        msg = "the server accepted the request but a read-back does not show the change"
        self.journal_update(eid, "failed", post_state=post.as_json(), error=msg, t_done=_now())
        return StepOutcome(index, target, "failed", msg, eid, result.http_status,
                           result.request_id, result.secret)

    def done(self, index: int, target: Target, eid: int, post: State, status: int | None,
             request_id: str | None, msg: str, extra: Mapping[str, JSON] | None = None,
             ) -> StepOutcome:
        post_state = post.as_json()
        if extra:
            post_state.update(extra)
        fields: dict[str, JSON] = {"post_state": post_state, "t_done": _now()}
        if status is not None:
            fields["http_status"] = status
        if request_id is not None:
            fields["request_id"] = request_id
        self.journal_update(eid, "done", **fields)
        return StepOutcome(index, target, "done", msg, eid, status, request_id)

    def unknown(self, index: int, target: Target, eid: int, exc: HttpFailure,
                when: str) -> StepOutcome:
        msg = f"outcome unknown ({when}: {exc.message}); resume will re-check"
        self.journal_update(eid, "unknown", http_status=exc.status, request_id=exc.request_id,
                            error=msg)
        return StepOutcome(index, target, "unknown", msg, eid, exc.status, exc.request_id)

    def read_back_after_ambiguous(self, action: Action, index: int, target: Target, eid: int,
                                  exc: HttpFailure) -> StepOutcome:
        """5xx / 409 / timeout / dropped connection: the write may have happened. Read, decide."""
        self.journal_update(eid, "unknown", http_status=exc.status, request_id=exc.request_id,
                            error=exc.message)
        self.emit(index, target, "verifying", "ambiguous response; reading back")
        try:
            now = self.read(action, index, target)
        except HttpFailure as rexc:
            return self.unknown(index, target, eid, rexc, "read-back after an error")
        if action.desired(now):
            return self.done(index, target, eid, now, exc.status, exc.request_id,
                             "done (verified by read-back after an ambiguous error)")
        if action.observable:
            msg = f"not applied ({exc.message}); the server state is unchanged"
        else:
            msg = f"unknown whether it was applied ({exc.message}); a read cannot tell"
        extra: dict[str, JSON] = {}
        if not action.convergent:
            msg += f"; {NEEDS_HUMAN}: not re-sent automatically"
            extra["needs_human"] = True
        self.journal_update(eid, "failed", post_state=now.as_json(), http_status=exc.status,
                            error=msg, t_done=_now(), **({"extra": extra} if extra else {}))
        return StepOutcome(index, target, "failed", msg, eid, exc.status, exc.request_id)


def _explain(action: Action, exc: HttpFailure) -> str:
    explain = getattr(action, "explain", None)
    if callable(explain):
        text = explain(exc)
        if isinstance(text, str) and text:
            return text
    if exc.status == 404:
        return "not found (deleted, or not visible to this token)"
    if exc.status == 403:
        return f"forbidden: {exc.message}"
    if exc.status is None:
        return exc.message
    return f"HTTP {exc.status}: {exc.message}"


def actor_id_of(gl: gitlab.Gitlab) -> int | None:
    """The id of the account whose token ``gl`` uses (``GET /user``)."""
    try:
        body = get_json(gl, "/user")
    except HttpFailure:
        return None
    if isinstance(body, Mapping) and isinstance(body.get("id"), int):
        return int(body["id"])
    return None


def own_token_id(gl: gitlab.Gitlab) -> int | None:
    """The id of the token ``gl`` authenticates with (``GET /personal_access_tokens/self``)."""
    try:
        body = get_json(gl, "/personal_access_tokens/self")
    except HttpFailure:
        return None
    if isinstance(body, Mapping) and isinstance(body.get("id"), int):
        return int(body["id"])
    return None


def head_hash(store: Any, incident_id: int) -> str | None:
    """The journal's head hash for the incident, if the store exposes one."""
    for name in ("journal_head", "journal_head_hash"):
        fn = getattr(store, name, None)
        if callable(fn):
            value = fn(incident_id)
            return str(value) if value else None
    fn = getattr(store, "verify_chain", None)
    if callable(fn):
        res = fn(incident_id)
        for attr in ("head", "head_hash"):
            value = getattr(res, attr, None)
            if isinstance(value, str):
                return value
        if isinstance(res, Mapping):
            value = res.get("head") or res.get("head_hash")
            return str(value) if value else None
        if isinstance(res, tuple) and len(res) >= 2 and isinstance(res[1], str):
            return res[1]
    return None


def run_plan(
    store: Any,
    incident_id: int,
    gl: gitlab.Gitlab,
    plan: Plan,
    *,
    dry_run: bool = False,
    read_only: bool = False,
    on_step: Callable[[StepEvent], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    actor_id: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
) -> RunResult:
    """Run ``plan`` target by target (blocking; call from a worker thread)."""
    action = plan.action
    if read_only and action.mutating and not dry_run:
        raise ReadOnlyRefused(
            f"{action.title} changes GitLab and the console is in read-only mode; "
            "restart without --read-only to act (a dry run is still possible)."
        )
    result = RunResult(action=action.name, dry_run=dry_run)
    targets: list[Target] = list(plan.targets)
    runner = _Runner(store, incident_id, gl, dry_run=dry_run, on_step=on_step,
                     cancelled=cancelled, total=len(targets), sleep=sleep, max_wait=max_wait)
    if action.excludes_actor and any(t.kind == "user" for t in targets):
        if actor_id is None:
            actor_id = actor_id_of(gl)
        if actor_id is None:
            result.halted = ("could not identify the account this token belongs to (GET /user); "
                             "refusing to run a plan that must exclude it")
            return result
    for index, target in enumerate(targets):
        if runner.is_cancelled():
            result.cancelled = True
            for rest, t in enumerate(targets[index:], start=index):
                result.outcomes.append(StepOutcome(rest, t, "skipped", "cancelled"))
            break
        if target.kind not in action.target_kinds:
            out = StepOutcome(index, target, "refused", f"{action.title} does not apply to a "
                              f"{target.kind}")
        elif action.excludes_actor and target.kind == "user" and target.id == actor_id:
            out = StepOutcome(index, target, "refused",
                              "excluded: this is the account the console is acting as")
        else:
            try:
                out = runner.run_target(action, index, target)
            except _Halt as halt:
                result.halted = str(halt)
                out = StepOutcome(index, target, "failed", str(halt))
                result.outcomes.append(out)
                runner.emit(index, target, "finished", out.message, out)
                for rest, t in enumerate(targets[index + 1:], start=index + 1):
                    result.outcomes.append(StepOutcome(rest, t, "skipped", "run halted"))
                break
        result.outcomes.append(out)
        runner.emit(index, target, "finished", out.message, out)
    if not dry_run:
        result.head_hash = head_hash(store, incident_id)
    return result


# --------------------------------------------------------------------------------------------
# Resume

ActionFactory = Callable[[Mapping[str, JSON]], Action]
_REGISTRY: dict[str, ActionFactory] = {}


def register(name: str, factory: ActionFactory) -> None:
    """Register how to rebuild an action from its journaled name and params (for resume)."""
    _REGISTRY[name] = factory


def action_for(name: str, params: Mapping[str, JSON] | None) -> Action | None:
    factory = _REGISTRY.get(name)
    return factory(params or {}) if factory is not None else None


def _field(entry: Any, name: str, default: JSON = None) -> JSON:
    if isinstance(entry, Mapping):
        return entry.get(name, default)
    return getattr(entry, name, default)


def resume_pending(
    store: Any,
    incident_id: int,
    gl: gitlab.Gitlab,
    *,
    on_step: Callable[[StepEvent], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
    read_only: bool = False,
) -> RunResult:
    """Settle every journal entry a crash left in ``intent``/``sent``/``unknown``.

    Desired state already reached → ``done`` ("verified after resume"), no write. Not reached →
    re-issued once for convergent actions only; non-convergent actions are marked ``failed`` with
    "needs human" and never re-sent automatically. In read-only mode nothing is re-sent.
    """
    import actions  # noqa: F401  (registers the built-in actions)

    entries = list(store.journal_pending(incident_id))
    result = RunResult(action="resume", dry_run=False)
    runner = _Runner(store, incident_id, gl, dry_run=False, on_step=on_step, cancelled=cancelled,
                     total=len(entries), sleep=sleep, max_wait=max_wait)
    for index, entry in enumerate(entries):
        eid = int(_field(entry, "id"))
        target = Target(
            kind=str(_field(entry, "target_type", "user")),
            id=int(_field(entry, "target_id")),
            label=str(_field(entry, "target_label", "") or ""),
        )
        if runner.is_cancelled():
            result.cancelled = True
            break
        params = _field(entry, "params", {}) or {}
        action = action_for(str(_field(entry, "action")), params)
        if action is None:
            msg = f"{NEEDS_HUMAN}: unknown action {safe(_field(entry, 'action'))!s}"
            runner.journal_update(eid, "failed", error=msg, t_done=_now(),
                                  extra={"needs_human": True})
            out = StepOutcome(index, target, "failed", msg, eid)
        else:
            try:
                out = _resume_one(runner, action, index, target, eid, read_only=read_only)
            except _Halt as halt:
                result.halted = str(halt)
                result.outcomes.append(StepOutcome(index, target, "unknown", str(halt), eid))
                break
        result.outcomes.append(out)
        runner.emit(index, target, "finished", out.message, out)
    result.head_hash = head_hash(store, incident_id)
    return result


def _resume_one(runner: _Runner, action: Action, index: int, target: Target, eid: int,
                *, read_only: bool) -> StepOutcome:
    runner.emit(index, target, "reading", "re-reading after a crash")
    try:
        now = runner.read(action, index, target)
    except HttpFailure as exc:
        if exc.status in (403, 404):
            state = "forbidden" if exc.status == 403 else "not_found"
            msg = _explain(action, exc)
            runner.journal_update(eid, state, http_status=exc.status, error=msg, t_done=_now())
            return StepOutcome(index, target, state, msg, eid, exc.status)
        return runner.unknown(index, target, eid, exc, "re-reading")
    if action.desired(now):
        msg = "done (verified after resume)"
        note = getattr(action, "resume_note", "")
        if note:
            msg += f"; {note}"
        return runner.done(index, target, eid, now, None, None, msg)
    if not action.convergent:
        msg = (f"{NEEDS_HUMAN}: {action.title.lower()} is not safe to repeat and the server does "
               "not show it as done; check GitLab and act by hand")
        runner.journal_update(eid, "failed", post_state=now.as_json(), error=msg, t_done=_now(),
                              extra={"needs_human": True})
        return StepOutcome(index, target, "failed", msg, eid)
    if read_only:
        msg = "not done on the server; left pending (read-only mode sends nothing)"
        return StepOutcome(index, target, "unknown", msg, eid)
    refusal = action.precheck(target, now)
    if refusal:
        msg = f"not re-sent: {refusal}"
        runner.journal_update(eid, "failed", post_state=now.as_json(), error=msg, t_done=_now())
        return StepOutcome(index, target, "failed", msg, eid)
    return runner.send_and_verify(action, index, target, eid, resumed=True)


__all__ = [
    "PENDING_STATES",
    "TERMINAL_STATES",
    "Action",
    "ActionError",
    "ApplyResult",
    "BaseAction",
    "HttpFailure",
    "Plan",
    "ReadOnlyRefused",
    "RunResult",
    "State",
    "StepEvent",
    "StepOutcome",
    "Target",
    "action_for",
    "actor_id_of",
    "get_json",
    "head_hash",
    "http",
    "own_token_id",
    "register",
    "resume_pending",
    "run_plan",
]
