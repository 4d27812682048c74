"""CI/CD variables (instance, group, project): set a new value the responder typed (masked).

The value is a :class:`Secret` held by the action object only: it is not a parameter (so it is
never journaled), never part of a read state (a read records only whether the server's value now
*matches* it, a boolean), and never in an error (GitLab's 400 names the rule, not the value).
Hidden variables never return their value, so for them a successful PUT is the only proof. A
resumed entry has lost the value: it is never re-sent, a human types it again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import gitlab

from actions.model import JSON, ApplyResult, State, Target
from actions.registry import register
from actions.resource import ObjectAction, int_param, read_or_gone, str_param
from actions.transport import HttpFailure, http
from console.secret import Secret

VARIABLE_SCOPES = ("instance", "group", "project")
MASKED_MIN_LENGTH = 8


def variable_path(scope: str, owner_id: int, key: str) -> str:
    if scope == "instance":
        return f"/admin/ci/variables/{key}"
    if scope in ("group", "project"):
        return f"/{scope}s/{owner_id}/variables/{key}"
    raise ValueError(f"unknown variable scope {scope!r}")


class SetVariableValue(ObjectAction):
    """Target: kind ``variable``, id = the owner's id (0 for the instance), label = the key."""

    name = "set_variable_value"
    title = "Set a new variable value"
    description = (
        "Replace the variable's value with one you type (masked; never stored, "
        "logged or shown). Irreversible: the old value is not kept."
    )
    target_kinds = frozenset({"variable"})
    method = "PUT"
    convergent = False
    already = "already holds the new value; nothing sent"
    resume_note = ""

    def __init__(
        self,
        *,
        scope: str,
        owner_id: int,
        key: str,
        environment_scope: str = "*",
        value: Secret | None = None,
    ) -> None:
        if scope not in VARIABLE_SCOPES:
            raise ValueError(f"unknown variable scope {scope!r}")
        if not key or not all(c.isalnum() or c == "_" for c in key):
            raise ValueError("a variable key has only letters, digits and '_'")
        self.scope = scope
        self.owner_id = owner_id
        self.key = key
        self.environment_scope = environment_scope or "*"
        self.value = value

    def params(self) -> dict[str, JSON]:
        return {
            "scope": self.scope,
            "owner_id": self.owner_id,
            "key": self.key,
            "environment_scope": self.environment_scope,
        }

    def path(self, target: Target) -> str:
        return variable_path(self.scope, self.owner_id, self.key)

    def query(self) -> dict[str, JSON]:
        if self.scope == "instance" or self.environment_scope == "*":
            return {}
        return {"filter[environment_scope]": self.environment_scope}

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = read_or_gone(gl, self.path(target), **self.query())
        if body is None:
            raise HttpFailure(404, "404 Variable Not Found")
        current = body.get("value")
        matches: bool | None = None
        if self.value is not None and isinstance(current, str):
            matches = secrets.compare_digest(current.encode(), self.value.reveal().encode())
        return State(
            {
                "key": body.get("key"),
                "protected": body.get("protected"),
                "masked": body.get("masked"),
                "hidden": body.get("hidden", False),
                "environment_scope": body.get("environment_scope"),
                "value_readable": isinstance(current, str),
                "matches_new": matches,
            }
        )

    def desired(self, state: State) -> bool:
        return state.get("matches_new") is True

    def precheck(self, target: Target, state: State) -> str | None:
        if self.value is None:
            return "no new value was typed (a resumed run never has one)"
        value = self.value.reveal()
        if state.get("masked") and (
            len(value) < MASKED_MIN_LENGTH or any(c.isspace() for c in value)
        ):
            return (
                f"GitLab rejects this value for a masked variable: it needs at least "
                f"{MASKED_MIN_LENGTH} characters and no spaces"
            )
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        assert self.value is not None  # precheck refused otherwise
        result = http(
            gl,
            "put",
            self.path(target),
            data={"value": self.value.reveal()},
            query=self.query() or None,
        )
        return ApplyResult(result.http_status, result.request_id)  # the body holds the value

    def verified(self, state: State, result: ApplyResult) -> bool:
        if state.get("value_readable"):
            return state.get("matches_new") is True
        return result.http_status is not None and 200 <= result.http_status < 300

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 409:
            return (
                "GitLab refused (409): several variables share this key; the environment "
                "scope must be given"
            )
        if exc.status == 400:
            return f"GitLab rejected the new value (400): {exc.message}"
        return None


def _build(p: Mapping[str, JSON]) -> SetVariableValue:
    return SetVariableValue(
        scope=str_param(p, "scope", "project"),
        owner_id=int_param(p, "owner_id"),
        key=str_param(p, "key", "KEY"),
        environment_scope=str_param(p, "environment_scope", "*"),
    )


register(SetVariableValue.name, _build)
