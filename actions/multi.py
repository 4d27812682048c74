"""Several plans confirmed together, run one after another as one run on screen.

A selection of tokens of several kinds becomes one plan per kind and owner
(:func:`actions.plan.token_plans`: each through its own endpoint), and the console's own token,
when it is part of it, a rotation placed last (:mod:`actions.own_token`). The responder confirms
once (the own token separately) and sees one progress list: step indexes continue from plan to
plan. A halt or a cancel stops the plans after it (their steps are reported skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gitlab

from actions.model import JournalPort, Plan, RunResult, StepEvent, StepOutcome
from actions.runner import run_plan

__all__ = ["MultiRun", "run_plans"]


@dataclass
class MultiRun:
    merged: RunResult
    parts: list[tuple[Plan, RunResult]] = field(default_factory=list)


def run_plans(
    store: JournalPort,
    incident_id: int,
    gl: gitlab.Gitlab,
    plans: Sequence[Plan],
    *,
    on_step: Callable[[StepEvent], None] | None = None,
    **kw: Any,
) -> MultiRun:
    """Run ``plans`` in order (blocking: a worker); ``kw`` goes to every ``run_plan``."""
    total = sum(len(p.targets) for p in plans)
    name = plans[0].action.name if len(plans) == 1 else "+".join(p.action.name for p in plans)
    out = MultiRun(RunResult(action=name, dry_run=bool(kw.get("dry_run"))))
    offset = 0
    for n, plan in enumerate(plans):

        def shifted(ev: StepEvent, base: int = offset) -> None:
            if on_step is not None:
                outcome = ev.outcome
                if outcome is not None:
                    outcome = replace(outcome, index=outcome.index + base)
                on_step(StepEvent(ev.index + base, total, ev.target, ev.phase, ev.message, outcome))

        result = run_plan(store, incident_id, gl, plan, on_step=shifted, **kw)
        out.parts.append((plan, result))
        merged = out.merged
        merged.outcomes += [replace(o, index=o.index + offset) for o in result.outcomes]
        merged.left_pending += result.left_pending
        merged.head_hash = result.head_hash or merged.head_hash
        merged.plan_id = result.plan_id if merged.plan_id is None else merged.plan_id
        offset += len(plan.targets)
        if result.halted or result.cancelled:
            merged.halted, merged.cancelled = result.halted, result.cancelled
            for rest in plans[n + 1 :]:
                merged.outcomes += [
                    StepOutcome(offset + i, t, "skipped", "run halted")
                    for i, t in enumerate(rest.targets)
                ]
                offset += len(rest.targets)
            break
    return out
