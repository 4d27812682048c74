"""Finish what a crash, a kill, a halt or a cancel left behind, and show the plan while doing it.

:func:`resume_pending` settles every journal entry left in flight (``intent``/``sent``/
``unknown``): already in the desired state → ``done`` ("verified after resume"), no write; not
reached → re-issued once for convergent actions only; non-convergent ones go to a human.
:func:`finish_plans` then runs the steps of open plans that never started; :func:`resume` does
both. :func:`actions.open_plans.plan_views` shows each step's state. Actions are rebuilt
through a :class:`~actions.registry.Registry` passed in (this module never imports the package
above it).

Only the console holding the incident's writer lock re-checks or re-sends anything: another
console's in-flight entries are its own.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import gitlab

from actions.breaker import Breaker
from actions.model import (
    NEEDS_HUMAN,
    Action,
    JournalPort,
    RunResult,
    StepEvent,
    StepOutcome,
    Target,
)
from actions.registry import DEFAULT_REGISTRY, Registry
from actions.runner import MAX_RATE_LIMIT_WAIT, head_hash, run_steps
from actions.steps import Halt, StepRunner, explain, now_iso
from actions.transport import HttpFailure
from console import timeutil
from console.sanitize import safe
from console.store.journal_model import JournalEntry
from console.store.lock import WriterElsewhere, holder_of, writer
from console.timeutil import parse_ts

#: how long a request sent just before a crash is given to land before resume re-reads
SETTLE_S = 5.0

__all__ = ["SETTLE_S", "finish_plans", "resume", "resume_pending"]


@contextlib.contextmanager
def _may_act(store: JournalPort, incident_id: int, read_only: bool) -> Iterator[None]:
    """The writer lock (or, read-only, proof that nobody else holds it)."""
    if read_only:
        holder = holder_of(store.path, incident_id)
        if holder is not None and holder.pid and holder.pid != _pid():
            raise WriterElsewhere(holder)
        yield
        return
    with writer(store.path, incident_id):
        yield


def _pid() -> int:
    return os.getpid()


def _in_flight_for(entry: JournalEntry, settle: float) -> float:
    """Seconds left before a crashed process's last request has surely landed (0 if none)."""
    extra = entry.extra or {}
    if entry.state != "intent" or extra.get("pid") in (None, os.getpid()):
        return 0.0
    started = parse_ts(entry.t_intent)
    if started is None:
        return 0.0
    age = (timeutil.now() - started).total_seconds()
    return max(0.0, min(settle, settle - age))


def _target_of(entry: JournalEntry) -> Target:
    return Target(
        kind=str(entry.target_type or "user"),
        id=int(entry.target_id),
        label=str(entry.target_label or ""),
    )


