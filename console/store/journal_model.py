"""The journal's record types and states (a leaf: the chain and the journal store both use them).

Kept apart from :mod:`console.store.journal` so that :mod:`console.store.chain` can compare rows
against its records without importing the store that writes them (no cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "JOURNAL_PENDING_STATES",
    "JOURNAL_STATES",
    "PLAN_STEP_STATES",
    "JournalEntry",
    "PlanRecord",
    "PlanStep",
]

JOURNAL_STATES: Final = frozenset(
    {"intent", "sent", "done", "noop_already", "not_found", "forbidden", "failed", "unknown"}
)
#: In flight: the request may be on the wire; re-read before anything else.
JOURNAL_PENDING_STATES: Final = ("intent", "sent", "unknown")
#: A plan step: ``planned`` (nothing sent yet), ``started`` (has a journal entry), ``refused``
#: (a pre-check refused it), ``dropped`` (the responder chose not to finish it) or
#: ``superseded`` (a later plan for the same action took the target over).
PLAN_STEP_STATES: Final = frozenset({"planned", "started", "refused", "dropped", "superseded"})


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    incident_id: int
    action: str
    target_type: str
    target_id: int | str
    target_label: str
    params: dict[str, Any]
    state: str
    pre_state: Any
    post_state: Any
    http_status: int | None
    request_id: str | None
    error: str | None
    t_intent: str
    t_sent: str | None
    t_done: str | None
    prev_hash: str
    hash: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One target of a journaled plan; ``entry_id`` links the journal entry once started."""

    plan_id: int
    index: int
    target_type: str
    target_id: int | str
    target_label: str
    state: str
    entry_id: int | None
    note: str | None


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A whole plan as journaled before its first request: action, params and every step."""

    id: int
    incident_id: int
    action: str
    params: dict[str, Any]
    title: str
    created_at: str
    steps: tuple[PlanStep, ...]

    @property
    def open_steps(self) -> tuple[PlanStep, ...]:
        return tuple(s for s in self.steps if s.state == "planned")
