"""The built-in actions, registered so resume can rebuild them from the journal.

Importing this module imports every action module; each registers its actions with
:data:`actions.registry.DEFAULT_REGISTRY` at import. :data:`BUILTIN` is that registry.
"""

from __future__ import annotations

from actions import (
    hook_actions,
    key_actions,
    membership_actions,
    oauth_actions,
    runner_actions,
    settings_actions,
    token_actions,
    user_actions,
    variable_actions,
)
from actions.registry import DEFAULT_REGISTRY, Registry

__all__ = ["BUILTIN", "MODULES"]

MODULES = (
    user_actions,
    token_actions,
    key_actions,
    runner_actions,
    hook_actions,
    variable_actions,
    membership_actions,
    settings_actions,
    oauth_actions,
)
BUILTIN: Registry = DEFAULT_REGISTRY
