"""The built-in actions, registered so resume can rebuild them from the journal.

Importing this module imports every action module; each registers its actions with
:data:`actions.registry.DEFAULT_REGISTRY` at import. :data:`BUILTIN` is that registry.
"""

from __future__ import annotations

from actions import token_actions, user_actions
from actions.registry import DEFAULT_REGISTRY, Registry

__all__ = ["BUILTIN", "MODULES"]

MODULES = (user_actions, token_actions)
BUILTIN: Registry = DEFAULT_REGISTRY
