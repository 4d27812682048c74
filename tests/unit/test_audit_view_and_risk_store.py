"""The audit pane's headless parts: the view's commands and saved form, the lazy row ids'
UI-thread lookups, and risk scoring from the events store (not a cached list)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.audit.view import AuditView, parse_filter_command
from console.risk import compute_and_store_risk
from console.store import EventQuery, Store
from console.store.event_rows import CHUNK, EAGER_LIMIT


def test_filter_commands_set_one_field_and_say_why_they_cannot() -> None:
    view = AuditView()
    grouped = parse_filter_command(view, "scope", "group 12")
    assert isinstance(grouped, AuditView) and grouped.scope == "group:12"
    assert parse_filter_command(view, "scope", "project x") == (
        "scope: instance, group <id> or project <id>"
    )
    since = parse_filter_command(view, "since", "2025-05-01")
    assert isinstance(since, AuditView) and since.since == "2025-05-01T00:00:00Z"
    assert isinstance(parse_filter_command(view, "since", "yesterday-ish"), str)
    entity = parse_filter_command(view, "entity", "Project 3")
    assert isinstance(entity, AuditView) and entity.entity == ("Project", 3)
    target = parse_filter_command(view, "target", "PersonalAccessToken 55")
    assert isinstance(target, AuditView) and target.target == ("PersonalAccessToken", "55")
    ip = parse_filter_command(target, "ip", "203.0.113.66")
    assert isinstance(ip, AuditView) and ip.query().ip == "203.0.113.66"
    assert ip.query().target == ("PersonalAccessToken", "55")  # filters combine
    cleared = parse_filter_command(ip, "ip", "")
    assert isinstance(cleared, AuditView) and cleared.ip is None


def test_the_view_round_trips_and_a_hunt_replaces_the_categories() -> None:
    view = AuditView(
        search="ssh",
        categories=frozenset({"TOKEN"}),
        scope="group:3",
        author="mchen",
        ip="203.0.113.66",
        entity=("Group", 3),
        target=("Key", "9"),
        since="2025-05-01T00:00:00Z",
        user_id=7,
        username="mchen",
        hunt="keys",
    )
    assert AuditView.from_dict(view.to_dict()) == view
    q = view.query()
    assert q.categories == frozenset() and "add_ssh_key" in q.event_names
    assert AuditView.from_dict({"hunt": "no-such-hunt"}).hunt is None
    assert view.cleared() == AuditView(search="ssh", scope="group:3")


def _events(n: int) -> list[dict[str, object]]:
    start = datetime(2025, 5, 1, tzinfo=UTC)
    return [
        {
            "id": i,
            "created_at": (start + timedelta(seconds=i)).isoformat(),
            "author_id": i % 7,
            "event_name": "user_logged_in",
            "category": "SIGNIN",
            "categories": ["SIGNIN"],
            "ip_address": f"10.0.0.{i % 5}",
            "details": {},
        }
        for i in range(1, n + 1)
    ]


def test_lazy_row_ids_answer_index_from_what_is_read_and_locate_the_rest(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "s.db")
    incident = store.create_incident("t", "compromised-instance", None, "https://g", None, None)
    n = EAGER_LIMIT + CHUNK * 2 + 5
    store.upsert_events(int(incident.id), "instance", _events(n))
    rids = store.event_rid_view(int(incident.id), EventQuery())
    assert len(rids) == n
    newest = rids[0]
    deep_rid = store.event_rids(int(incident.id))[n - 3]
    assert deep_rid not in rids  # not read yet: the UI thread never reads the store for it
    assert rids.locate(deep_rid) == n - 3
    assert deep_rid in rids and rids.index(deep_rid) == n - 3
    assert rids.index(newest) == 0
    assert rids[n - 3] == deep_rid


def test_risk_reads_the_stored_events(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    start = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    incident = store.create_incident("t", "compromised-instance", None, "https://g", start, None)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.upsert_users(
        incident.id,
        [
            {
                "id": 7,
                "username": "mchen",
                "name": "M",
                "state": "active",
                "created_at": "2020-01-01T00:00:00Z",
            },
            {
                "id": 9,
                "username": "helper",
                "name": "H",
                "state": "active",
                "is_admin": True,
                "created_at": "2020-01-01T00:00:00Z",
            },
        ],
        "2025-01-01T00:00:00Z",
    )
    store.upsert_events(
        int(incident.id),
        "instance",
        [
            {
                "id": 1,
                "author_id": 7,
                "created_at": yesterday,
                "category": "TOKEN",
                "categories": ["TOKEN"],
                "event_name": "personal_access_token_created",
                "details": {},
            },
            {
                "id": 2,
                "author_id": 7,
                "created_at": yesterday,
                "category": "USER",
                "categories": ["USER"],
                "event_name": "user_admin_status_updated",
                "target_type": "User",
                "target_id": "9",
                "details": {},
            },
        ],
    )
    store.record_audit_window(int(incident.id), "instance", start, yesterday)
    risks = compute_and_store_risk(store, int(incident.id), incident.window)
    assert any("security-relevant" in r for r in risks[7][1]), risks[7]
    assert any("promoted to admin" in r for r in risks[9][1]), risks.get(9)


def test_the_runbook_reads_the_audit_windows_from_the_store(tmp_path: Path) -> None:
    from console.runbook.state import evaluate

    store = Store.open(tmp_path / "s.db")
    incident = store.create_incident(
        "t",
        "compromised-instance",
        None,
        "https://g",
        "2025-05-01T00:00:00Z",
        "2025-05-10T00:00:00Z",
    )

    def audit_step() -> tuple[bool, str]:
        state = evaluate(store, incident)
        step = next(s for s in state.steps if s.step.auto == "audit_window")
        return step.done, step.evidence

    assert audit_step() == (False, "the incident window's audit events are not fetched yet")
    store.upsert_events(int(incident.id), "instance", _events(3))
    store.record_audit_window(
        int(incident.id), "instance", "2025-05-01T00:00:00Z", "2025-05-05T00:00:00Z"
    )
    done, evidence = audit_step()
    assert not done and "part-way (3 events stored)" in evidence
    store.record_audit_window(
        int(incident.id), "instance", "2025-05-05T00:00:00Z", "2025-05-10T00:00:00Z"
    )
    done, evidence = audit_step()
    assert done and evidence.startswith("3 events of the incident window fetched")
