"""console.audit: slicing, categories, normalising, filtering, and fetching against the drill."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from console.api.pages import iter_pages
from console.audit import (
    AUDIT_CATEGORIES,
    CATEGORY_ORDER,
    FREE_TIER_DETAIL,
    AuditFilter,
    categories_of,
    categorize,
    fetch_audit_events,
    filter_events,
    involves_user,
    normalize_event,
    window_slices,
)
from console.timeutil import parse_ts

# ------------------------------------------------------------------------------- slicing


def test_ninety_day_window_is_three_slices_of_at_most_thirty_days() -> None:
    end = datetime(2025, 6, 1, tzinfo=UTC)
    start = end - timedelta(days=90)
    slices = window_slices(start, end)
    assert len(slices) == 3
    assert all(hi - lo <= timedelta(days=30) for lo, hi in slices)
    # newest first, contiguous, covering exactly [start, end]
    assert slices[0][1] == end and slices[-1][0] == start
    for (lo, _hi), (_lo2, hi2) in itertools.pairwise(slices):
        assert hi2 == lo


@pytest.mark.parametrize(("days", "expected"), [(0.5, 1), (30, 1), (30.001, 2), (61, 3), (365, 13)])
def test_slice_counts(days: float, expected: int) -> None:
    end = datetime(2025, 6, 1, tzinfo=UTC)
    slices = window_slices(end - timedelta(days=days), end)
    assert len(slices) == expected
    assert all(timedelta(0) < hi - lo <= timedelta(days=30) for lo, hi in slices)


def test_slices_accept_iso_strings_and_reversed_bounds() -> None:
    slices = window_slices("2025-06-01T00:00:00Z", "2025-04-02T00:00:00+00:00")
    assert len(slices) == 2
    assert slices[0][1] == datetime(2025, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        window_slices("not a date", "2025-01-01")


# ------------------------------------------------------------------------------- categories


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("authenticated_with_password", "SIGNIN"),
        ("login_failed_with_otp_authentication", "SIGNIN"),
        ("personal_access_token_created", "TOKEN"),
        ("group_deploy_token_revoked", "TOKEN"),
        ("add_ssh_key", "KEY"),
        ("deploy_key_added", "KEY"),
        ("user_disable_two_factor", "2FA"),
        ("protected_branch_allow_force_push_updated", "REPO"),
        ("member_updated", "CONFIG"),
        ("ci_variable_updated", "CONFIG"),
        ("ci_runner_created", "RUNNER"),
        ("runner_controller_token_rotated", "RUNNER"),
        ("webhook_created", "HOOK"),
        ("project_push_rules_file_name_regex_updated", "HOOK"),
        ("user_admin_status_updated", "USER"),
        ("user_profile_visiblity_updated", "USER"),
        ("application_setting_updated", "INSTANCE"),
        ("q_onbarding_updated", "INSTANCE"),
        ("destroy_instance_event_streaming_destination", "INSTANCE"),
    ],
)
def test_named_events_are_categorised(name: str, category: str) -> None:
    assert categorize({"event_name": name}) == category
    # the details copy is enough when the top-level field is missing (older entities)
    assert categorize({"details": {"event_name": name}}) == category


def test_table_only_uses_known_categories() -> None:
    assert set(AUDIT_CATEGORIES.values()) <= set(CATEGORY_ORDER)
    assert len(AUDIT_CATEGORIES) > 200


@pytest.mark.parametrize(
    ("details", "category"),
    [
        ({"custom_message": "Added SSH key"}, "KEY"),
        ({"event_name": "audit_operation", "custom_message": "Removed SSH key"}, "KEY"),
        ({"with": "standard", "target_type": "User"}, "SIGNIN"),
        ({"failed_login": "STANDARD"}, "SIGNIN"),
        ({"custom_message": "Created personal access token with id 42"}, "TOKEN"),
        ({"add": "user_access", "as": "Developer"}, "CONFIG"),
        ({"change": "email address", "from": "a@x", "to": "b@x"}, "USER"),
        ({"custom_message": {"protocol": "ssh", "action": "git-upload-pack"}}, "OTHER"),
        ({}, "OTHER"),
    ],
)
def test_legacy_events_are_categorised_by_their_details(
    details: dict[str, Any], category: str
) -> None:
    assert categorize({"id": 1, "details": details}) == category


def test_unknown_names_stay_visible_as_other() -> None:
    assert categorize({"event_name": "dast_profile_created"}) == "OTHER"


def test_secondary_categories() -> None:
    assert categories_of({"event_name": "authenticated_with_two_factor"}) == {"SIGNIN", "2FA"}
    assert categories_of({"event_name": "member_created"}) == {"CONFIG"}


# ------------------------------------------------------------------------------- normalising


def test_normalise_flattens_details_and_builds_a_summary() -> None:
    raw = {
        "id": 9004,
        "author_id": 1,
        "entity_id": 7,
        "entity_type": "Project",
        "details": {
            "change": "access_level",
            "from": "Developer",
            "to": "Maintainer",
            "author_name": "root",
            "target_id": "acme/api",
            "target_type": "User",
            "target_details": "Alice",
            "ip_address": None,
            "entity_path": "acme/api",
            "custom_message": "Membership updated",
        },
        "created_at": "2025-05-02T10:06:00.000Z",
    }
    e = normalize_event(raw)
    assert e is not None
    assert (e.id, e.author_id, e.author_name, e.entity_path) == (9004, 1, "root", "acme/api")
    assert e.target_id == "acme/api" and e.target_user_id is None  # a path, not an id
    assert e.ip_address == "" and e.event_name == "" and e.category == "CONFIG"
    assert "Membership updated" in e.summary and "Developer → Maintainer" in e.summary
    again = type(e).from_dict(e.to_dict())
    assert again == e


def test_normalise_rejects_events_without_an_id() -> None:
    assert normalize_event({"details": {}}) is None


# ------------------------------------------------------------------------------- filtering


def _ev(id_: int, **kw: Any) -> Any:
    details = {
        k: v
        for k, v in kw.items()
        if k not in ("author_id", "entity_type", "entity_id", "event_name", "created_at")
    }
    raw = {
        "id": id_,
        "author_id": kw.get("author_id", 1),
        "entity_type": kw.get("entity_type", "User"),
        "entity_id": kw.get("entity_id", 1),
        "event_name": kw.get("event_name"),
        "details": details,
        "created_at": kw.get("created_at", "2025-05-02T10:00:00Z"),
    }
    e = normalize_event(raw)
    assert e is not None
    return e


def test_user_filter_matches_author_target_and_entity() -> None:
    by = _ev(1, author_id=7, entity_id=7, event_name="add_ssh_key")
    about = _ev(
        2,
        author_id=1,
        entity_id=1,
        event_name="personal_access_token_created",
        target_id=7,
        target_type="User",
    )  # entity is the author, victim in target
    entity = _ev(3, author_id=1, entity_type="User", entity_id=7, event_name="user_blocked")
    other = _ev(4, author_id=2, entity_id=2, event_name="add_ssh_key")
    attempt = _ev(
        5,
        author_id=-1,
        entity_type="Gitlab::Audit::InstanceScope",
        event_name="login_failed_with_standard_authentication",
        author_name="MChen",
    )
    events = [by, about, entity, other, attempt]
    assert [e.id for e in filter_events(events, AuditFilter(user_id=7))] == [1, 2, 3]
    with_name = AuditFilter(user_id=7, username="mchen")
    assert [e.id for e in filter_events(events, with_name)] == [1, 2, 3, 5]
    assert not involves_user(other, 7, "mchen")


def test_search_categories_author_entity_and_time() -> None:
    a = _ev(
        1,
        event_name="add_ssh_key",
        custom_message="Added SSH key",
        ip_address="203.0.113.66",
        created_at="2025-05-01T00:00:00Z",
    )
    b = _ev(
        2,
        event_name="authenticated_with_two_factor",
        author_id=2,
        entity_id=2,
        created_at="2025-05-03T00:00:00Z",
    )
    c = _ev(
        3,
        event_name="member_created",
        entity_type="Group",
        entity_id=3,
        created_at="2025-05-05T00:00:00Z",
    )
    events = [a, b, c]
    assert filter_events(events, AuditFilter(search="203.0.113")) == [a]
    assert filter_events(events, AuditFilter(search="ssh ADDED")) == [a]
    assert filter_events(events, AuditFilter(categories=frozenset({"2FA"}))) == [b]
    assert filter_events(events, AuditFilter(categories=frozenset({"KEY", "CONFIG"}))) == [a, c]
    assert filter_events(events, AuditFilter(author_id=2)) == [b]
    assert filter_events(events, AuditFilter(entity=("Group", 3))) == [c]
    assert filter_events(events, AuditFilter(since="2025-05-02", until="2025-05-04")) == [b]
    f = AuditFilter(
        search="x", categories=frozenset({"KEY"}), user_id=7, username="m", entity=("Group", 3)
    )
    assert AuditFilter.from_dict(f.to_dict()) == f


# ------------------------------------------------------------------------------- paging (fake)


class _Resp:
    def __init__(self, body: Any, next_url: str | None = None, status: int = 200) -> None:
        self._body = body
        self.status_code = status
        self.links = {"next": {"url": next_url}} if next_url else {}

    def json(self) -> Any:
        return self._body


class _FakeHttpx:
    """A sync httpx-style client serving fixed pages; records every request."""

    base_url = "https://x.invalid/api/v4"  # where next links must stay

    def __init__(self, pages: list[list[dict[str, Any]]], status: int = 200) -> None:
        self.pages, self.status, self.calls = pages, status, []

    def get(self, url: str, *, params: Any = None, timeout: Any = None) -> _Resp:
        self.calls.append((url, params, timeout))
        if self.status >= 400:
            return _Resp({"message": "404 Not Found"}, status=self.status)
        page = int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])
        nxt = (
            f"https://x.invalid/api/v4/audit_events?page={page + 1}"
            if page < len(self.pages)
            else None
        )
        return _Resp(self.pages[page - 1], nxt)


def test_iter_pages_follows_next_links_and_always_sets_a_timeout() -> None:
    client = _FakeHttpx([[{"id": 1}], [{"id": 2}], [{"id": 3}]])
    pages = list(iter_pages(client, "/audit_events", {"per_page": 1}))
    assert pages == [[{"id": 1}], [{"id": 2}], [{"id": 3}]]
    assert client.calls[0][1] == {"per_page": 1}
    assert all(call[1] is None for call in client.calls[1:])  # next link carries the params
    assert all(call[2] for call in client.calls)


def test_fetch_dedupes_events_repeated_across_slices_and_pages() -> None:
    page = [
        {"id": 5, "event_name": "add_ssh_key", "created_at": "2025-05-02T00:00:00Z"},
        {"id": 4, "event_name": "add_ssh_key", "created_at": "2025-05-01T00:00:00Z"},
    ]
    client = _FakeHttpx([page, page])
    result = fetch_audit_events(client, window=("2025-03-01", "2025-05-30"))
    assert len(result.slices) == 3
    assert [e.id for e in result.events] == [5, 4]
    assert result.problem is None and result.complete


def test_fetch_on_free_tier_reports_coverage_not_error() -> None:
    result = fetch_audit_events(_FakeHttpx([], status=404), window=("2025-05-01", "2025-05-02"))
    assert result.events == [] and result.coverage_gap
    assert result.problem is not None and result.problem.detail == FREE_TIER_DETAIL


def test_fetch_keeps_partial_results_on_a_later_error() -> None:
    class Flaky(_FakeHttpx):
        def get(self, url: str, *, params: Any = None, timeout: Any = None) -> _Resp:
            if len(self.calls) >= 1:
                self.calls.append((url, params, timeout))
                return _Resp({"message": "500 Internal Server Error"}, status=500)
            return super().get(url, params=params, timeout=timeout)

    client = Flaky([[{"id": 1, "created_at": "2025-05-01T00:00:00Z"}], [{"id": 2}]])
    result = fetch_audit_events(client, window=("2025-05-01", "2025-05-02"))
    assert [e.id for e in result.events] == [1]
    assert not result.complete and result.problem is not None
    assert result.problem.status == 500 and not result.coverage_gap


def test_fetch_stops_when_cancelled() -> None:
    client = _FakeHttpx([[{"id": i}] for i in range(1, 6)])
    seen: list[int] = []
    result = fetch_audit_events(
        client,
        window=("2025-05-01", "2025-05-02"),
        on_progress=lambda p: seen.append(p.pages),
        cancelled=lambda: len(seen) >= 2,
    )
    assert not result.complete
    assert len(client.calls) == 3  # the third page arrived, was not counted, nothing more


def test_parse_time_handles_dates_and_zulu() -> None:
    assert parse_ts("2025-05-02") == datetime(2025, 5, 2, tzinfo=UTC)
    assert parse_ts("2025-05-02T10:00:00.000Z") == datetime(2025, 5, 2, 10, tzinfo=UTC)
    assert parse_ts("") is None and parse_ts("junk") is None


# ------------------------------------------------------------------------------- the drill


class Recorder:
    """Wraps a python-gitlab client and records every request (path, query)."""

    def __init__(self, gl: Any) -> None:
        self.gl, self.api_url, self.timeout = gl, gl.api_url, gl.timeout
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def http_request(self, verb: str, path: str, query_data: Any = None, **kw: Any) -> Any:
        query = dict(query_data or {})
        if path.startswith("http"):
            query.update({k: v[0] for k, v in parse_qs(urlsplit(path).query).items()})
        self.calls.append((urlsplit(path).path.removeprefix("/api/v4"), query))
        assert kw.get("timeout"), "every request needs a timeout"
        return self.gl.http_request(verb, path, query_data=query_data, **kw)


def _gitlab(server: Any, token: str | None = None) -> Any:
    from console.config import ConnectionConfig, build_gitlab
    from console.secret import Secret

    return build_gitlab(ConnectionConfig(url=server.url), Secret(token or server.ADMIN_TOKEN))


def _drill_window(server: Any, days: int) -> tuple[datetime, datetime]:
    end = server.state.current_time() + timedelta(minutes=1)
    return end - timedelta(days=days), end


def test_drill_ninety_days_in_three_keyset_slices_complete_and_deduped(drill: Any) -> None:
    gl = Recorder(_gitlab(drill))
    lo, hi = _drill_window(drill, 90)
    progress: list[Any] = []
    result = fetch_audit_events(
        gl, ("instance", None), (lo, hi), per_page=50, on_progress=progress.append
    )
    assert result.problem is None and result.complete
    assert len(result.slices) == 3
    firsts = [q for _p, q in gl.calls if "created_after" in q and "cursor" not in q]
    assert len(firsts) == 3
    for q in firsts:
        span = parse_ts(q["created_before"]) - parse_ts(q["created_after"])
        assert span <= timedelta(days=30)
        assert (q["pagination"], q["order_by"], q["sort"]) == ("keyset", "id", "desc")
    assert len(gl.calls) > 3  # several pages per slice were followed
    assert all(path == "/audit_events" for path, _q in gl.calls)
    expected = {e.id for e in drill.state.audit if lo <= parse_ts(e.created_at) <= hi}
    ids = [e.id for e in result.events]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected
    assert progress[-1].events == len(expected) and progress[-1].slice_count == 3


def test_drill_attacker_traces_cover_every_seeded_category(drill: Any) -> None:
    from console.drill.seed import ATTACKER_IP

    result = fetch_audit_events(_gitlab(drill), ("instance", None), _drill_window(drill, 90))
    assert result.problem is None
    attacker = [e for e in result.events if e.ip_address == ATTACKER_IP]
    assert {"SIGNIN", "TOKEN", "KEY", "2FA", "CONFIG", "RUNNER", "HOOK", "USER"} <= {
        e.category for e in attacker
    }
    everything = {e.category for e in result.events}
    assert "INSTANCE" in everything and "OTHER" not in everything
    # the token event is filed under its author; the victim filter still finds admin changes
    mchen = filter_events(result.events, AuditFilter(user_id=7, username="mchen"))
    names = {e.event_name for e in mchen}
    assert {
        "personal_access_token_created",
        "add_ssh_key",
        "member_updated",
        "login_failed_with_otp_authentication",
    } <= names
    helper = filter_events(result.events, AuditFilter(user_id=9))
    assert "user_admin_status_updated" in {e.event_name for e in helper}


def test_drill_free_tier_gives_the_coverage_problem() -> None:
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=50, tier="free"))
    server.start()
    try:
        result = fetch_audit_events(_gitlab(server), ("instance", None), _drill_window(server, 10))
    finally:
        server.stop()
    assert result.events == [] and result.coverage_gap
    assert result.problem is not None and result.problem.detail == FREE_TIER_DETAIL


def test_drill_non_admin_is_told_it_cannot_see_instance_events(drill: Any) -> None:
    result = fetch_audit_events(
        _gitlab(drill, drill.USER_TOKEN), ("instance", None), _drill_window(drill, 10)
    )
    assert result.events == [] and result.problem is not None
    assert result.problem.status == 403 and "administrator" in result.problem.detail
