"""The per-user dossier against the drill: the taken-over account, its blast radius, Free tier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.config import ConnectionConfig, build_gitlab
from console.dossier import Dossier, fetch_dossier
from console.drill import seed
from console.drill.server import DrillOptions, DrillServer
from console.secret import Secret, redact_url


def _window(days: int = 14) -> tuple[str, str]:
    now = datetime.now(UTC)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return ((now - timedelta(days=days)).strftime(fmt), (now + timedelta(hours=1)).strftime(fmt))


def _gl(server: Any, token: str | None = None) -> Any:
    cfg = ConnectionConfig(url=server.url, timeout=20.0)
    return build_gitlab(cfg, Secret(token or DrillServer.ADMIN_TOKEN))


def _taken_over_user(gl: Any) -> dict[str, Any]:
    """Find the compromised account by its traces, not by name.

    Tokens used from the attacker's address lead to the accounts involved; of those, the one
    that existed long before the incident (the helper account is freshly registered) is the
    account that was taken over.
    """
    tokens = gl.personal_access_tokens.list(get_all=True)
    owners = {
        t.user_id for t in tokens if seed.ATTACKER_IP in (t.asdict().get("last_used_ips") or [])
    }
    assert owners, "no token was used from the attacker's address"
    users = [gl.users.get(uid).asdict() for uid in owners]
    users = [u for u in users if u.get("current_sign_in_ip") == seed.ATTACKER_IP] or users
    return min(users, key=lambda u: u["created_at"])


@pytest.fixture(scope="module")
def dossier(drill: Any) -> Iterator[tuple[Dossier, dict[str, Any]]]:
    gl = _gl(drill)
    user = _taken_over_user(gl)
    yield fetch_dossier(gl, user["id"], _window()), user


def test_the_taken_over_account_is_found_by_its_traces(
    dossier: tuple[Dossier, dict[str, Any]],
) -> None:
    _, user = dossier
    assert user["username"] == seed.COMPROMISED_USERNAME


def test_every_section_comes_back_without_problems(
    dossier: tuple[Dossier, dict[str, Any]],
) -> None:
    d, user = dossier
    assert [s.name for s in d.sections] == [
        "profile",
        "emails",
        "memberships",
        "tokens",
        "impersonation_tokens",
        "ssh_keys",
        "gpg_keys",
        "events",
        "audit_events",
        "blast_radius",
    ]
    assert d.problems == [], [(s.name, s.problem) for s in d.problems]
    profile = d.profile.items
    assert isinstance(profile, dict) and profile["id"] == user["id"]
    assert profile["current_sign_in_ip"] == seed.ATTACKER_IP
    assert "identities" in profile and "sign_in_count" in profile


def test_tokens_keys_and_memberships_show_the_attackers_changes(
    dossier: tuple[Dossier, dict[str, Any]],
) -> None:
    d, _ = dossier
    tokens = d.tokens.items
    assert isinstance(tokens, list) and tokens
    assert all("token" not in t for t in tokens)
    assert all("last_used_ips" in t for t in tokens)
    attacker_tokens = [t for t in tokens if seed.ATTACKER_IP in (t["last_used_ips"] or [])]
    assert attacker_tokens and any(t["expires_at"] is None for t in attacker_tokens)
    assert isinstance(d.ssh_keys.items, list) and d.ssh_keys.items
    memberships = d.memberships.items
    assert isinstance(memberships, list)
    assert all(isinstance(m["access_level"], int) for m in memberships)
    assert any(m["access_level"] == 50 for m in memberships)
    assert isinstance(d.events.items, list) and d.events.items


def test_audit_events_cover_actions_by_and_about_the_user(
    dossier: tuple[Dossier, dict[str, Any]],
) -> None:
    d, user = dossier
    events = d.audit_events.items
    assert isinstance(events, list) and events
    relations = {e["relation"] for e in events}
    assert "by" in relations or "about+by" in relations
    uid = user["id"]
    assert all(
        e["author_id"] == uid or (e["entity_type"] == "User" and e["entity_id"] == uid)
        for e in events
    )
    assert d.audit_events.note and "author" in d.audit_events.note
    times = [e["created_at"] for e in events]
    assert times == sorted(times, reverse=True)


def test_blast_radius_lists_credentials_to_rotate_without_values(
    drill: Any, dossier: tuple[Dossier, dict[str, Any]]
) -> None:
    d, _ = dossier
    entries = d.blast_radius.items
    assert isinstance(entries, list) and entries
    assert all(e["access_level"] >= 40 for e in entries)
    assert all(not e["errors"] for e in entries), [e["errors"] for e in entries]
    variables = [v for e in entries for v in (e["variables"] or [])]
    assert any(v["protected"] for v in variables)
    assert all(
        set(v) == {"key", "protected", "masked", "hidden", "environment_scope"} for v in variables
    )
    hooks = [h for e in entries for h in (e["hooks"] or [])]
    assert any(h["url"] == seed.ATTACKER_HOOK_URL for h in hooks)
    runners = [r for e in entries for r in (e["runners"] or [])]
    assert runners
    assert "protected" in (d.blast_radius.note or "")
    # no secret value of the drill may appear anywhere in the dossier
    dumped = json.dumps([s.items for s in d.sections], default=str)
    state = drill.state
    secrets = [v.value for v in state.variables] + [t.value for t in state.tokens.values()]
    secrets += [h.token for h in state.hooks.values() if h.token]
    secrets += [t.token for t in state.deploy_tokens.values()]
    secrets += [r.token for r in state.runners.values()]
    leaked = [s for s in secrets if s and len(s) >= 8 and s in dumped]
    assert leaked == []


def test_free_tier_gives_the_audit_problem_instead_of_crashing() -> None:
    server = DrillServer(DrillOptions(users=60, tier="free"))
    server.start()
    try:
        gl = _gl(server)
        user = _taken_over_user(gl)
        d = fetch_dossier(gl, user["id"], _window())
    finally:
        server.stop()
    problem = d.audit_events.problem
    assert problem is not None and d.audit_events.items is None
    assert "audit events need Premium; showing contribution events instead" in problem.detail
    assert isinstance(d.events.items, list) and d.events.items
    assert d.profile.problem is None and d.tokens.problem is None


def test_non_admin_token_gets_section_problems_not_a_crash(drill: Any) -> None:
    gl = _gl(drill, DrillServer.USER_TOKEN)
    uid = gl.users.list(username=seed.COMPROMISED_USERNAME)[0].id
    d = fetch_dossier(gl, uid, _window())
    assert d.memberships.problem is not None
    assert d.blast_radius.items is None
    assert d.profile.problem is None  # public profile is still readable
    assert isinstance(d.profile.items, dict) and "current_sign_in_ip" not in d.profile.items
    assert d.profile.note


def test_mask_url_removes_credentials() -> None:
    assert redact_url("https://u:p@hooks.example.com/x?token=abc&b=1")[0] == (
        "https://***@hooks.example.com/x?token=***&b=***"
    )
    assert redact_url("https://hooks.example.com/c/7f3e")[0] == "https://hooks.example.com/c/7f3e"
    # the credential in the path itself (Slack-style) is masked; the host stays visible
    slack = "https://hooks.slack.com/services/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"
    assert redact_url(slack) == ("https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/***", True)


def test_blast_radius_includes_projects_inherited_from_owned_groups(
    drill: Any, dossier: tuple[Dossier, dict[str, Any]]
) -> None:
    d, _ = dossier
    entries = d.blast_radius.items
    assert isinstance(entries, list)
    direct_groups = {
        m["source_id"]
        for m in d.memberships.items or []  # type: ignore[union-attr]
        if m["source_type"] == "Namespace" and m["access_level"] >= 40
    }
    expected = {p.id for p in drill.state.projects.values() if p.group_id in direct_groups}
    inherited = {
        e["source_id"] for e in entries if e["source_type"] == "project" and e["inherited_from"]
    }
    direct_projects = {
        e["source_id"] for e in entries if e["source_type"] == "project" and not e["inherited_from"]
    }
    assert expected and expected <= inherited | direct_projects
