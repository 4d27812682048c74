"""The common shape of the eradication actions: one GitLab object at one path.

Each action reads the object (a 404 means "gone", which is the goal of a delete, so a repeated
delete is never sent), journals, sends one write and reads back. The parent of the object (the
user of an SSH key, the project of a deploy token…) is a parameter of the action, journaled with
it, because a resumed journal entry rebuilds the action from its parameters and the target from
its kind and id alone. ``call()`` names the request for the plan the responder confirms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import gitlab

from actions.base import BaseAction
from actions.model import JSON, ApplyResult, State, Target
from actions.transport import HttpFailure, get_json, http
from console.sanitize import safe

GONE = State({"exists": False})


@dataclass(frozen=True, slots=True)
class Call:
    """One request of a plan, for display: ``DELETE /users/7/keys/12  #12 build-07``."""

    method: str
    path: str
    target_id: int
    name: str  # already sanitised

    def line(self) -> str:
        return f"{self.method} {self.path}  #{self.target_id} {self.name}"


@runtime_checkable
class Addressed(Protocol):
    """An action that names its own request (object and token actions)."""

    def call(self, target: Target) -> Call: ...


def read_or_gone(gl: gitlab.Gitlab, path: str, **query: JSON) -> Mapping[str, JSON] | None:
    """The object at ``path``, or None when GitLab answers 404."""
    try:
        body = get_json(gl, path, **query)
    except HttpFailure as exc:
        if exc.status == 404:
            return None
        raise
    if not isinstance(body, Mapping):
        raise HttpFailure(None, f"unexpected response reading {path}", transport=True)
    return body


def pick(body: Mapping[str, JSON], *keys: str) -> dict[str, JSON]:
    """The named fields of a response (what is journaled as pre/post state: never a secret)."""
    return {key: body.get(key) for key in keys}


class ObjectAction(BaseAction):
    """An action on the object at :meth:`path`; subclasses say how to write and what is kept.

    ``reversible`` is True when GitLab can undo the change (the undo is offered as a pair from
    the journal entry, see ``actions.undo``); otherwise the plan says it is irreversible.
    """

    method = "DELETE"
    reversible = False
    keep: tuple[str, ...] = ()  # response fields journaled as state

    def path(self, target: Target) -> str:
        raise NotImplementedError

    def write_path(self, target: Target) -> str:
        return self.path(target)

    def query(self) -> dict[str, JSON]:
        return {}

    def call(self, target: Target) -> Call:
        return Call(
            self.method,
            self.write_path(target),
            target.id,
            safe(target.label, kind="line", max_cells=60),
        )

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = read_or_gone(gl, self.path(target), **self.query())
        if body is None:
            return GONE
        return State({"exists": True, **pick(body, *self.keep)})


class DeleteObject(ObjectAction):
    """Delete (or revoke by deleting) the object: done once a read answers 404."""

    already = "already gone; nothing sent"

    def desired(self, state: State) -> bool:
        return state.get("exists") is False

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, self.method.lower(), self.write_path(target), query=self.query() or None)


def int_param(params: Mapping[str, JSON], name: str, default: int = 0) -> int:
    value = params.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def str_param(params: Mapping[str, JSON], name: str, default: str = "") -> str:
    value = params.get(name)
    return str(value) if value is not None else default
