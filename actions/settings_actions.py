"""The admin flag and 2FA enforcement (instance and group).

Removing the admin flag is reversible (grant it back); it is also what makes forcing the user's
2FA re-enrolment possible, since GitLab refuses (403) to disable an administrator's 2FA through
the API. Instance settings are cached by GitLab (about 60 s): the read-back can show the new
setting before every node enforces it.
"""

from __future__ import annotations

from collections.abc import Mapping

import gitlab

from actions.model import JSON, ApplyResult, State, Target
from actions.registry import register
from actions.resource import ObjectAction, int_param, pick, read_or_gone
from actions.transport import HttpFailure, http

DEFAULT_GRACE_HOURS = 48


class RemoveAdmin(ObjectAction):
    name = "remove_admin"
    title = "Remove admin flag"
    description = "Make the account a regular user (reversible: grant admin again)."
    target_kinds = frozenset({"user"})
    method = "PUT"
    reversible = True
    excludes_actor = True
    admin = False
    already = "not an administrator; nothing sent"
    keep = ("username", "is_admin", "state")

    def path(self, target: Target) -> str:
        return f"/users/{target.id}"

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = read_or_gone(gl, self.path(target))
        if body is None:
            raise HttpFailure(404, "404 User Not Found")
        return State(pick(body, *self.keep))

    def desired(self, state: State) -> bool:
        return state.get("is_admin") is self.admin

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        result = http(gl, "put", self.path(target), data={"admin": self.admin})
        return ApplyResult(result.http_status, result.request_id)  # the body is the whole user


class GrantAdmin(RemoveAdmin):
    """The undo of :class:`RemoveAdmin`."""

    name = "grant_admin"
    title = "Grant admin flag"
    description = "Make the account an administrator again (undoes an admin-flag removal)."
    admin = True
    already = "already an administrator; nothing sent"


class _Enforce2FA(ObjectAction):
    method = "PUT"
    already = "2FA already enforced with this grace period; nothing sent"

    def __init__(self, *, grace_hours: int = DEFAULT_GRACE_HOURS) -> None:
        if grace_hours < 0:
            raise ValueError("the grace period cannot be negative")
        self.grace_hours = grace_hours

    def params(self) -> dict[str, JSON]:
        return {"grace_hours": self.grace_hours}

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = read_or_gone(gl, self.path(target))
        if body is None:
            raise HttpFailure(404, "404 Not Found")
        return State(pick(body, "require_two_factor_authentication", "two_factor_grace_period"))

    def desired(self, state: State) -> bool:
        return (
            state.get("require_two_factor_authentication") is True
            and state.get("two_factor_grace_period") == self.grace_hours
        )

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        result = http(
            gl,
            "put",
            self.path(target),
            data={
                "require_two_factor_authentication": True,
                "two_factor_grace_period": self.grace_hours,
            },
        )
        return ApplyResult(result.http_status, result.request_id)


class EnforceInstance2FA(_Enforce2FA):
    """Target: kind ``instance``, id 1 (the application settings row)."""

    name = "enforce_instance_2fa"
    title = "Require 2FA for everyone"
    description = (
        "Every password sign-in must use 2FA after the grace period (hours); users "
        "whose 2FA was disabled must enrol again. GitLab caches settings ~60 s."
    )
    target_kinds = frozenset({"instance"})

    def path(self, target: Target) -> str:
        return "/application/settings"


class EnforceGroup2FA(_Enforce2FA):
    """Target: kind ``group``, id = the group's id."""

    name = "enforce_group_2fa"
    title = "Require 2FA in the group"
    description = "Every member of the group must use 2FA after the grace period (hours)."
    target_kinds = frozenset({"group"})

    def path(self, target: Target) -> str:
        return f"/groups/{target.id}"

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403:
            return f"GitLab refused (403): only a group Owner can require 2FA ({exc.message})"
        return None


def _remove(p: Mapping[str, JSON]) -> RemoveAdmin:
    return RemoveAdmin()


def _grant(p: Mapping[str, JSON]) -> GrantAdmin:
    return GrantAdmin()


def _instance(p: Mapping[str, JSON]) -> EnforceInstance2FA:
    return EnforceInstance2FA(grace_hours=int_param(p, "grace_hours", DEFAULT_GRACE_HOURS))


def _group(p: Mapping[str, JSON]) -> EnforceGroup2FA:
    return EnforceGroup2FA(grace_hours=int_param(p, "grace_hours", DEFAULT_GRACE_HOURS))


register(RemoveAdmin.name, _remove)
register(GrantAdmin.name, _grant)
register(EnforceInstance2FA.name, _instance)
register(EnforceGroup2FA.name, _group)
