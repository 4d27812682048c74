"""Runners: pause (reversible), reset the authentication token, delete; who registered it.

A runner registered by an attacker runs their jobs with whatever the CI/CD variables of its
projects hold: delete it. A legitimate runner whose token may have leaked gets a new token
(shown once, to install on the runner host) or is paused while someone looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import gitlab

from actions.model import JSON, ApplyResult, State, Target
from actions.registry import register
from actions.resource import DeleteObject, ObjectAction, read_or_gone
from actions.transport import HttpFailure, get_json, http
from console.secret import Secret

_KEEP = (
    "description",
    "paused",
    "runner_type",
    "status",
    "created_at",
    "contacted_at",
    "access_level",
    "tag_list",
    "run_untagged",
    "locked",
)


class _RunnerAction(ObjectAction):
    target_kinds = frozenset({"runner"})
    keep = _KEEP

    def path(self, target: Target) -> str:
        return f"/runners/{target.id}"

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        state = super().read_state(gl, target)
        if state.get("exists") is False:
            raise HttpFailure(404, "404 Runner Not Found")
        return state

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403:
            return (
                f"GitLab refused (403): instance runners need an administrator, group "
                f"runners the group Owner, project runners a Maintainer ({exc.message})"
            )
        return None


class PauseRunner(_RunnerAction):
    name = "pause_runner"
    title = "Pause runner"
    description = "Stop the runner picking up new jobs (reversible: unpause)."
    method = "PUT"
    reversible = True
    paused = True
    already = "already paused; nothing sent"

    def desired(self, state: State) -> bool:
        return state.get("paused") is self.paused

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "put", self.path(target), data={"paused": self.paused})


class UnpauseRunner(PauseRunner):
    name = "unpause_runner"
    title = "Unpause runner"
    description = "Let the runner pick up jobs again (undoes a pause)."
    paused = False
    already = "not paused; nothing sent"


class ResetRunnerToken(_RunnerAction):
    name = "reset_runner_token"
    title = "Reset runner token"
    description = (
        "Issue a new authentication token (shown once, to install on the runner "
        "host); the old one stops working. Irreversible; never repeated "
        "automatically."
    )
    method = "POST"
    convergent = False
    observable = False  # no read shows a token
    resume_note = "the new runner token was lost with the crash: reset it again by hand"

    def write_path(self, target: Target) -> str:
        return f"/runners/{target.id}/reset_authentication_token"

    def desired(self, state: State) -> bool:
        return False

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        result = http(gl, "post", self.write_path(target))
        body = result.body if isinstance(result.body, Mapping) else {}
        value = body.get("token")
        return ApplyResult(
            result.http_status,
            result.request_id,
            None,
            Secret(value) if isinstance(value, str) and value else None,
            {"token_reset": True, "token_expires_at": body.get("token_expires_at")},
        )

    def verified(self, state: State, result: ApplyResult) -> bool:
        return result.http_status is not None and 200 <= result.http_status < 300


class DeleteRunner(DeleteObject):
    name = "delete_runner"
    title = "Delete runner"
    description = "Unregister the runner; it can never pick up a job again. Irreversible."
    target_kinds = frozenset({"runner"})
    keep = _KEEP

    def path(self, target: Target) -> str:
        return f"/runners/{target.id}"


@dataclass(frozen=True)
class RunnerDetails:
    """What ``GET /runners/:id`` and its managers add to the list row (raw server text)."""

    id: int
    description: str
    runner_type: str
    registered_by: str  # username, "" when GitLab does not say
    registered_at: str
    contacted_at: str
    paused: bool
    projects: tuple[str, ...]
    ip_addresses: tuple[str, ...]


def runner_details(gl: gitlab.Gitlab, runner_id: int) -> RunnerDetails | None:
    """Who registered the runner and when, where it runs from; None when it is gone."""
    body = read_or_gone(gl, f"/runners/{runner_id}")
    if body is None:
        return None
    creator = body.get("created_by")
    managers = get_json(gl, f"/runners/{runner_id}/managers")
    ips = tuple(
        str(m.get("ip_address"))
        for m in managers or []
        if isinstance(m, Mapping) and m.get("ip_address")
    )
    projects = tuple(
        str(p.get("path_with_namespace", ""))
        for p in body.get("projects") or []
        if isinstance(p, Mapping)
    )
    return RunnerDetails(
        id=runner_id,
        description=str(body.get("description") or ""),
        runner_type=str(body.get("runner_type") or ""),
        registered_by=str(creator.get("username", "")) if isinstance(creator, Mapping) else "",
        registered_at=str(body.get("created_at") or ""),
        contacted_at=str(body.get("contacted_at") or ""),
        paused=bool(body.get("paused")),
        projects=projects,
        ip_addresses=ips,
    )


def _pause(params: Mapping[str, JSON]) -> PauseRunner:
    return PauseRunner()


def _unpause(params: Mapping[str, JSON]) -> UnpauseRunner:
    return UnpauseRunner()


def _reset(params: Mapping[str, JSON]) -> ResetRunnerToken:
    return ResetRunnerToken()


def _delete(params: Mapping[str, JSON]) -> DeleteRunner:
    return DeleteRunner()


register(PauseRunner.name, _pause)
register(UnpauseRunner.name, _unpause)
register(ResetRunnerToken.name, _reset)
register(DeleteRunner.name, _delete)
