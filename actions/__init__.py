"""Journaled, verified response actions (block, unblock, revoke, rotate, …).

No Textual or Rich imports anywhere under ``actions/``. Importing the package registers the
built-in actions so :func:`actions.engine.resume_pending` can rebuild them from the journal.
"""

from __future__ import annotations

from actions import token_actions, user_actions
from actions.engine import (
    Action,
    ApplyResult,
    BaseAction,
    HttpFailure,
    Plan,
    ReadOnlyRefused,
    RunResult,
    State,
    StepEvent,
    StepOutcome,
    Target,
    resume_pending,
    run_plan,
)

__all__ = [
    "Action",
    "ApplyResult",
    "BaseAction",
    "HttpFailure",
    "Plan",
    "ReadOnlyRefused",
    "RunResult",
    "State",
    "StepEvent",
    "StepOutcome",
    "Target",
    "resume_pending",
    "run_plan",
    "token_actions",
    "user_actions",
]
