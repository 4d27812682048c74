"""The action model: targets, states, results, plans, outcomes, and the journal port.

Plain dataclasses and protocols, no I/O: every other module under ``actions/`` builds on these.
Journal states (``console.store``): intent|sent|done|noop_already|not_found|forbidden|failed|
unknown. An outcome adds the non-journaled ``would_do`` / ``refused`` / ``skipped``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gitlab

from console.sanitize import safe
from console.secret import Secret

__all__ = [
    "JSON",
    "NEEDS_HUMAN",
    "PENDING_STATES",
    "TERMINAL_STATES",
    "Action",
    "ActionError",
    "ApplyResult",
    "Attention",
    "HttpFailure",
    "JournalPort",
    "Plan",
    "ReadOnlyRefused",
    "RunResult",
    "State",
    "StepEvent",
    "StepOutcome",
    "Target",
]

JSON = Any
PENDING_STATES = frozenset({"intent", "sent", "unknown"})
TERMINAL_STATES = frozenset({"done", "noop_already", "not_found", "forbidden", "failed"})
NEEDS_HUMAN = "needs human"


class HttpFailure(Exception):
    """A request that did not return 2xx (or never got a response); ``request`` names it."""

    def __init__(
        self,
        status: int | None,
        message: str,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
        transport: bool = False,
        request: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        self.transport = transport
        self.request = request

    @property
    def ambiguous(self) -> bool:
        """The write may or may not have been applied: read back before deciding."""
        return self.transport or self.status is None or self.status >= 500 or self.status == 409


class ActionError(Exception):
    """Base for refusals raised before anything is sent."""


class ReadOnlyRefused(ActionError):
    """A mutating plan was submitted while the console is in read-only mode."""


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


@dataclass(frozen=True, slots=True)
class Attention:
    """A step the server may have left half-done: what to do, and the one-key follow-up.

    ``action`` / ``target`` name the follow-up (e.g. ``revoke_token`` on the new token #N whose
    value was lost); ``text`` is the sentence shown.
    """

    text: str
    action: str
    target: Target

    def as_json(self) -> dict[str, JSON]:
        return {
            "text": self.text,
            "action": self.action,
            "target_type": self.target.kind,
            "target_id": self.target.id,
            "target_label": self.target.safe_label,
        }


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
    already: str  # the outcome's words when the target is already as wanted
    resume_note: str  # added to "done (verified after resume)"

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

    def explain(self, exc: HttpFailure) -> str | None:
        """A sentence for an error specific to this action, or None for the default."""
        ...

    def find_created(
        self, gl: gitlab.Gitlab, target: Target, pre: State | None, since: str
    ) -> Attention | None:
        """After a lost reply: what the server may have created, or None."""
        ...


class JournalPort(Protocol):
    """What the runner needs from the store (``console.store.Store`` implements it)."""

    path: Path

    def journal_intent(
        self,
        incident_id: int,
        action: str,
        target_type: str,
        target_id: int | str,
        target_label: str = "",
        params: Mapping[str, Any] | None = None,
        pre_state: Any = None,
        *,
        state: str = "intent",
        extra: Mapping[str, Any] | None = None,
        plan_step: tuple[int, int] | None = None,
    ) -> int: ...

    def journal_update(self, entry_id: int, state: str, **fields: Any) -> Any: ...

    def journal_pending(self, incident_id: int) -> Sequence[Any]: ...

    def journal_entry(self, entry_id: int) -> Any: ...

    def journal_head(self, incident_id: int) -> str: ...

    def plan_create(
        self,
        incident_id: int,
        action: str,
        params: Mapping[str, Any] | None,
        targets: Any,
        *,
        title: str = "",
    ) -> int: ...

    def plan_step_set(
        self, plan_id: int, index: int, state: str, note: str | None = None
    ) -> None: ...

    def plans_open(self, incident_id: int) -> Sequence[Any]: ...

    def plan(self, plan_id: int) -> Any: ...

    def plans_recent(self, incident_id: int, limit: int = 5) -> Sequence[Any]: ...


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
    ``would_do`` / ``refused`` / ``skipped``; ``attention`` marks a half-done step."""

    index: int
    target: Target
    state: str
    message: str = ""
    journal_id: int | None = None
    http_status: int | None = None
    request_id: str | None = None
    secret: Secret | None = None
    attention: Attention | None = None

    @property
    def ok(self) -> bool:
        return self.state in {"done", "noop_already", "would_do"} and self.attention is None


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
    plan_id: int | None = None
    #: steps of the plan left ``planned`` (halted, cancelled or unreadable): resumable
    left_pending: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.state] = out.get(o.state, 0) + 1
        return out

    @property
    def attention(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.attention is not None]

    def summary(self) -> str:
        words = {"noop_already": "already done", "would_do": "would do"}
        parts = [
            f"{n} {words.get(state, state.replace('_', ' '))}"
            for state, n in sorted(self.counts().items())
        ]
        text = ", ".join(parts) if parts else "nothing to do"
        if self.attention:
            text += f"; {len(self.attention)} need attention"
        if self.halted:
            text += f". Halted: {self.halted}"
        elif self.cancelled:
            text += ". Cancelled before the end."
        if self.left_pending:
            text += f" {self.left_pending} step(s) not started: resume to finish them."
        return text