def resume_pending(
    store: JournalPort,
    incident_id: int,
    gl: gitlab.Gitlab,
    *,
    on_step: Callable[[StepEvent], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
    read_only: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    settle: float = SETTLE_S,
) -> RunResult:
    """Settle every entry left in flight; raises ``WriterElsewhere`` if another console acts.

    An ``intent`` written by another (crashed) process less than ``settle`` seconds ago may
    still be on the wire: its request is given the rest of that time to land before the
    re-read, so that a re-send never races the original.
    """
    with _may_act(store, incident_id, read_only):
        entries = list(store.journal_pending(incident_id))
        result = RunResult(action="resume", dry_run=False)
        runner = StepRunner(
            store,
            incident_id,
            gl,
            dry_run=False,
            on_step=on_step,
            cancelled=cancelled,
            total=len(entries),
            sleep=sleep,
            max_wait=max_wait,
            breaker=Breaker(),
        )
        wait = max((_in_flight_for(e, settle) for e in entries), default=0.0)
        if wait > 0:
            runner.pause(0, None, wait, "waiting for a request that may still be in flight")
        for index, entry in enumerate(entries):
            eid = int(entry.id)
            target = _target_of(entry)
            if runner.is_cancelled():
                result.cancelled = True
                break
            action = registry.action_for(str(entry.action), entry.params or {})
            try:
                if action is None:
                    msg = f"{NEEDS_HUMAN}: unknown action {safe(entry.action)!s}"
                    runner.journal_update(
                        eid, "failed", error=msg, t_done=now_iso(), extra={"needs_human": True}
                    )
                    out = StepOutcome(index, target, "failed", msg, eid)
                else:
                    out = _resume_one(
                        runner,
                        action,
                        index,
                        target,
                        eid,
                        since=str(entry.t_intent or ""),
                        read_only=read_only,
                    )
            except Halt as halt:
                result.halted = str(halt)
                result.outcomes.append(StepOutcome(index, target, "unknown", str(halt), eid))
                break
            result.outcomes.append(out)
            runner.emit(index, target, "finished", out.message, out)
        result.head_hash = head_hash(store, incident_id)
    return result


def _resume_one(
    runner: StepRunner,
    action: Action,
    index: int,
    target: Target,
    eid: int,
    *,
    since: str,
    read_only: bool,
) -> StepOutcome:
    runner.emit(index, target, "reading", "re-reading after a crash")
    try:
        now = runner.read(action, index, target, "verify")
    except HttpFailure as exc:
        if exc.status in (403, 404):
            state = "forbidden" if exc.status == 403 else "not_found"
            msg = explain(action, exc, "verify")
            runner.journal_update(eid, state, http_status=exc.status, error=msg, t_done=now_iso())
            return StepOutcome(index, target, state, msg, eid, exc.status)
        return runner.unknown(index, target, eid, exc, "re-reading")
    if action.desired(now):
        msg = "done (verified after resume)"
        note = action.resume_note
        attention = None
        if not action.convergent:
            attention = runner.look_for_created(action, target, None, since)
        if note and attention is None:
            msg += f"; {note}"
        elif attention is not None:
            msg += "; the replacement's value was lost with the crash"
        return runner.done(
            index, target, eid, now, None, None, msg, attention=attention, resumed=True
        )
    if not action.convergent:
        msg = (
            f"{NEEDS_HUMAN}: {action.title.lower()} is not safe to repeat and the server does "
            "not show it as done; check GitLab and act by hand"
        )
        runner.journal_update(
            eid,
            "failed",
            post_state=now.as_json(),
            error=msg,
            t_done=now_iso(),
            extra={"needs_human": True},
        )
        return StepOutcome(index, target, "failed", msg, eid)
    if read_only:
        msg = "not done on the server; left pending (read-only mode sends nothing)"
        return StepOutcome(index, target, "unknown", msg, eid)
    refusal = action.precheck(target, now)
    if refusal:
        msg = f"not re-sent: {refusal}"
        runner.journal_update(eid, "failed", post_state=now.as_json(), error=msg, t_done=now_iso())
        return StepOutcome(index, target, "failed", msg, eid)
    return runner.send_and_verify(action, index, target, eid, resumed=True, since=since)


def finish_plans(
    store: JournalPort,
    incident_id: int,
    gl: gitlab.Gitlab,
    *,
    on_step: Callable[[StepEvent], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    actor_id: int | None = None,
    registry: Registry = DEFAULT_REGISTRY,
) -> RunResult:
    """Run every open plan's unstarted steps (after :func:`resume_pending`)."""
    result = RunResult(action="resume", dry_run=False)
    with writer(store.path, incident_id):
        for plan in store.plans_open(incident_id):
            action = registry.action_for(plan.action, plan.params)
            if action is None:  # never offered again: this console cannot rebuild it
                for step in plan.open_steps:
                    store.plan_step_set(
                        plan.id,
                        step.index,
                        "refused",
                        f"{NEEDS_HUMAN}: unknown action {safe(plan.action)}",
                    )
                continue
            steps = [
                (s.index, Target(s.target_type, int(s.target_id), s.target_label))
                for s in plan.open_steps
            ]
            if action.excludes_actor and actor_id is None:
                from actions.runner import actor_id_of

                actor_id = actor_id_of(gl)
                if actor_id is None:
                    result.halted = (
                        "could not identify the account this token belongs to "
                        "(GET /user); the rest of the plan is left pending"
                    )
                    break
            runner = StepRunner(
                store,
                incident_id,
                gl,
                dry_run=False,
                on_step=on_step,
                cancelled=cancelled,
                total=len(steps),
                sleep=sleep,
            )
            part = RunResult(action=plan.action, dry_run=False, plan_id=plan.id)
            run_steps(runner, action, steps, part, plan_id=plan.id, actor_id=actor_id)
            result.outcomes.extend(part.outcomes)
            result.left_pending += runner.open_steps(plan.id)
            if part.halted or part.cancelled:
                result.halted, result.cancelled = part.halted, part.cancelled
                break
        result.head_hash = head_hash(store, incident_id)
    return result


def resume(
    store: JournalPort,
    incident_id: int,
    gl: gitlab.Gitlab,
    *,
    on_step: Callable[[StepEvent], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    registry: Registry = DEFAULT_REGISTRY,
    settle: float = SETTLE_S,
    read_only: bool = False,
) -> RunResult:
    """Settle what was in flight, then finish the plans: the whole "resume" key.

    In read-only mode entries are re-checked but nothing is sent, and plans stay open.
    """
    first = resume_pending(
        store,
        incident_id,
        gl,
        on_step=on_step,
        cancelled=cancelled,
        sleep=sleep,
        registry=registry,
        settle=settle,
        read_only=read_only,
    )
    if first.halted or first.cancelled or read_only:
        if read_only:
            first.left_pending = sum(len(p.open_steps) for p in store.plans_open(incident_id))
        return first
    rest = finish_plans(
        store, incident_id, gl, on_step=on_step, cancelled=cancelled, sleep=sleep, registry=registry
    )
    first.outcomes.extend(rest.outcomes)
    first.halted, first.cancelled = rest.halted, rest.cancelled
    first.left_pending = rest.left_pending
    first.head_hash = rest.head_hash
    return first
