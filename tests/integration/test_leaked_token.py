"""A pasted token identified through GitLab, with a fallback that says plainly when it cannot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actions import run_plan
from actions.leaked_token import identify_token
from actions.plan import build_plan
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret
from console.store import Store


def _gl(server: Any) -> Any:
    return build_gitlab(ConnectionConfig(url=server.url), Secret(server.ADMIN_TOKEN))


def _tok(server: Any, name: str) -> Any:
    return next(t for t in server.state.tokens.values() if t.name == name)


def test_known_token_is_identified_and_revoked_in_one_step(
    fresh_drill: Any, tmp_path: Path
) -> None:
    s = fresh_drill
    leaked = _tok(s, "support-session")
    found = identify_token(_gl(s), Secret(leaked.value))
    assert found.found and found.how == "token information API"
    assert (found.kind, found.owner) == ("impersonation", "root")
    assert found.token is not None and found.token["scopes"] == ["api", "sudo"]
    assert found.token["last_used_ips"] == ["203.0.113.66"] and found.token["created_at"]
    assert leaked.value not in repr(found)
    choices = found.actions()
    assert [a.name for a, _ in choices] == ["revoke_token"]  # no rotate for impersonation
    action, target = choices[0]
    store = Store.open(tmp_path / "c.db")
    inc = int(store.create_incident("t", "compromised-account", None, s.url, None, None).id)
    out = run_plan(store, inc, _gl(s), build_plan(action, [target])).outcomes[0]
    assert out.state == "done" and leaked.revoked
    assert ("DELETE", f"/users/1/impersonation_tokens/{leaked.id}", 204) in s.writes()
    group = identify_token(_gl(s), Secret(_tok(s, "renovate").value))
    assert group.kind == "group" and [a.name for a, _ in group.actions()] == [
        "revoke_token",
        "rotate_token",
    ]


def test_deploy_and_runner_tokens(drill: Any) -> None:
    dt = next(d for d in drill.state.deploy_tokens.values() if d.name == "tf-mirror")
    found = identify_token(_gl(drill), Secret(dt.token))
    assert found.kind == "deploy" and "does not say which project" in found.message
    runner = next(r for r in drill.state.runners.values() if r.description == "build-07")
    found = identify_token(_gl(drill), Secret(runner.token))
    assert found.kind == "runner" and [a.name for a, _ in found.actions()] == ["delete_runner"]


def test_unknown_token_is_said_plainly(drill: Any) -> None:
    found = identify_token(_gl(drill), Secret("glpat-aaaaaaaaaaaaaaaaaaaa"))
    assert not found.found and "does not know this token" in found.message
    assert found.actions() == []


def test_older_gitlab_falls_back_and_never_uses_the_token_unasked(fresh_drill: Any) -> None:
    s = fresh_drill
    s.state.version = "17.2.0-ee"
    sync = _tok(s, "ci-sync")
    used = sync.last_used_at
    plain = identify_token(_gl(s), Secret(sync.value))
    assert not plain.found and plain.how == "prefix only"
    assert "could not identify" in plain.message and "personal" in plain.kind
    assert sync.last_used_at == used and s.requests_to("POST", "/admin/token") == 0
    asked = identify_token(_gl(s), Secret(sync.value), self_lookup=True)
    assert asked.found and asked.how == "asked as the token" and asked.owner == "mchen"
    sync.revoked = True
    dead = identify_token(_gl(s), Secret(sync.value), self_lookup=True)
    assert not dead.found and "rejects this token" in dead.message
    odd = identify_token(_gl(s), Secret("not-a-gitlab-token"))
    assert not odd.found and "form is not GitLab's" in odd.message


def test_facts_name_owner_kind_scopes_use_and_say_unknown(drill: Any) -> None:
    leaked = _tok(drill, "support-session")
    facts = dict(identify_token(_gl(drill), Secret(leaked.value)).facts())
    assert (facts["owner"], facts["kind"], facts["scopes"]) == (
        "root",
        "impersonation",
        "api, sudo",
    )
    assert facts["from"] == "203.0.113.66" and facts["created"] != "unknown"
    assert leaked.value not in repr(facts)
    unknown = dict(identify_token(_gl(drill), Secret("glpat-aaaaaaaaaaaaaaaaaaaa")).facts())
    assert set(unknown.values()) == {
        "unknown",
        "personal, impersonation or group/project access token",
    }
