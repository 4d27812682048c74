"""Group and project memberships: remove, or lower the access level; both reversible.

Target: kind ``member``, id = the user's id; the group or project is a parameter. The direct
membership is read (``GET /groups/:id/members/:user_id``); an inherited one is not changed here
(it belongs to the parent group, which is its own target). GitLab refuses (403) to remove the
last Owner of a group.
"""

from __future__ import annotations

from collections.abc import Mapping

import gitlab

from actions.model import JSON, ApplyResult, State, Target
from actions.registry import register
from actions.resource import DeleteObject, ObjectAction, int_param, str_param
from actions.transport import HttpFailure, http

ACCESS_LEVELS = {
    "guest": 10,
    "planner": 15,
    "reporter": 20,
    "developer": 30,
    "maintainer": 40,
    "owner": 50,
}
LEVEL_NAMES = {v: k.capitalize() for k, v in ACCESS_LEVELS.items()}


def level_of(name: str) -> int | None:
    """``"Maintainer"`` → 40 (audit events name roles, the API numbers them)."""
    return ACCESS_LEVELS.get(name.strip().lower())


class _MemberAction(ObjectAction):
    target_kinds = frozenset({"member"})
    reversible = True
    keep = ("username", "access_level", "expires_at", "created_at")

    def __init__(self, *, source: str, source_id: int) -> None:
        if source not in ("group", "project"):
            raise ValueError("a membership belongs to a group or a project")
        self.source = source
        self.source_id = source_id

    def params(self) -> dict[str, JSON]:
        return {"source": self.source, "source_id": self.source_id}

    def path(self, target: Target) -> str:
        return f"/{self.source}s/{self.source_id}/members/{target.id}"

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403:
            return (
                f"GitLab refused (403): the last Owner of a group cannot be removed or "
                f"demoted, and only an Owner can change an Owner ({exc.message})"
            )
        return None


class RemoveMember(_MemberAction, DeleteObject):
    name = "remove_member"
    title = "Remove membership"
    description = (
        "Remove the user's direct membership of the group or project (reversible: "
        "add it back at the same level)."
    )
    already = "not a direct member; nothing sent"


class ChangeMemberLevel(_MemberAction):
    name = "change_member_level"
    title = "Change access level"
    description = "Set the user's direct access level (reversible: set the old level back)."
    method = "PUT"

    def __init__(self, *, source: str, source_id: int, level: int) -> None:
        super().__init__(source=source, source_id=source_id)
        if level not in LEVEL_NAMES:
            raise ValueError(f"unknown access level {level}")
        self.level = level
        self.title = f"Set access level to {LEVEL_NAMES[level]}"

    def params(self) -> dict[str, JSON]:
        return {**super().params(), "level": self.level}

    def desired(self, state: State) -> bool:
        return bool(state.get("access_level") == self.level)

    def precheck(self, target: Target, state: State) -> str | None:
        if state.get("exists") is False:
            return "not a direct member (nothing to change here)"
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "put", self.path(target), data={"access_level": self.level})


class AddMember(_MemberAction):
    """The undo of :class:`RemoveMember`: add the user back at the level they had."""

    name = "add_member"
    title = "Add membership back"
    description = "Add the user back as a direct member at the given level (undoes a removal)."
    method = "POST"

    def __init__(self, *, source: str, source_id: int, level: int) -> None:
        super().__init__(source=source, source_id=source_id)
        self.level = level

    def params(self) -> dict[str, JSON]:
        return {**super().params(), "level": self.level}

    def write_path(self, target: Target) -> str:
        return f"/{self.source}s/{self.source_id}/members"

    def desired(self, state: State) -> bool:
        return state.get("exists") is True

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(
            gl,
            "post",
            self.write_path(target),
            data={"user_id": target.id, "access_level": self.level},
        )


def _source(p: Mapping[str, JSON]) -> tuple[str, int]:
    return str_param(p, "source", "group"), int_param(p, "source_id")


def _remove(p: Mapping[str, JSON]) -> RemoveMember:
    source, sid = _source(p)
    return RemoveMember(source=source, source_id=sid)


def _change(p: Mapping[str, JSON]) -> ChangeMemberLevel:
    source, sid = _source(p)
    return ChangeMemberLevel(source=source, source_id=sid, level=int_param(p, "level", 10))


def _add(p: Mapping[str, JSON]) -> AddMember:
    source, sid = _source(p)
    return AddMember(source=source, source_id=sid, level=int_param(p, "level", 10))


register(RemoveMember.name, _remove)
register(ChangeMemberLevel.name, _change)
register(AddMember.name, _add)
