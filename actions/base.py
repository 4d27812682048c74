"""Defaults for the :class:`~actions.model.Action` protocol; actions override what differs."""

from __future__ import annotations

import gitlab

from actions.model import JSON, ApplyResult, Attention, State, Target
from actions.transport import HttpFailure

__all__ = ["BaseAction"]


class BaseAction:
    """An action that changes one target; most of it is what differs per action."""

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

    def find_created(
        self, gl: gitlab.Gitlab, target: Target, pre: State | None, since: str
    ) -> Attention | None:
        """After a write whose reply was lost: what the server may have created (a new token
        whose value nobody saw), as a follow-up for the responder; None if nothing."""
        return None
