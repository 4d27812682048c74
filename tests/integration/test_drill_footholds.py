"""Drill endpoints for eradication (issue 10), with GitLab's semantics and audit events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests

from console.drill.footholds import ATTACKER_SYSTEM_HOOK_URL
from console.drill.timefmt import iso


def _req(
    server: Any, method: str, path: str, token: str | None = None, **kw: Any
) -> requests.Response:
    headers = {"PRIVATE-TOKEN": token or server.ADMIN_TOKEN}
    return requests.request(method, f"{server.url}/api/v4{path}", headers=headers, timeout=10, **kw)


def _events(server: Any, name: str) -> list[dict[str, Any]]:
    return [e for e in server.state.audit if e.event_name == name]


def _token(server: Any, name: str) -> Any:
    return next(t for t in server.state.tokens.values() if t.name == name)


def test_group_token_is_404_through_the_personal_token_endpoint(fresh_drill: Any) -> None:
    s = fresh_drill
    renovate = _token(s, "renovate")  # group 3's access token
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/rotate")):
        r = _req(s, method, f"/personal_access_tokens/{renovate.id}{suffix}")
        assert r.status_code == 404, (method, r.text)
        assert r.json() == {"message": "404 Personal Access Token Not Found"}
    assert not renovate.revoked
    r = _req(s, "POST", f"/groups/3/access_tokens/{renovate.id}/rotate")
    assert r.status_code == 200 and r.json()["token"].startswith("glpat-")
    assert renovate.revoked and renovate.rotated_to == r.json()["id"]
    # the wrong owner is 404 too
    assert _req(s, "GET", f"/groups/2/access_tokens/{r.json()['id']}").status_code == 404
    # GitLab has no REST call to rotate an impersonation token
    imp = _token(s, "support-session")
    assert _req(s, "POST", f"/users/1/impersonation_tokens/{imp.id}/rotate").status_code == 404


def test_ssh_and_gpg_keys_get_delete_revoke(fresh_drill: Any) -> None:
    s = fresh_drill
    key = s.state.ssh_keys[7][-1]
    assert _req(s, "GET", f"/users/7/keys/{key.id}").json()["title"] == "build-07"
    assert _req(s, "DELETE", f"/users/7/keys/{key.id}", token=s.USER_TOKEN).status_code == 403
    assert _req(s, "DELETE", f"/users/7/keys/{key.id}").status_code == 204
    assert _req(s, "GET", f"/users/7/keys/{key.id}").status_code == 404
    assert _req(s, "DELETE", f"/users/7/keys/{key.id}").status_code == 404
    assert _events(s, "remove_ssh_key")[-1].details["target_id"] == key.id
    gpg = s.state.gpg_keys[7][0]
    assert [k["id"] for k in _req(s, "GET", "/users/7/gpg_keys").json()] == [gpg.id]
    revoke = _req(s, "POST", f"/users/7/gpg_keys/{gpg.id}/revoke")
    assert revoke.status_code == 202 and revoke.content == b""
    assert _req(s, "GET", f"/users/7/gpg_keys/{gpg.id}").status_code == 404
    other = s.state.gpg_keys[4][0]
    assert _req(s, "DELETE", f"/users/4/gpg_keys/{other.id}").status_code == 204
    assert len(_events(s, "remove_gpg_key")) == 2


def test_runner_details_reset_pause_delete(fresh_drill: Any) -> None:
    s = fresh_drill
    rid = next(r.id for r in s.state.runners.values() if r.description == "build-07")
    listed = next(r for r in _req(s, "GET", "/runners/all").json() if r["id"] == rid)
    assert listed["created_by"] is None  # the list lacks who registered it
    detail = _req(s, "GET", f"/runners/{rid}").json()
    assert detail["created_by"]["username"] == "mchen" and detail["created_at"]
    assert _req(
        s, "POST", f"/runners/{rid}/reset_authentication_token", token=s.USER_TOKEN
    ).status_code in (403, 404)
    reset = _req(s, "POST", f"/runners/{rid}/reset_authentication_token")
    assert reset.status_code == 201 and reset.json()["token"].startswith("glrt-")
    paused = _req(s, "PUT", f"/runners/{rid}", json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert _req(s, "DELETE", f"/runners/{rid}").status_code == 204
    assert _req(s, "GET", f"/runners/{rid}").status_code == 404
    assert _events(s, "ci_runner_token_reset")[-1].details["target_id"] == rid
    assert _events(s, "ci_runner_unregistered")[-1].details["target_id"] == rid


def test_hooks_secret_disable_delete(fresh_drill: Any) -> None:
    s = fresh_drill
    system = next(h for h in s.state.hooks.values() if h.url == ATTACKER_SYSTEM_HOOK_URL)
    assert system.scope == "system" and system.created_by == 7
    r = _req(s, "PUT", f"/hooks/{system.id}", json={"url": system.url, "token": "n3w-s3cret"})
    assert r.status_code == 200 and "token" not in r.json() and system.token == "n3w-s3cret"
    off = {k: False for k in r.json() if k.endswith("_events")}
    r = _req(s, "PUT", f"/hooks/{system.id}", json={"url": system.url, **off})
    assert not any(v for k, v in r.json().items() if k.endswith("_events"))
    assert _req(s, "DELETE", f"/hooks/{system.id}", token=s.USER_TOKEN).status_code == 403
    assert _req(s, "DELETE", f"/hooks/{system.id}").status_code == 204
    assert _events(s, "webhook_destroyed")[-1].details["target_type"] == "SystemHook"
    assert _req(s, "GET", f"/hooks/{system.id}").status_code == 404


def test_variables_hidden_value_is_never_returned(fresh_drill: Any) -> None:
    s = fresh_drill
    pip = _req(s, "GET", "/projects/3/variables/PIP_INDEX_URL").json()
    assert pip["protected"] is True and pip["value"].startswith("https://pypi-mirror")
    hidden = _req(s, "GET", "/groups/3/variables/AWS_SECRET_ACCESS_KEY").json()
    assert hidden["hidden"] is True and hidden["value"] is None
    r = _req(s, "PUT", "/groups/3/variables/AWS_SECRET_ACCESS_KEY", json={"value": "short"})
    assert r.status_code == 400  # masked: at least 8 characters
    r = _req(
        s, "PUT", "/groups/3/variables/AWS_SECRET_ACCESS_KEY", json={"value": "rotated-value-0001"}
    )
    assert r.status_code == 200 and r.json()["value"] is None
    event = _events(s, "ci_group_variable_updated")[-1]
    assert "rotated-value-0001" not in repr(event.details)


def test_admin_flag_memberships_and_2fa(fresh_drill: Any) -> None:
    s = fresh_drill
    assert _req(s, "PUT", "/users/9", json={"admin": False}).json()["is_admin"] is False
    assert _events(s, "user_admin_status_updated")[-1].details["to"] == "false"
    r = _req(s, "PUT", "/groups/3/members/7", json={"access_level": 30})
    assert r.status_code == 200 and r.json()["access_level"] == 30
    assert _req(s, "DELETE", "/groups/3/members/9").status_code == 204
    assert _req(s, "GET", "/groups/3/members/9").status_code == 404
    assert _req(s, "DELETE", "/groups/8/members/1").status_code == 403  # its last Owner
    # 2FA: PATCH is GitLab's verb; an admin's 2FA cannot be disabled through the API
    assert _req(s, "DELETE", "/users/5/disable_two_factor").status_code == 405
    r = _req(s, "PATCH", "/users/5/disable_two_factor")
    assert r.status_code == 403 and "Rails console" in r.json()["message"]
    assert _req(s, "PATCH", "/users/8/disable_two_factor").status_code == 400  # has none
    assert _req(s, "PATCH", "/users/10/disable_two_factor").status_code == 204
    settings = _req(
        s,
        "PUT",
        "/application/settings",
        json={"require_two_factor_authentication": True, "two_factor_grace_period": 0},
    ).json()
    assert settings["require_two_factor_authentication"] is True
    assert settings["two_factor_grace_period"] == 0
    group = _req(s, "PUT", "/groups/3", json={"require_two_factor_authentication": True}).json()
    assert group["require_two_factor_authentication"] is True
    assert _req(
        s, "PUT", "/groups/3", token=s.USER_TOKEN, json={"require_two_factor_authentication": False}
    ).status_code in (403, 404)


def test_oauth_applications_are_instance_wide_only(fresh_drill: Any) -> None:
    s = fresh_drill
    apps = _req(s, "GET", "/applications").json()
    assert [a["application_name"] for a in apps] == ["GitLab Sync"]
    assert "secret" not in apps[0]
    assert _req(s, "GET", "/applications", token=s.USER_TOKEN).status_code == 403
    assert _req(s, "DELETE", f"/applications/{apps[0]['id']}").status_code == 204
    assert _req(s, "DELETE", f"/applications/{apps[0]['id']}").status_code == 404
    assert _req(s, "GET", "/applications").json() == []
    assert _events(s, "oauth_application_deleted")


def test_token_information(fresh_drill: Any) -> None:
    s = fresh_drill
    sync = _token(s, "ci-sync")
    r = _req(s, "POST", "/admin/token", json={"token": sync.value})
    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["user_id"], body["scopes"]) == (sync.id, 7, ["api"])
    assert body["created_at"] and body["last_used_at"] and "token" not in body
    dt = next(d for d in s.state.deploy_tokens.values() if d.name == "tf-mirror")
    assert (
        _req(s, "POST", "/admin/token", json={"token": dt.token}).json()["token_type"]
        == "DeployToken"
    )
    unknown = _req(s, "POST", "/admin/token", json={"token": "glpat-not-a-real-token-00"})
    assert unknown.status_code == 404
    assert (
        _req(s, "POST", "/admin/token", token=s.USER_TOKEN, json={"token": sync.value}).status_code
        == 403
    )
    assert _req(s, "POST", "/admin/token", json={}).status_code == 400
    s.state.version = "17.4.2-ee"
    assert _req(s, "POST", "/admin/token", json={"token": sync.value}).status_code == 404


def test_self_rotate_and_request_log(fresh_drill: Any) -> None:
    s = fresh_drill
    before = s.requests_to("POST", "/personal_access_tokens/self/rotate")
    r = _req(s, "POST", "/personal_access_tokens/self/rotate", token=s.USER_TOKEN)
    assert r.status_code == 200 and r.json()["user_id"] == 10
    assert s.requests_to("POST", "/personal_access_tokens/self/rotate") == before + 1
    assert _req(s, "GET", "/user", token=s.USER_TOKEN).status_code == 401
    assert _req(s, "GET", "/user", token=r.json()["token"]).status_code == 200
    assert ("POST", "/personal_access_tokens/self/rotate", 200) in s.writes()
    assert all("?" not in path for _, path, _ in s.request_log)


def test_seed_footholds_match_the_audit_log(drill: Any) -> None:
    state = drill.state
    since = iso(state.now - timedelta(days=4)) or ""
    by_mchen = [e for e in state.audit if e.author_id == 7 and e.created_at >= since]
    names = {e.event_name for e in by_mchen}
    assert {
        "personal_access_token_created",
        "add_ssh_key",
        "add_gpg_key",
        "webhook_created",
        "ci_runner_created",
        "user_admin_status_updated",
        "member_created",
        "member_updated",
        "ci_variable_updated",
        "deploy_token_created",
        "oauth_application_created",
        "user_disable_two_factor",
    } <= names
    made_for = {
        e.details["target_id"] for e in by_mchen if e.event_name == "personal_access_token_created"
    }
    assert {1, 7, 8} <= made_for  # root (impersonation), himself, lnguyen
    imp = _token(drill, "support-session")
    assert imp.impersonation and imp.user_id == 1 and not imp.revoked
    assert state.users[8].two_factor is False and state.users[9].is_admin


def test_400_and_409_where_gitlab_answers_so(fresh_drill: Any) -> None:
    s = fresh_drill
    renovate = _token(s, "renovate")
    assert _req(s, "DELETE", f"/groups/3/access_tokens/{renovate.id}").status_code == 204
    again = _req(s, "POST", f"/groups/3/access_tokens/{renovate.id}/rotate")
    assert again.status_code == 400 and "already revoked" in again.json()["message"]
    dup = _req(s, "POST", "/groups/3/members", json={"user_id": 9, "access_level": 40})
    assert dup.status_code == 409 and dup.json() == {"message": "Member already exists"}
    s.state.variables.append(
        type(s.state.variables[0])("project", 3, "PIP_INDEX_URL", "x", environment_scope="staging")
    )
    ambiguous = _req(s, "PUT", "/projects/3/variables/PIP_INDEX_URL", json={"value": "y" * 8})
    assert (
        ambiguous.status_code == 409 and "filter[environment_scope]" in ambiguous.json()["message"]
    )
