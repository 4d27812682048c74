"""Drill audit events: window rule, filters, pagination, tiers, scenario traces, own actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab
import requests

from console.drill.seed import ATTACKER_HOOK_URL, ATTACKER_IP
from console.drill.server import DrillOptions, DrillServer


def _get(server: Any, path: str, token: str | None = None, **params: Any) -> requests.Response:
    return requests.get(
        f"{server.url}/api/v4{path}",
        params=params,
        timeout=10,
        headers={"PRIVATE-TOKEN": token or server.ADMIN_TOKEN},
    )


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _all_events(
    server: Any, after_days: float, before_days: float = 0, bounds: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    gl = gitlab.Gitlab(server.url, private_token=server.ADMIN_TOKEN, timeout=10)
    after, before = bounds or (_ago(after_days), _ago(before_days))
    return list(
        gl.http_list(
            "/audit_events",
            iterator=True,
            pagination="keyset",
            order_by="id",
            sort="desc",
            per_page=100,
            created_after=after,
            created_before=before,
        )
    )


def test_window_over_30_days_is_rejected(drill: Any) -> None:
    r = _get(drill, "/audit_events", created_after=_ago(45), created_before=_ago(0))
    assert r.status_code == 400 and "30 days" in r.json()["message"]
    only_after = _get(drill, "/audit_events", created_after=_ago(31))
    assert only_after.status_code == 400  # created_before defaults to now
    ok = _get(drill, "/audit_events", created_after=_ago(60), created_before=_ago(31))
    assert ok.status_code == 200 and ok.json()
    assert all(_ago(60) <= e["created_at"] <= _ago(31) for e in ok.json())
    assert _get(drill, "/groups/3/audit_events", created_after=_ago(40)).status_code == 400


def test_default_window_is_the_last_30_days(drill: Any) -> None:
    events = _get(drill, "/audit_events", per_page=100).json()
    assert events and all(e["created_at"] >= _ago(30.01) for e in events)


def test_events_span_six_months_in_30_day_slices(drill: Any) -> None:
    bounds = [_ago(d) for d in range(0, 181, 30)]
    months = [_all_events(drill, 0, 0, (bounds[i + 1], bounds[i])) for i in range(6)]
    assert all(len(m) > 50 for m in months)
    seen: dict[int, int] = {}
    for m in months:
        for e in m:
            seen[e["id"]] = seen.get(e["id"], 0) + 1
            if seen[e["id"]] > 1:  # both bounds are inclusive: only boundary events repeat
                assert e["created_at"][:19] + "Z" in bounds


def test_keyset_is_newest_first_and_offset_matches(drill: Any) -> None:
    keyset = _all_events(drill, 10)
    ids = [e["id"] for e in keyset]
    assert ids == sorted(ids, reverse=True)
    offset = _get(drill, "/audit_events", created_after=_ago(10), per_page=100, page=1)
    assert [e["id"] for e in offset.json()] == ids[:100]
    asc = _get(drill, "/audit_events", pagination="keyset", order_by="id", sort="asc")
    assert asc.status_code == 405


def test_entity_filters(drill: Any) -> None:
    user_events = _get(
        drill, "/audit_events", entity_type="User", entity_id=7, created_after=_ago(5), per_page=100
    ).json()
    assert user_events and all(
        e["entity_type"] == "User" and e["entity_id"] == 7 for e in user_events
    )
    assert _get(drill, "/audit_events", entity_id=7).status_code == 400
    assert _get(drill, "/audit_events", entity_type="Bogus").status_code == 400


def test_event_shape(drill: Any) -> None:
    event = _get(drill, "/audit_events", per_page=1).json()[0]
    assert {
        "id",
        "author_id",
        "entity_id",
        "entity_type",
        "event_name",
        "details",
        "created_at",
    } <= set(event)
    assert event["details"]["event_name"] == event["event_name"]
    single = _get(drill, f"/audit_events/{event['id']}").json()
    assert single == event


def test_attacker_left_traces_in_every_category(drill: Any) -> None:
    recent = _all_events(drill, 3.5)
    from_attacker = [e for e in recent if e["details"].get("ip_address") == ATTACKER_IP]
    names = {e["event_name"] for e in from_attacker}
    assert {
        "authenticated_with_two_factor",
        "personal_access_token_created",
        "add_ssh_key",
        "user_disable_two_factor",
        "member_updated",
        "ci_runner_created",
        "webhook_created",
        "ci_variable_updated",
        "user_admin_status_updated",
    } <= names
    owner = next(e for e in from_attacker if e["event_name"] == "member_updated")
    assert owner["details"]["to"] == "Owner" and owner["entity_type"] == "Group"
    hook = next(e for e in from_attacker if e["event_name"] == "webhook_created")
    assert hook["details"]["target_details"] == ATTACKER_HOOK_URL
    # The attacker IP never appears before the intrusion, and is shared by two accounts.
    older = [
        e
        for start in range(3, 180, 30)
        for e in _all_events(drill, start + 30, start)
        if e["created_at"] < _ago(3.1)
    ]
    assert not any(e["details"].get("ip_address") == ATTACKER_IP for e in older)
    authors = {e["author_id"] for e in from_attacker if e["author_id"] > 0}
    assert len(authors) == 2


def test_free_tier_hides_audit_events_and_premium_endpoints() -> None:
    with DrillServer(DrillOptions(users=100, tier="free")) as free:
        for path in (
            "/audit_events",
            "/groups/3/audit_events",
            "/projects/3/audit_events",
            "/service_accounts",
            "/groups/2/hooks",
        ):
            r = _get(free, path)
            assert r.status_code == 404, path
        assert _get(free, "/users").status_code == 200
    with DrillServer(DrillOptions(users=100, tier="premium")) as premium:
        assert _get(premium, "/audit_events").status_code == 200


def test_group_and_project_scope_permissions(drill: Any) -> None:
    # jlee is a Developer of acme/web and Maintainer of web/storefront (project 6).
    own = _get(drill, "/projects/6/audit_events", token=drill.USER_TOKEN)
    assert own.status_code == 200
    assert _get(drill, "/projects/3/audit_events", token=drill.USER_TOKEN).status_code == 404
    group = _get(drill, "/groups/4/audit_events", token=drill.USER_TOKEN)
    assert group.status_code == 200 and all(e["author_id"] == 10 for e in group.json())
    assert _get(drill, "/audit_events", token=drill.USER_TOKEN).status_code == 403


def test_every_mutation_writes_an_audit_event_by_the_caller(fresh_drill: Any) -> None:
    s = fresh_drill
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    gl.users.get(32, lazy=True).block()
    gl.users.get(32, lazy=True).unblock()
    gl.http_patch("/users/10/disable_two_factor")
    gl.users.update(33, {"admin": True})
    tid = next(
        t.id for t in gl.personal_access_tokens.list(user_id=7, get_all=True) if t.name == "ci-sync"
    )
    gl.personal_access_tokens.delete(tid)
    user = gl.users.get(7, lazy=True)
    user.keys.delete(next(k.id for k in user.keys.list(get_all=True) if k.title == "build-07"))
    gl.http_post("/runners/7/reset_authentication_token")
    gl.runners.delete(7)
    project = gl.projects.get(3, lazy=True)
    project.hooks.delete(project.hooks.list(get_all=True)[0].id)
    var = project.variables.get("PIP_INDEX_URL")
    var.value = "https://pypi.org/simple"
    var.save()
    gl.groups.get(3, lazy=True).members.update(7, {"access_level": 30})
    group = gl.groups.get(3)
    group.require_two_factor_authentication = True
    group.save()
    settings = gl.settings.get()
    settings.require_two_factor_authentication = True
    settings.save()
    mine = [e for e in _get(s, "/audit_events", per_page=100).json() if e["created_at"] >= started]
    assert all(e["author_id"] == 1 for e in mine)
    assert all(e["details"]["ip_address"] == "127.0.0.1" for e in mine)
    names = [e["event_name"] for e in mine]
    for expected in (
        "user_blocked",
        "unblock_user",
        "user_disable_two_factor",
        "user_admin_status_updated",
        "personal_access_token_revoked",
        "remove_ssh_key",
        "ci_runner_token_reset",
        "ci_runner_unregistered",
        "webhook_destroyed",
        "ci_variable_updated",
        "member_updated",
        "group_require_two_factor_authentication_updated",
        "application_setting_updated",
    ):
        assert expected in names, expected
    # Rotation writes no audit event in GitLab, and neither does the drill.
    before = len(_get(s, "/audit_events", per_page=100).json())
    tid2 = next(t.id for t in gl.personal_access_tokens.list(user_id=8, get_all=True))
    gl.personal_access_tokens.rotate(tid2)
    assert len(_get(s, "/audit_events", per_page=100).json()) == before
