"""One target of a run: read, journal, send once, verify; and the ambiguous cases.

:class:`StepRunner` is shared by :func:`actions.runner.run_plan` and :mod:`actions.resume`.
Journal failures halt the run (nothing is sent that is not journaled); the breaker turns a
401, a run of 403s or a run of connection failures into a :class:`Halt` with one sentence.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import gitlab

from actions.breaker import Breaker
from actions.model import (
    JSON,
    NEEDS_HUMAN,
    Action,
    ApplyResult,
    Attention,
    JournalPort,
    State,
    StepEvent,
    StepOutcome,
    Target,
)
from actions.transport import HttpFailure
from console.api.retry import DEFAULT_POLICY, RetryPolicy, WaitTooLong
from console.sanitize import safe

__all__ = ["DEFAULT_RATE_LIMIT_WAIT", "MAX_429_PER_TARGET", "Halt", "StepRunner", "explain"]

DEFAULT_RATE_LIMIT_WAIT = 10.0
MAX_429_PER_TARGET = 5


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Halt(Exception):
    """Stop the whole run; the message is the one sentence shown."""


def explain(action: Action, exc: HttpFailure, phase: str = "write") -> str:
    """A clear sentence for a failed request, naming the request for a 403."""
    if exc.status == 403 and phase != "write":
        return (
            f"forbidden (403) on the read before the write ({safe(exc.request, kind='line')})"
            f": {exc.message}"
        )
    explain_fn = getattr(action, "explain", None)
    if callable(explain_fn):
        text = explain_fn(exc)
        if isinstance(text, str) and text:
            if exc.status == 403 and exc.request:
                text += f" [on the write {safe(exc.request, kind='line')}]"
            return text
    if exc.status == 404:
        return "not found (deleted, or not visible to this token)"
    if exc.status == 403:
        return f"forbidden (403) on the write ({safe(exc.request, kind='line')}): {exc.message}"
    if exc.status is None:
        return exc.message
    return f"HTTP {exc.status}: {exc.message}"


class StepRunner:
    def __init__(
        self,
        store: JournalPort,
        incident_id: int,
        gl: gitlab.Gitlab,
        *,
        dry_run: bool,
        on_step: Callable[[StepEvent], None] | None,
        cancelled: Callable[[], bool] | None,
        total: int,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 120.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        breaker: Breaker | None = None,
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
        self.policy = policy
        self.breaker = breaker or Breaker()

    # -- plumbing
    def emit(
        self,
        index: int,
        target: Target | None,
        phase: str,
        message: str = "",
        outcome: StepOutcome | None = None,
    ) -> None:
        if self._on_step is not None:
            self._on_step(StepEvent(index, self.total, target, phase, message, outcome))

    def is_cancelled(self) -> bool:
        return bool(self._cancelled and self._cancelled())

    def pause(
        self, index: int, target: Target | None, seconds: float, why: str = "rate limited"
    ) -> None:
        """Sleep ``seconds`` in slices, announcing it and stopping early on cancel."""
        self.emit(index, target, "paused", f"{why}: pausing {seconds:.0f} s")
        left = seconds
        while left > 0 and not self.is_cancelled():
            step = min(0.25, left)
            self.sleep(step)
            left -= step

    @staticmethod
    def journal_broken(exc: BaseException) -> str:
        return (
            f"the journal could not be written ({safe(exc, kind='line')}); "
            "no further actions will be sent"
        )

    def journal_update(self, entry_id: int, state: str, **fields: JSON) -> None:
        try:
            self.store.journal_update(entry_id, state, **fields)
        except Exception as exc:
            raise Halt(self.journal_broken(exc)) from None

    def journal_intent(
        self,
        action: Action,
        target: Target,
        pre: State | None,
        step: tuple[int, int] | None = None,
        **kw: JSON,
    ) -> int:
        # the writer's PID: resume gives another (killed) process's last request time to land
        kw["extra"] = {"pid": os.getpid()}
        try:
            return int(
                self.store.journal_intent(
                    self.incident_id,
                    action.name,
                    target.kind,
                    target.id,
                    target.safe_label,
                    action.params(),
                    pre.as_json() if pre is not None else None,
                    plan_step=step,
                    **kw,
                )
            )
        except Exception as exc:
            raise Halt(self.journal_broken(exc)) from None

    def step_set(self, plan_id: int, index: int, state: str, note: str | None) -> None:
        try:
            self.store.plan_step_set(plan_id, index, state, note)
        except Exception as exc:
            raise Halt(self.journal_broken(exc)) from None

    def open_steps(self, plan_id: int) -> int:
        plan = self.store.plan(plan_id)
        return len(plan.open_steps) if plan is not None else 0

    def failed_request(self, exc: HttpFailure, phase: str) -> None:
        """Count a failure in the breaker; halt the run when it trips."""
        sentence = self.breaker.failure(exc, phase)
        if sentence:
            raise Halt(sentence)

    def read(self, action: Action, index: int, target: Target, phase: str = "read") -> State:
        """Read with bounded 429 pauses (the one retry policy); the breaker sees failures."""
        attempt = 0
        while True:
            try:
                state = action.read_state(self.gl, target)
            except HttpFailure as exc:
                if exc.status != 429:
                    self.failed_request(exc, phase)
                    raise
                attempt += 1
                headers = (
                    {}
                    if exc.retry_after is None
                    else {"Retry-After": str(int(max(0.0, exc.retry_after)))}
                )
                try:
                    wait = self.policy.rate_limit_wait(attempt, headers)
                except WaitTooLong as long:
                    raise Halt(
                        f"GitLab asks the console to wait {long.seconds / 60:.0f} min "
                        f"({safe(exc.request, kind='line')}): run halted, the rest left "
                        "pending; resume later."
                    ) from None
                if wait is None or attempt >= MAX_429_PER_TARGET * 6:
                    raise HttpFailure(
                        429, "still rate limited after several pauses", request=exc.request
                    ) from None
                self.pause(index, target, wait)
                if self.is_cancelled():
                    raise
                continue
            return state

    # -- one target of a plan
    def run_target(
        self, action: Action, index: int, target: Target, step: tuple[int, int] | None = None
    ) -> StepOutcome:
        self.emit(index, target, "reading")
        try:
            pre = self.read(action, index, target)
        except HttpFailure as exc:
            return self.record_read_failure(action, index, target, exc, step)
        if action.desired(pre):
            msg = str(getattr(action, "already", "") or "already done; nothing sent")
            if self.dry_run:
                return StepOutcome(index, target, "noop_already", msg)
            # one committed record; nothing is sent, so there is nothing to resume
            eid = self.journal_intent(action, target, pre, step, state="noop_already")
            return StepOutcome(index, target, "noop_already", msg, eid)
        refusal = action.precheck(target, pre)
        if refusal:
            return StepOutcome(index, target, "refused", refusal)
        if self.dry_run:
            return StepOutcome(index, target, "would_do", f"would {action.title.lower()}")
        since = now_iso()
        eid = self.journal_intent(action, target, pre, step)
        return self.send_and_verify(action, index, target, eid, pre=pre, since=since)

    def record_read_failure(
        self,
        action: Action,
        index: int,
        target: Target,
        exc: HttpFailure,
        step: tuple[int, int] | None,
    ) -> StepOutcome:
        state = {404: "not_found", 403: "forbidden"}.get(exc.status or 0, "failed")
        msg = explain(action, exc, "read")
        if self.dry_run or state != "not_found":
            # nothing was about to be sent; a failed or refused read is reported, and the step
            # stays planned (resume tries it again once the token or the server is fixed)
            if step is not None:
                self.step_set(*step, "planned", f"not started: {msg}")
            return StepOutcome(index, target, state, msg, http_status=exc.status)
        eid = self.journal_intent(action, target, None, step)
        self.journal_update(
            eid,
            state,
            http_status=exc.status,
            request_id=exc.request_id,
            error=msg,
            t_done=now_iso(),
        )
        return StepOutcome(index, target, state, msg, eid, exc.status, exc.request_id)

    def send_and_verify(
        self,
        action: Action,
        index: int,
        target: Target,
        eid: int,
        *,
        resumed: bool = False,
        pre: State | None = None,
        since: str = "",
    ) -> StepOutcome:
        result: ApplyResult | None = None
        for _ in range(MAX_429_PER_TARGET):
            if self.is_cancelled():
                self.journal_update(
                    eid, "failed", error="cancelled before sending", t_done=now_iso()
                )
                return StepOutcome(index, target, "failed", "cancelled before sending", eid)
            self.emit(index, target, "sending")
            try:
                result = action.apply(self.gl, target)
                break
            except HttpFailure as exc:
                if exc.status == 429:
                    # rejected by the rate limiter before processing: pause, re-read, decide
                    wait = DEFAULT_RATE_LIMIT_WAIT if exc.retry_after is None else exc.retry_after
                    self.pause(
                        index, target, min(self.max_wait, max(0.0, wait)) + random.uniform(0, 0.25)
                    )
                    try:
                        now = self.read(action, index, target, "verify")
                    except HttpFailure as rexc:
                        return self.unknown(index, target, eid, rexc, "after a 429")
                    if action.desired(now):
                        return self.done(
                            index,
                            target,
                            eid,
                            now,
                            exc.status,
                            exc.request_id,
                            "done (verified after rate limit)",
                        )
                    continue
                return self.write_failed(action, index, target, eid, exc, pre, since)
        if result is None:
            self.journal_update(
                eid, "unknown", http_status=429, error="still rate limited; resume later"
            )
            return StepOutcome(index, target, "unknown", "still rate limited; resume later", eid)

        self.journal_update(
            eid,
            "sent",
            http_status=result.http_status,
            request_id=result.request_id,
            t_sent=now_iso(),
        )
        self.emit(index, target, "verifying")
        try:
            post = self.read(action, index, target, "verify")
        except HttpFailure as exc:
            out = self.unknown(index, target, eid, exc, "verifying")
            out.secret = result.secret
            return out
        if action.verified(post, result):
            msg = "done (verified after resume)" if resumed else "done (verified)"
            out = self.done(
                index,
                target,
                eid,
                post,
                result.http_status,
                result.request_id,
                msg,
                extra=result.extra,
            )
            out.secret = result.secret
            return out
        msg = "the server accepted the request but a read-back does not show the change"
        self.journal_update(eid, "failed", post_state=post.as_json(), error=msg, t_done=now_iso())
        return StepOutcome(
            index, target, "failed", msg, eid, result.http_status, result.request_id, result.secret
        )

    def write_failed(
        self,
        action: Action,
        index: int,
        target: Target,
        eid: int,
        exc: HttpFailure,
        pre: State | None,
        since: str,
    ) -> StepOutcome:
        if exc.status in (401, 403, 404):
            state = {401: "failed", 403: "forbidden", 404: "not_found"}[exc.status]
            msg = "token rejected (401)" if exc.status == 401 else explain(action, exc)
            self.journal_update(
                eid,
                state,
                http_status=exc.status,
                request_id=exc.request_id,
                error=msg,
                t_done=now_iso(),
            )
            self.failed_request(exc, "write")
            return StepOutcome(index, target, state, msg, eid, exc.status, exc.request_id)
        if exc.ambiguous:
            return self.read_back_after_ambiguous(action, index, target, eid, exc, pre, since)
        msg = explain(action, exc)
        self.journal_update(
            eid,
            "failed",
            http_status=exc.status,
            request_id=exc.request_id,
            error=msg,
            t_done=now_iso(),
        )
        return StepOutcome(index, target, "failed", msg, eid, exc.status, exc.request_id)

    def done(
        self,
        index: int,
        target: Target,
        eid: int,
        post: State,
        status: int | None,
        request_id: str | None,
        msg: str,
        extra: Mapping[str, JSON] | None = None,
        attention: Attention | None = None,
        resumed: bool = False,
    ) -> StepOutcome:
        post_state = post.as_json()
        if extra:
            post_state.update(extra)
        fields: dict[str, JSON] = {"post_state": post_state, "t_done": now_iso()}
        if status is not None:
            fields["http_status"] = status
        if request_id is not None:
            fields["request_id"] = request_id
        marks: dict[str, Any] = {}
        if attention is not None:
            marks["attention"] = attention.as_json()
            msg = f"{msg}; needs attention: {attention.text}"
        if resumed:
            marks["resumed"] = True
        if marks:
            fields["extra"] = marks
        self.journal_update(eid, "done", **fields)
        return StepOutcome(index, target, "done", msg, eid, status, request_id, attention=attention)

    def unknown(
        self, index: int, target: Target, eid: int, exc: HttpFailure, when: str
    ) -> StepOutcome:
        msg = f"outcome unknown ({when}: {exc.message}); resume will re-check"
        self.journal_update(
            eid, "unknown", http_status=exc.status, request_id=exc.request_id, error=msg
        )
        return StepOutcome(index, target, "unknown", msg, eid, exc.status, exc.request_id)

    def look_for_created(
        self, action: Action, target: Target, pre: State | None, since: str
    ) -> Attention | None:
        finder = getattr(action, "find_created", None)
        if not callable(finder):
            return None
        try:
            found = finder(self.gl, target, pre, since)
        except HttpFailure as exc:
            return Attention(
                f"could not check what the server created ({exc.message}); "
                "check the owner's tokens by hand",
                "",
                target,
            )
        return found if isinstance(found, Attention) else None

    def read_back_after_ambiguous(
        self,
        action: Action,
        index: int,
        target: Target,
        eid: int,
        exc: HttpFailure,
        pre: State | None = None,
        since: str = "",
    ) -> StepOutcome:
        """5xx / 409 / timeout / lost reply: the write may have happened. Read, then decide."""
        self.journal_update(
            eid, "unknown", http_status=exc.status, request_id=exc.request_id, error=exc.message
        )
        self.emit(index, target, "verifying", "ambiguous response; reading back")
        try:
            now = self.read(action, index, target, "verify")
        except HttpFailure as rexc:
            return self.unknown(index, target, eid, rexc, "read-back after an error")
        if action.desired(now):
            attention = (
                None if action.convergent else self.look_for_created(action, target, pre, since)
            )
            return self.done(
                index,
                target,
                eid,
                now,
                exc.status,
                exc.request_id,
                "done (verified by read-back after an ambiguous error)",
                attention=attention,
            )
        if action.observable:
            msg = f"not applied ({exc.message}); the server state is unchanged"
        else:
            msg = f"unknown whether it was applied ({exc.message}); a read cannot tell"
        extra: dict[str, JSON] = {}
        if not action.convergent:
            msg += f"; {NEEDS_HUMAN}: not re-sent automatically"
            extra["needs_human"] = True
        self.journal_update(
            eid,
            "failed",
            post_state=now.as_json(),
            http_status=exc.status,
            error=msg,
            t_done=now_iso(),
            **({"extra": extra} if extra else {}),
        )
        return StepOutcome(index, target, "failed", msg, eid, exc.status, exc.request_id)
