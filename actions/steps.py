"""One target of a run: read, journal, send once, verify; and the ambiguous cases.

:class:`StepRunner` is shared by :func:`actions.runner.run_plan` and :mod:`actions.resume`.
Journal failures halt the run (nothing is sent that is not journaled); the breaker turns a
401, a run of 403s or a run of connection failures into a :class:`Halt` with one sentence.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from actions.model import (
    JSON,
    NEEDS_HUMAN,
    Action,
    ApplyResult,
    Attention,
    State,
    StepOutcome,
    Target,
)
from actions.step_base import (
    DEFAULT_RATE_LIMIT_WAIT,
    MAX_429_PER_TARGET,
    Halt,
    StepPlumbing,
    explain,
    now_iso,
)
from actions.transport import HttpFailure

__all__ = [
    "DEFAULT_RATE_LIMIT_WAIT",
    "MAX_429_PER_TARGET",
    "Halt",
    "StepRunner",
    "explain",
    "now_iso",
]


class StepRunner(StepPlumbing):
    """Read, journal, send once and verify one target."""

    def run_target(
        self, action: Action, index: int, target: Target, step: tuple[int, int] | None = None
    ) -> StepOutcome:
        self.emit(index, target, "reading")
        try:
            pre = self.read(action, index, target)
        except HttpFailure as exc:
            return self.record_read_failure(action, index, target, exc, step)
        if action.desired(pre):
            msg = action.already or "already done; nothing sent"
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
        try:
            found = action.find_created(self.gl, target, pre, since)
        except HttpFailure as exc:
            return Attention(
                f"could not check what the server created ({exc.message}); "
                "check the owner's tokens by hand",
                "",
                target,
            )
        return found

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
