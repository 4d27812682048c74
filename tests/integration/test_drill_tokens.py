"""Drill token APIs: PAT list/get/revoke/rotate, reuse detection, resource and deploy tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab
import pytest
import requests


def _req(
    server: Any, method: str, path: str, token: str | None = None, **kw: Any
) -> requests.Response:
    headers = {"PRIVATE-TOKEN": token or server.ADMIN_TOKEN}
    return requests.request(method, f"{server.url}/api/v4{path}", headers=headers, timeout=10, **kw)


def _token_id(server: Any, user_id: int, name: str) -> int:
    rows = _req(
        server, "GET", "/personal_access_tokens", params={"user_id": user_id, "per_page": 100}
    ).json()
    return next(t["id"] for t in rows if t["name"] == name)


def test_admin_lists_every_pat_with_filters(drill: Any) -> None:
    gl = gitlab.Gitlab(drill.url, private_token=drill.ADMIN_TOKEN, timeout=10)
    everything = gl.personal_access_tokens.list(get_all=True)
    assert len(everything) > 50
    mchen = gl.personal_access_tokens.list(user_id=7, get_all=True)
    assert {t.name for t in mchen} == {"laptop-cli", "ci-sync", "backup-sync"}  # seed: issue 10
    sync = next(t for t in mchen if t.name == "ci-sync")
    assert sync.expires_at is None and sync.scopes == ["api"] and sync.active
    assert sync.last_used_ips == ["203.0.113.66"]
    active = gl.personal_access_tokens.list(state="active", get_all=True)
    assert all(t.active for t in active) and len(active) < len(everything)
    revoked = gl.personal_access_tokens.list(revoked=True, get_all=True)
    assert revoked and all(t.revoked for t in revoked)
    assert [t.name for t in gl.personal_access_tokens.list(search="CI-SY", get_all=True)] == [
        "ci-sync"
    ]
    recent = gl.personal_access_tokens.list(
        created_after=(datetime.now(UTC) - timedelta(days=4)).isoformat(), get_all=True
    )
    assert {"ci-sync", "automation"} <= {t.name for t in recent}
    missing = _req(drill, "GET", "/personal_access_tokens", params={"user_id": 999999})
    assert missing.status_code == 404


def test_non_admin_sees_only_own_tokens(drill: Any) -> None:
    own = _req(drill, "GET", "/personal_access_tokens", token=drill.USER_TOKEN).json()
    assert own and all(t["user_id"] == 10 for t in own)
    other = _req(
        drill, "GET", "/personal_access_tokens", token=drill.USER_TOKEN, params={"user_id": 7}
    )
    assert other.status_code == 401
    sync = _token_id(drill, 7, "ci-sync")
    assert (
        _req(drill, "GET", f"/personal_access_tokens/{sync}", token=drill.USER_TOKEN).status_code
        == 401
    )
    assert _req(drill, "GET", "/personal_access_tokens/999999").status_code == 404
    me = _req(drill, "GET", "/personal_access_tokens/self", token=drill.USER_TOKEN).json()
    assert me["user_id"] == 10 and "token" not in me


def test_revoke_is_204_and_repeatable_and_kills_the_token(fresh_drill: Any) -> None:
    s = fresh_drill
    tid = _token_id(s, 10, "cli")
    first = _req(s, "DELETE", f"/personal_access_tokens/{tid}")
    assert first.status_code == 204 and first.content == b""
    assert _req(s, "DELETE", f"/personal_access_tokens/{tid}").status_code == 204
    after = _req(s, "GET", "/user", token=s.USER_TOKEN)
    assert after.status_code == 401
    assert after.json()["error"] == "invalid_token"
    detail = _req(s, "GET", f"/personal_access_tokens/{tid}").json()
    assert detail["revoked"] is True and detail["active"] is False
    events = _req(s, "GET", "/audit_events").json()
    revokes = [e for e in events if e["event_name"] == "personal_access_token_revoked"]
    assert len(revokes) == 1  # the repeated revoke wrote nothing new
    assert revokes[0]["author_id"] == 1 and revokes[0]["details"]["target_id"] == 10


def test_rotate_returns_new_token_expiring_in_7_days(fresh_drill: Any) -> None:
    s = fresh_drill
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    tid = _token_id(s, 10, "cli")
    fresh = gl.personal_access_tokens.rotate(tid)
    assert fresh["id"] != tid and fresh["token"].startswith("glpat-")
    today = datetime.now(UTC).date()
    assert fresh["expires_at"] == (today + timedelta(days=7)).isoformat()
    assert _req(s, "GET", "/user", token=s.USER_TOKEN).status_code == 401  # old one revoked
    assert _req(s, "GET", "/user", token=fresh["token"]).json()["username"] == "jlee"
    # Rotating the revoked original by id is a 400.
    with pytest.raises(gitlab.exceptions.GitlabRotateError) as err:
        gl.personal_access_tokens.rotate(tid)
    assert err.value.response_code == 400
    wanted = (today + timedelta(days=30)).isoformat()
    custom = gl.personal_access_tokens.rotate(fresh["id"], expires_at=wanted)
    assert custom["expires_at"] == wanted
    with pytest.raises(gitlab.exceptions.GitlabRotateError) as too_long:
        gl.personal_access_tokens.rotate(custom["id"], expires_at="2099-01-01")
    assert too_long.value.response_code == 400  # beyond the one-year maximum lifetime


def test_reusing_a_rotated_token_revokes_the_family(fresh_drill: Any) -> None:
    s = fresh_drill
    old = s.USER_TOKEN
    rotated = _req(s, "POST", "/personal_access_tokens/self/rotate", token=old)
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert _req(s, "GET", "/user", token=new).status_code == 200
    reuse = _req(s, "POST", "/personal_access_tokens/self/rotate", token=old)
    assert reuse.status_code == 401
    assert _req(s, "GET", "/user", token=new).status_code == 401  # family revoked


def test_expired_and_unknown_tokens_are_401(fresh_drill: Any) -> None:
    s = fresh_drill
    expired = next(t for t in s.state.tokens.values() if t.name == "release")
    r = _req(s, "GET", "/user", token=expired.value)
    assert r.status_code == 401 and r.json()["error_description"] == "Token has expired."
    assert _req(s, "GET", "/user", token="glpat-not-a-token").json() == {
        "message": "401 Unauthorized"
    }


def test_read_api_token_cannot_write(fresh_drill: Any) -> None:
    s = fresh_drill
    review = next(t for t in s.state.tokens.values() if t.name == "review-tool")
    assert _req(s, "GET", "/users/7", token=review.value).status_code == 200
    r = _req(s, "POST", "/users/7/block", token=review.value)
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"


def test_group_and_project_access_tokens(fresh_drill: Any) -> None:
    s = fresh_drill
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    group = gl.groups.get(3, lazy=True)
    tokens = group.access_tokens.list(get_all=True)
    assert [t.name for t in tokens] == ["renovate"]
    created = group.access_tokens.create(
        {
            "name": "ir-probe",
            "scopes": ["read_api"],
            "access_level": 20,
            "expires_at": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
        }
    )
    assert created.token and created.access_level == 20
    bot = gl.users.get(created.user_id)
    assert bot.bot is True and bot.username.startswith("group_3_bot_")
    rotated = group.access_tokens.rotate(created.id)
    assert rotated["id"] != created.id
    group.access_tokens.delete(rotated["id"])
    states = {t.id: t.revoked for t in group.access_tokens.list(get_all=True)}
    assert states[created.id] and states[rotated["id"]]
    with pytest.raises(gitlab.exceptions.GitlabCreateError):
        group.access_tokens.create({"name": "x", "scopes": ["api"]})  # expires_at required
    names = [e["event_name"] for e in _req(s, "GET", "/groups/3/audit_events").json()]
    assert "group_access_token_created" in names and "group_access_token_deleted" in names
    project = gl.projects.get(5, lazy=True)
    assert [t.name for t in project.access_tokens.list(get_all=True)] == ["argo-deployer"]
    # A Developer may not manage another group's tokens.
    assert _req(s, "GET", "/groups/3/access_tokens", token=s.USER_TOKEN).status_code == 404


def test_deploy_tokens_and_keys(fresh_drill: Any) -> None:
    s = fresh_drill
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    everything = gl.deploytokens.list(get_all=True)
    # 5 since issue 10: the attacker's tf-mirror deploy token joined the seed
    assert len(everything) == 5 and all("token" not in t.attributes for t in everything)
    project = gl.projects.get(5, lazy=True)
    made = project.deploytokens.create({"name": "ir", "scopes": ["read_repository"]})
    assert made.token.startswith("gldt-")
    project.deploytokens.delete(made.id)
    keys = gl.deploykeys.list(get_all=True)
    assert {k.title for k in keys} == {"jenkins-deploy", "argocd", "backup-readonly"}
    assert any(k.projects_with_write_access for k in keys)
    p6 = gl.projects.get(6, lazy=True)
    assert [k.can_push for k in p6.keys.list(get_all=True)] == [True]
    p6.keys.delete(p6.keys.list(get_all=True)[0].id)
    events = [e["event_name"] for e in _req(s, "GET", "/audit_events").json()]
    assert {"deploy_token_created", "deploy_token_destroyed", "deploy_key_removed"} <= set(events)


def test_secrets_are_never_returned(drill: Any) -> None:
    gl = gitlab.Gitlab(drill.url, private_token=drill.ADMIN_TOKEN, timeout=10)
    group_vars = {v.key: v for v in gl.groups.get(3, lazy=True).variables.list(get_all=True)}
    hidden = group_vars["AWS_SECRET_ACCESS_KEY"]
    assert hidden.hidden is True and hidden.value is None and hidden.protected
    assert group_vars["VAULT_ADDR"].value == "https://vault.corp.example.com"
    hooks = [h.attributes for h in gl.hooks.list(get_all=True)]
    hooks += [h.attributes for h in gl.projects.get(3, lazy=True).hooks.list(get_all=True)]
    assert hooks and all("token" not in h for h in hooks)
    runner = gl.runners.get(7).attributes
    assert "token" not in runner
    state = drill.state
    secrets = [v.value for v in state.variables if v.masked or v.hidden]
    secrets += [h.token for h in state.hooks.values()]
    secrets += [t.value for t in state.tokens.values()]
    secrets += [r.token for r in state.runners.values()]
    dumped = requests.get(
        f"{drill.url}/api/v4/audit_events",
        timeout=10,
        params={"per_page": 100},
        headers={"PRIVATE-TOKEN": drill.ADMIN_TOKEN},
    ).text
    dumped += str([h for h in hooks])
    assert not [s for s in secrets if s and s in dumped]


def test_variable_update_and_masking_rules(fresh_drill: Any) -> None:
    s = fresh_drill
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    project = gl.projects.get(3, lazy=True)
    hidden = project.variables.get("TF_VAR_db_password")
    assert hidden.value is None
    hidden.value = "new-long-secret-value"
    hidden.save()
    with pytest.raises(gitlab.exceptions.GitlabUpdateError):
        project.variables.update("TF_VAR_db_password", {"value": "short"})  # masked: >= 8
    with pytest.raises(gitlab.exceptions.GitlabUpdateError):
        project.variables.update("TF_VAR_db_password", {"masked": False})  # hidden stays masked
    created = project.variables.create(
        {"key": "IR_TEST", "value": "x" * 12, "masked_and_hidden": True, "protected": True}
    )
    assert created.hidden is True and created.value is None
    assert s.state.variables[-1].value == "x" * 12
    events = requests.get(
        f"{s.url}/api/v4/projects/3/audit_events",
        timeout=10,
        headers={"PRIVATE-TOKEN": s.ADMIN_TOKEN},
    ).json()
    assert {"ci_variable_updated", "ci_variable_created"} <= {e["event_name"] for e in events}
    assert "new-long-secret-value" not in json.dumps(events)
