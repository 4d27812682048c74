"""What a crash, a kill, a halt or a cancel left open, as the responder sees it: each open plan
with every step's state (journal entries decide started steps), and the count the resume
prompt offers to finish (:mod:`actions.resume` does the finishing).
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.model import JournalPort, Target
from console.store.resumable import resumable_count

__all__ = ["PlanView", "StepView", "plan_views", "resumable_count"]


@dataclass(frozen=True)
class StepView:
    index: int
    target: Target
    state: str  # done | verified after resume | already done | not started | failed | …
    detail: str = ""
    attention: dict[str, object] | None = None


@dataclass(frozen=True)
class PlanView:
    plan_id: int
    action: str
    title: str
    steps: tuple[StepView, ...]

    @property
    def not_started(self) -> int:
        return sum(1 for s in self.steps if s.state == "not started")


_ENTRY_WORDS = {
    "done": "done",
    "noop_already": "already done",
    "not_found": "not found",
    "forbidden": "forbidden",
    "failed": "failed",
    "intent": "in flight",
    "sent": "in flight",
    "unknown": "in flight",
}


def plan_views(
    store: JournalPort, incident_id: int, *, only_open: bool = True, limit: int = 5
) -> list[PlanView]:
    """Each plan with every step's state (journal entries decide started steps)."""
    plans = store.plans_open(incident_id) if only_open else store.plans_recent(incident_id, limit)
    views: list[PlanView] = []
    for plan in plans:
        steps: list[StepView] = []
        for s in plan.steps:
            target = Target(s.target_type, int(s.target_id), s.target_label)
            if s.state != "started" or s.entry_id is None:
                word = {
                    "planned": "not started",
                    "refused": "refused",
                    "dropped": "dropped",
                    "superseded": "taken over",
                }.get(s.state, s.state)
                steps.append(StepView(s.index, target, word, s.note or ""))
                continue
            entry = store.journal_entry(s.entry_id)
            extra = dict(entry.extra) if entry is not None else {}
            word = _ENTRY_WORDS.get(entry.state if entry is not None else "", "in flight")
            if word == "done" and extra.get("resumed"):
                word = "verified after resume"
            att = extra.get("attention")
            if isinstance(att, dict):
                word = "needs attention"
            steps.append(
                StepView(
                    s.index,
                    target,
                    word,
                    (entry.error or "") if entry is not None else "",
                    att if isinstance(att, dict) else None,
                )
            )
        views.append(PlanView(plan.id, plan.action, plan.title, tuple(steps)))
    return views
