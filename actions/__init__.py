"""Journaled, verified response actions (block, unblock, revoke, rotate, …).

No Textual or Rich imports anywhere under ``actions/``. Modules, bottom up: :mod:`~actions.model`
(data), :mod:`~actions.transport` (HTTP), :mod:`~actions.base` (the action base class),
:mod:`~actions.registry`, :mod:`~actions.breaker`, :mod:`~actions.steps` (one target),
:mod:`~actions.runner` (a plan), :mod:`~actions.resume`, :mod:`~actions.catalog` (the built-in
actions, registered on import so resume can rebuild them from the journal).
"""

from __future__ import annotations

from actions import catalog, token_actions, user_actions
from actions.base import BaseAction
from actions.model import (
    JSON,
    NEEDS_HUMAN,
    PENDING_STATES,
    TERMINAL_STATES,
    Action,
    ActionError,
    ApplyResult,
    Attention,
    JournalPort,
    Plan,
    ReadOnlyRefused,
    RunResult,
    State,
    StepEvent,
    StepOutcome,
    Target,
)
from actions.open_plans import PlanView, StepView, plan_views, resumable_count
from actions.registry import Registry, action_for, register
from actions.resume import finish_plans, resume, resume_pending
from actions.runner import actor_id_of, head_hash, own_token_id, run_plan
from actions.transport import HttpFailure, get_json, http

__all__ = [
    "JSON",
    "NEEDS_HUMAN",
    "PENDING_STATES",
    "TERMINAL_STATES",
    "Action",
    "ActionError",
    "ApplyResult",
    "Attention",
    "BaseAction",
    "HttpFailure",
    "JournalPort",
    "Plan",
    "PlanView",
    "ReadOnlyRefused",
    "Registry",
    "RunResult",
    "State",
    "StepEvent",
    "StepOutcome",
    "StepView",
    "Target",
    "action_for",
    "actor_id_of",
    "catalog",
    "finish_plans",
    "get_json",
    "head_hash",
    "http",
    "own_token_id",
    "plan_views",
    "register",
    "resumable_count",
    "resume",
    "resume_pending",
    "run_plan",
    "token_actions",
    "user_actions",
]
