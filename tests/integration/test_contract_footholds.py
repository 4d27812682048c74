"""The eradication endpoints' responses validate against GitLab's own JSON Schemas.

Same registry as ``test_contract_schemas``; here the responses are the ones the issue-10
actions read back after they write: a rotated group token, a hook after a new secret and after
disabling, a member after a level change, a user after admin removal, a deploy token, the new
system hook and the runner the attacker registered. Schemas that do not exist in GitLab (SSH/GPG
keys, variables, settings, OAuth applications) are covered by the drill tests instead.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.integration.test_contract_schemas import SCHEMAS, validate

pytestmark = pytest.mark.skipif(not SCHEMAS.is_dir(), reason="GitLab schemas not available")


def _call(server: Any, method: str, path: str, **kw: Any) -> Any:
    r = requests.request(
        method,
        f"{server.url}/api/v4{path}",
        timeout=10,
        headers={"PRIVATE-TOKEN": server.ADMIN_TOKEN},
        **kw,
    )
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


def test_rotated_resource_token(fresh_drill: Any) -> None:
    renovate = next(t for t in fresh_drill.state.tokens.values() if t.name == "renovate")
    rotated = _call(fresh_drill, "POST", f"/groups/3/access_tokens/{renovate.id}/rotate")
    # The rotate answer is the token entity plus the new value, once (GitLab's schema for
    # the entity forbids extra fields, so the value is checked apart).
    assert rotated.pop("token").startswith("glpat-")
    validate(rotated, "resource_access_token.json")
    validate(
        _call(fresh_drill, "GET", f"/groups/3/access_tokens/{rotated['id']}"),
        "resource_access_token.json",
    )
    old = _call(fresh_drill, "GET", f"/groups/3/access_tokens/{renovate.id}")
    assert old["revoked"] is True
    validate(old, "resource_access_token.json")


def test_hooks_after_new_secret_and_disable(fresh_drill: Any) -> None:
    s = fresh_drill
    project = next(h for h in s.state.hooks.values() if h.scope == "project" and h.owner_id == 3)
    body = _call(
        s,
        "PUT",
        f"/projects/3/hooks/{project.id}",
        json={"url": project.url, "token": "a-new-secret-value"},
    )
    validate(body, "project_hook.json")  # additionalProperties false: no token field
    off = {k: False for k in body if k.endswith("_events")}
    validate(
        _call(s, "PUT", f"/projects/3/hooks/{project.id}", json={"url": project.url, **off}),
        "project_hook.json",
    )
    hooks = _call(s, "GET", "/hooks")
    assert any(h["url"].startswith("https://telemetry-collector") for h in hooks)
    validate(hooks, "system_hooks.json")


def test_member_after_level_change_and_user_after_admin_removal(fresh_drill: Any) -> None:
    s = fresh_drill
    _call(s, "PUT", "/groups/3/members/7", json={"access_level": 30})
    validate(_call(s, "GET", "/groups/3/members"), "members.json")
    user = _call(s, "PUT", "/users/9", json={"admin": False})
    assert user["is_admin"] is False
    validate(_call(s, "GET", "/users/9"), "user/admin.json")


def test_attacker_deploy_token_and_runner(drill: Any) -> None:
    dt = next(d for d in drill.state.deploy_tokens.values() if d.name == "tf-mirror")
    validate(_call(drill, "GET", f"/projects/3/deploy_tokens/{dt.id}"), "deploy_token.json")
    rid = next(r.id for r in drill.state.runners.values() if r.description == "build-07")
    for manager in _call(drill, "GET", f"/runners/{rid}/managers"):
        validate(manager, "runner_manager.json")
    for project in _call(drill, "GET", f"/runners/{rid}")["projects"]:
        validate(project, "project/identity.json")
