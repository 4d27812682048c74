"""The plumbing every step shares: journal writes that halt on failure, progress events,
cancellable pauses, the breaker, the read before a write, and the sentence for a failed request.

:class:`StepPlumbing` is the base of :class:`actions.steps.StepRunner`; nothing here sends a
write, so the send-once logic of a step reads in one place.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import gitlab

from actions.breaker import Breaker
from actions.model import JSON, Action, JournalPort, State, StepEvent, StepOutcome, Target
from actions.transport import HttpFailure
from console import timeutil
from console.api.retry import DEFAULT_POLICY, RetryPolicy, WaitTooLong
from console.sanitize import safe

__all__ = [
    "DEFAULT_RATE_LIMIT_WAIT",
    "MAX_429_PER_TARGET",
    "Halt",
    "StepPlumbing",
    "explain",
    "now_iso",
]

DEFAULT_RATE_LIMIT_WAIT = 10.0
MAX_429_PER_TARGET = 5


def now_iso() -> str:
    return timeutil.now().isoformat(timespec="milliseconds")


class Halt(Exception):
    """Stop the whole run; the message is the one sentence shown."""


def explain(action: Action, exc: HttpFailure, phase: str = "write") -> str:
    """A clear sentence for a failed request, naming the request for a 403."""
    if exc.status == 403 and phase != "write":
        return (
            f"forbidden (403) on the read before the write ({safe(exc.request, kind='line')})"
            f": {exc.message}"
        )
    text = action.explain(exc)
    if text:
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


class StepPlumbing:
    """State and journal plumbing of a run; the step logic is in the subclass."""

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
