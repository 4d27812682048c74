"""Rebuild an action from its journaled name and params (resume needs it after a crash)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from actions.model import JSON, Action

__all__ = ["DEFAULT_REGISTRY", "ActionFactory", "Registry", "action_for", "register"]

ActionFactory = Callable[[Mapping[str, JSON]], Action]


class Registry:
    """Action name → factory taking the journaled params."""

    def __init__(self) -> None:
        self._factories: dict[str, ActionFactory] = {}

    def register(self, name: str, factory: ActionFactory) -> None:
        self._factories[name] = factory

    def action_for(self, name: str, params: Mapping[str, JSON] | None) -> Action | None:
        factory = self._factories.get(name)
        return factory(params or {}) if factory is not None else None

    def names(self) -> list[str]:
        return sorted(self._factories)


#: The registry action modules add themselves to at import (``actions.catalog`` imports them).
DEFAULT_REGISTRY = Registry()


def register(name: str, factory: ActionFactory) -> None:
    """Register how to rebuild an action from its journaled name and params (for resume)."""
    DEFAULT_REGISTRY.register(name, factory)


def action_for(name: str, params: Mapping[str, JSON] | None) -> Action | None:
    return DEFAULT_REGISTRY.action_for(name, params)
