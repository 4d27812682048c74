"""The journaled run: "nothing lost, nothing done twice" (security-and-reliability.md §3).

A plan is journaled whole (every step ``planned``) before its first request. Then per target:

1. pre-read; already in the desired state → ``noop_already``, nothing sent;
2. journal ``intent`` (committed, durable; the step becomes ``started``) before the write;
3. send the write once (no retries) and journal ``sent`` with status and ``X-Request-Id``;
4. verify with a read → ``done``, otherwise ``failed`` / ``unknown``.

A 429 pauses visibly (a read's wait is bounded by the one retry policy; a longer ``Retry-After``
halts the run); 5xx, 409, timeouts and dropped connections on a write are ambiguous: read back,
and for an action that creates something, look for what it may have created. The breaker
(:mod:`actions.breaker`) halts the run on a 401, a run of 403s or a run of connection failures;
unstarted steps stay ``planned`` for resume. Only the console holding the incident's writer lock
(:mod:`console.store.lock`) runs anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import gitlab

from actions.attempts import journal_not_sent
from actions.breaker import Breaker
from actions.model import (
    Action,
    JournalPort,
    Plan,
    ReadOnlyRefused,
    RunResult,
    StepOutcome,
    Target,
)
from actions.steps import Halt, StepRunner
from actions.transport import HttpFailure, get_json
from console.api.retry import DEFAULT_POLICY, RetryPolicy
from console.store.lock import WriterElsewhere, writer

__all__ = [
    "MAX_RATE_LIMIT_WAIT",
    "actor_id_of",
    "head_hash",
    "own_token_id",
    "run_plan",
    "run_steps",
]

MAX_RATE_LIMIT_WAIT = 120.0


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


def head_hash(store: JournalPort, incident_id: int) -> str | None:
    """The journal's head hash for the incident (paste it into the ticket)."""
    value = store.journal_head(incident_id)
    return str(value) if value else None


def run_steps(
    runner: StepRunner,
    action: Action,
    steps: list[tuple[int, Target]],
    result: RunResult,
    *,
    plan_id: int | None,
    actor_id: int | None,
) -> None:
    """Run ``steps`` (plan step index, target) in order, appending outcomes to ``result``."""
    for pos, (index, target) in enumerate(steps):
        if runner.is_cancelled():
            result.cancelled = True
            for rest, t in steps[pos:]:
                result.outcomes.append(StepOutcome(rest, t, "skipped", "cancelled"))
            break
        if target.kind not in action.target_kinds:
            out = StepOutcome(
                index, target, "refused", f"{action.title} does not apply to a {target.kind}"
            )
        elif action.excludes_actor and target.kind == "user" and target.id == actor_id:
            out = StepOutcome(
                index, target, "refused", "excluded: this is the account the console is acting as"
            )
        else:
            step = (plan_id, index) if plan_id is not None else None
            try:
                out = runner.run_target(action, index, target, step)
            except Halt as halt:
                result.halted = str(halt)
                out = StepOutcome(index, target, "failed", str(halt))
                result.outcomes.append(out)
                runner.emit(index, target, "finished", out.message, out)
                for rest, t in steps[pos + 1 :]:
                    result.outcomes.append(StepOutcome(rest, t, "skipped", "run halted"))
                break
        if out.state in ("done", "noop_already"):
            runner.breaker.success()  # a run of failures is consecutive targets
        if out.state == "refused" and plan_id is not None:
            runner.step_set(plan_id, index, "refused", out.message)
        result.outcomes.append(out)
        runner.emit(index, target, "finished", out.message, out)


def run_plan(
    store: JournalPort,
    incident_id: int,
    gl: gitlab.Gitlab,
    plan: Plan,
    *,
    dry_run: bool = False,
    read_only: bool = False,
    on_step: Callable[[Any], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    actor_id: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
    policy: RetryPolicy = DEFAULT_POLICY,
    breaker: Breaker | None = None,
) -> RunResult:
    """Run ``plan`` target by target (blocking; call from a worker thread).

    Raises :class:`~actions.model.ReadOnlyRefused` in read-only mode and
    :class:`console.store.lock.WriterElsewhere` when another console holds the incident.
    """
    action = plan.action
    if read_only and action.mutating and not dry_run:
        message = (
            f"{action.title} changes GitLab and the console is in read-only mode; "
            "restart without --read-only to act (a dry run is still possible)."
        )
        journal_not_sent(store, incident_id, plan, "read_only", message)
        raise ReadOnlyRefused(message)
    result = RunResult(action=action.name, dry_run=dry_run)
    targets: list[Target] = list(plan.targets)
    runner = StepRunner(
        store,
        incident_id,
        gl,
        dry_run=dry_run,
        on_step=on_step,
        cancelled=cancelled,
        total=len(targets),
        sleep=sleep,
        max_wait=max_wait,
        policy=policy,
        breaker=breaker or Breaker(),
    )
    if action.excludes_actor and any(t.kind == "user" for t in targets):
        if actor_id is None:
            actor_id = actor_id_of(gl)
        if actor_id is None:
            result.halted = (
                "could not identify the account this token belongs to (GET /user); "
                "refusing to run a plan that must exclude it"
            )
            return result
    steps = list(enumerate(targets))
    if dry_run or not action.mutating:
        run_steps(runner, action, steps, result, plan_id=None, actor_id=actor_id)
        if dry_run and action.mutating:
            journal_not_sent(
                store,
                incident_id,
                plan,
                "dry_run",
                f"dry run: {result.summary()}",
                outcomes=result.outcomes,
            )
        return result
    try:
        with writer(store.path, incident_id):
            _run_journaled(store, incident_id, runner, plan, steps, result, actor_id)
    except WriterElsewhere as exc:
        if result.plan_id is None:  # refused before anything was journaled or sent
            journal_not_sent(store, incident_id, plan, "writer_elsewhere", str(exc))
        raise
    return result


def _run_journaled(
    store: JournalPort,
    incident_id: int,
    runner: StepRunner,
    plan: Plan,
    steps: list[tuple[int, Target]],
    result: RunResult,
    actor_id: int | None,
) -> None:
    """The plan journaled whole, then its steps (the caller holds the writer lock)."""
    action = plan.action
    try:
        result.plan_id = int(
            store.plan_create(
                incident_id,
                action.name,
                action.params(),
                [(t.kind, t.id, t.safe_label) for _, t in steps],
                title=plan.summary or action.title,
            )
        )
    except Exception as exc:
        result.halted = runner.journal_broken(exc)
        result.outcomes = [StepOutcome(i, t, "skipped", "run halted") for i, t in steps]
        return
    run_steps(runner, action, steps, result, plan_id=result.plan_id, actor_id=actor_id)
    result.left_pending = runner.open_steps(result.plan_id)
    result.head_hash = head_hash(store, incident_id)
