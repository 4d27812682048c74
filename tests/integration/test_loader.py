"""The bulk user loader: two keyset streams that meet, retries, rate limits, cancellation.

Two kinds of tests: a tiny in-process fake ``/users`` (httpx.MockTransport) for exact control of
orderings, links and failures; and the drill for the real end-to-end path.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from console.api import parse_retry_after
from console.risk import sign_in_history
from console.store import Store
from console.users_load import (
    LoadProgress,
    LoadResult,
    enrich_users,
    fetch_tokens,
    load_users,
)

BASE = "http://gitlab.test/api/v4"


# --------------------------------------------------------------------------- fake GitLab


class FakeUsers:
    """``GET /users`` with keyset pagination by id (asc/desc), plus failure knobs."""

    def __init__(self, ids: list[int], *, per_page_cap: int = 100) -> None:
        self.ids = sorted(ids)
        self.per_page_cap = per_page_cap
        self.ignore_sort = False  # like GitLab for callers that may not sort
        self.link_host = "gitlab.test"
        self.link_path = "/api/v4/users"
        self.fail: Callable[[httpx.Request, int], httpx.Response | None] = lambda r, n: None
        self.requests = 0
        self.total_header = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        injected = self.fail(request, self.requests)
        if injected is not None:
            return injected
        path = request.url.path
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        if path.endswith("/application/statistics"):
            return httpx.Response(404, json={"message": "404 Not Found"})
        if path.startswith("/api/v4/users/"):
            uid = int(path.rsplit("/", 1)[1])
            if uid not in self.ids:
                return httpx.Response(404, json={"message": "404 User Not Found"})
            return httpx.Response(200, json=self.user(uid, detail=True))
        assert path == "/api/v4/users", path
        per_page = min(int(q.get("per_page", 20)), self.per_page_cap)
        if q.get("pagination") != "keyset":  # the estimate request
            headers = {"x-total": str(len(self.ids))} if self.total_header else {}
            return httpx.Response(
                200, json=[self.user(i) for i in self.ids[:per_page]], headers=headers
            )
        sort = "desc" if self.ignore_sort else q.get("sort", "desc")
        order = self.ids if sort == "asc" else self.ids[::-1]
        cursor = q.get("cursor")
        if cursor is not None:
            c = int(cursor)
            order = [i for i in order if (i > c if sort == "asc" else i < c)]
        page = order[:per_page]
        headers = {}
        if len(order) > per_page:
            nxt = {**q, "cursor": str(page[-1])}
            link = f"http://{self.link_host}{self.link_path}?{urlencode(nxt)}"
            headers["link"] = f'<{link}>; rel="next"'
        return httpx.Response(200, json=[self.user(i) for i in page], headers=headers)

    @staticmethod
    def user(uid: int, detail: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": uid,
            "username": f"user{uid}",
            "name": f"User {uid}",
            "state": "active",
            "email": f"user{uid}@example.test",
            "created_at": "2024-01-01T00:00:00.000Z",
            "is_admin": False,
        }
        if detail:
            data.update(
                current_sign_in_ip="203.0.113.9", last_sign_in_ip="198.51.100.4", sign_in_count=7
            )
        return data


class RecordingStore:
    """Wraps the real store and records every id written, to prove 'exactly once'."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.written: Counter[int] = Counter()
        self.transactions = 0

    def upsert_users(self, incident_id: int, users: Any, fetched_at: str) -> int:
        users = list(users)
        self.written.update(u["id"] for u in users)
        self.transactions += 1
        return self.store.upsert_users(incident_id, users, fetched_at)

    def upsert_user_detail(self, incident_id: int, user: Any) -> None:
        self.store.upsert_user_detail(incident_id, user)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state" / "console.db")
    try:
        yield s
    finally:
        s.close()


def _incident(store: Store) -> int:
    incident = store.create_incident(
        "t", "compromised-instance", None, "http://gitlab.test", None, None
    )
    return incident.id


def _run_fake(
    fake: FakeUsers,
    store: Store,
    *,
    per_page: int = 100,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[LoadResult, RecordingStore, list[LoadProgress], int]:
    incident = _incident(store)
    recording = RecordingStore(store)
    progress: list[LoadProgress] = []

    async def run() -> LoadResult:
        transport = httpx.MockTransport(fake.handler)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await load_users(
                client,
                recording,
                incident,
                on_progress=progress.append,  # type: ignore[arg-type]
                cancelled=cancelled,
                per_page=per_page,
            )

    return asyncio.run(run()), recording, progress, incident


def _assert_exactly_once(
    ids: list[int], result: LoadResult, rec: RecordingStore, store: Store, incident: int
) -> None:
    assert result.problem is None
    assert not result.cancelled
    assert result.loaded == len(ids)
    assert set(rec.written) == set(ids)
    assert all(count == 1 for count in rec.written.values()), rec.written.most_common(3)
    assert store.count_users(incident) == len(ids)


# --------------------------------------------------------------------------- meeting streams


@pytest.mark.parametrize("count", [0, 1, 2, 3, 6, 7, 8, 13, 14, 15, 100, 101])
def test_two_streams_meet_without_gaps_or_duplicates(store: Store, count: int) -> None:
    ids = list(range(1, count + 1))
    result, rec, progress, incident = _run_fake(FakeUsers(ids), store, per_page=7)
    _assert_exactly_once(ids, result, rec, store, incident)
    assert progress[-1].done and progress[-1].loaded == count and progress[-1].total == count
    assert not result.single_stream


def test_sparse_ids_and_many_random_sizes(store: Store) -> None:
    rng = random.Random(7)
    for _ in range(25):
        ids = sorted(rng.sample(range(1, 5000), rng.randint(0, 60)))
        per_page = rng.randint(1, 9)
        result, rec, _, incident = _run_fake(FakeUsers(ids), store, per_page=per_page)
        _assert_exactly_once(ids, result, rec, store, incident)


def test_both_streams_do_work_and_pages_are_one_transaction_each(store: Store) -> None:
    ids = list(range(1, 1001))
    fake = FakeUsers(ids)
    result, rec, _, incident = _run_fake(fake, store, per_page=50)
    _assert_exactly_once(ids, result, rec, store, incident)
    # two cursors share the work: about 20 pages of 50, not 20 per stream
    assert 20 <= result.pages <= 23
    assert rec.transactions <= result.pages


def test_progress_is_monotonic_and_ends_done(store: Store) -> None:
    ids = list(range(1, 501))
    result, _, progress, _ = _run_fake(FakeUsers(ids), store, per_page=20)
    loaded = [p.loaded for p in progress]
    pages = [p.pages for p in progress]
    assert loaded == sorted(loaded) and pages == sorted(pages)
    assert [p.done for p in progress].count(True) == 1 and progress[-1].done
    assert progress[-1].loaded == 500 == result.loaded
    assert any(p.total == 500 for p in progress[:-1])  # the x-total estimate arrived


def test_no_estimate_means_total_none_until_done(store: Store) -> None:
    fake = FakeUsers(list(range(1, 301)))
    fake.total_header = False
    _, _, progress, _ = _run_fake(fake, store, per_page=10)
    assert all(p.total is None for p in progress[:-1])
    assert progress[-1].total == 300


def test_server_that_ignores_sort_falls_back_to_one_stream(store: Store) -> None:
    ids = list(range(1, 258))
    fake = FakeUsers(ids)
    fake.ignore_sort = True
    result, rec, _, incident = _run_fake(fake, store, per_page=10)
    _assert_exactly_once(ids, result, rec, store, incident)
    assert result.single_stream


def test_cancellation_stops_early(store: Store) -> None:
    ids = list(range(1, 2001))
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 6

    result, _, progress, incident = _run_fake(
        FakeUsers(ids), store, per_page=10, cancelled=cancelled
    )
    assert result.cancelled
    assert 0 < result.loaded < 200
    assert store.count_users(incident) == result.loaded
    assert progress[-1].done and progress[-1].loaded == result.loaded


# --------------------------------------------------------------------------- links and failures


def test_next_link_on_another_host_is_refused(store: Store) -> None:
    # Was "pinned to ours" (rewritten): issue 7 makes every foreign link a refusal instead.
    fake = FakeUsers(list(range(1, 51)))
    fake.link_host = "evil.example:8443"
    seen_hosts: set[str] = set()
    original = fake.handler

    def handler(request: httpx.Request) -> httpx.Response:
        seen_hosts.add(request.url.host)
        return original(request)

    fake.handler = handler  # type: ignore[method-assign]
    result, _, _, incident = _run_fake(fake, store, per_page=5)
    assert result.problem is not None and result.problem.title == "Unsafe pagination link"
    assert result.loaded == store.count_users(incident) < 50
    assert seen_hosts == {"gitlab.test"}


def test_next_link_outside_the_api_stops_with_a_problem(store: Store) -> None:
    fake = FakeUsers(list(range(1, 51)))
    fake.link_path = "/elsewhere/users"
    result, _, _, incident = _run_fake(fake, store, per_page=5)
    assert result.problem is not None
    assert "outside" in result.problem.detail
    # pages read before the bad link are kept; nothing after it is requested
    assert result.loaded == store.count_users(incident)
    assert 5 <= result.loaded <= 10 and result.pages <= 2


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the retry policy, shorten its sleeps."""
    from console.api.retry import RetryPolicy

    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt, **kw: 0.01 * attempt)


def test_5xx_is_retried(store: Store, quick_backoff: None) -> None:
    fake = FakeUsers(list(range(1, 41)))
    failures = {"left": 3}

    def fail(request: httpx.Request, n: int) -> httpx.Response | None:
        if "cursor" in str(request.url) and failures["left"] > 0:
            failures["left"] -= 1
            return httpx.Response(502, text="bad gateway")
        return None

    fake.fail = fail
    result, rec, _, incident = _run_fake(fake, store, per_page=5)
    _assert_exactly_once(list(range(1, 41)), result, rec, store, incident)
    assert result.retries == 3


def test_5xx_that_persists_becomes_a_problem(store: Store, quick_backoff: None) -> None:
    fake = FakeUsers(list(range(1, 41)))
    fake.fail = lambda r, n: httpx.Response(503, text="down") if "cursor" in str(r.url) else None
    result, _, _, _ = _run_fake(fake, store, per_page=5)
    assert result.problem is not None and result.problem.status == 503
    assert result.loaded == 10


def test_401_stops_with_a_problem(store: Store) -> None:
    fake = FakeUsers(list(range(1, 41)))
    fake.fail = lambda r, n: httpx.Response(401, json={"message": "401 Unauthorized"})
    result, _, _, _ = _run_fake(fake, store)
    assert result.problem is not None and result.problem.status == 401
    assert result.loaded == 0 and result.pages == 0


def test_429_with_http_date_retry_after_is_honoured(store: Store) -> None:
    fake = FakeUsers(list(range(1, 21)))
    state = {"limited": False}

    def fail(request: httpx.Request, n: int) -> httpx.Response | None:
        if "cursor" in str(request.url) and not state["limited"]:
            state["limited"] = True
            when = email.utils.formatdate(time.time() + 2, usegmt=True)  # 1-2 s away
            return httpx.Response(429, text="Retry later\n", headers={"Retry-After": when})
        return None

    fake.fail = fail
    started = time.monotonic()
    result, rec, _, incident = _run_fake(fake, store, per_page=5)
    _assert_exactly_once(list(range(1, 21)), result, rec, store, incident)
    assert result.rate_limited_seconds >= 1.0
    assert time.monotonic() - started >= 1.0  # an HTTP date has whole-second precision


def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": "12"}, now=now) == 12
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after({"ratelimit-reset": str(int(now + 5))}, now=now) == 5
    assert parse_retry_after({"retry-after": "soon"}, now=now) is None
    assert parse_retry_after({}, now=now) is None
    assert parse_retry_after({"retry-after": "-3"}, now=now) == 0


# --------------------------------------------------------------------------- enrich / tokens


def test_enrich_fills_ips_and_counts_missing(store: Store) -> None:
    fake = FakeUsers(list(range(1, 31)))
    result, _, _, incident = _run_fake(fake, store)
    assert result.loaded == 30
    assert store.get_user(incident, 3).current_sign_in_ip is None  # type: ignore[union-attr]
    done: list[tuple[int, int]] = []

    async def run() -> Any:
        transport = httpx.MockTransport(fake.handler)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await enrich_users(
                client,
                store,
                incident,
                [3, 4, 5, 999],
                concurrency=3,
                on_progress=lambda d, t: done.append((d, t)),
            )

    enriched = asyncio.run(run())
    assert (enriched.enriched, enriched.missing, enriched.problem) == (3, 1, None)
    row = store.get_user(incident, 4)
    assert row is not None and row.current_sign_in_ip == "203.0.113.9"
    assert row.sign_in_count == 7
    assert done[-1] == (4, 4)


def test_fetch_tokens_reads_every_page_without_total_pages() -> None:
    tokens = [{"id": i, "name": f"t{i}", "user_id": i % 7} for i in range(1, 351)]

    def handler(request: httpx.Request) -> httpx.Response:
        q = parse_qs(urlsplit(str(request.url)).query)
        page = int(q["page"][0])
        per = int(q["per_page"][0])
        return httpx.Response(200, json=tokens[(page - 1) * per : page * per])

    async def run() -> list[dict[str, Any]]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await fetch_tokens(client, concurrency=3)

    got = asyncio.run(run())
    assert [t["id"] for t in got] == list(range(1, 351))


def test_sign_in_history_counts_sign_in_events_only() -> None:
    events = [
        {
            "author_id": 5,
            "event_name": "authenticated_with_password",
            "created_at": "2025-01-01T00:00:00Z",
            "details": {"ip_address": "203.0.113.1"},
        },
        {
            "author_id": 5,
            "event_name": None,
            "created_at": "2025-01-02T00:00:00Z",
            "details": {"with": "standard", "ip_address": "203.0.113.2"},
        },
        {
            "author_id": 5,
            "event_name": "personal_access_token_created",
            "created_at": "2025-01-03T00:00:00Z",
            "details": {"ip_address": "198.51.100.66"},
        },
        {
            "author_id": -1,
            "event_name": "login_failed_with_standard_authentication",
            "created_at": "2025-01-03T00:00:00Z",
            "details": {"ip_address": "192.0.2.1", "failed_login": "STANDARD"},
        },
    ]
    assert sign_in_history(events, {}) == {5: {"203.0.113.1", "203.0.113.2"}}


def test_sign_in_history_stops_where_the_current_ip_first_appears() -> None:
    # The attacker signed in twice from .66 inside the window: .66 must still count as new,
    # because before its first use the user only ever came from the office address.
    def sign_in(when: str, ip: str) -> dict[str, object]:
        return {
            "author_id": 7,
            "event_name": "authenticated_with_password",
            "created_at": when,
            "ip_address": ip,
        }

    events = [
        sign_in("2025-01-01T09:00:00Z", "10.40.12.23"),
        sign_in("2025-01-05T03:00:00Z", "203.0.113.66"),
        sign_in("2025-01-06T03:00:00Z", "203.0.113.66"),
        sign_in("2025-01-06T09:00:00Z", "10.40.12.23"),
    ]
    assert sign_in_history(events, {7: "203.0.113.66"}) == {7: {"10.40.12.23"}}
    assert sign_in_history(events, {7: "10.40.12.23"}) == {7: set()}


# --------------------------------------------------------------------------- against the drill


def _drill_load(
    server: Any, store: Store, token: str | None = None, **kw: Any
) -> tuple[LoadResult, int, list[LoadProgress]]:
    from console.config import ConnectionConfig
    from console.drill.server import DrillServer
    from console.secret import Secret
    from console.users_load import load_users_blocking

    incident = _incident(store)
    progress: list[LoadProgress] = []
    result = load_users_blocking(
        ConnectionConfig(url=server.url, timeout=20.0),
        Secret(token or DrillServer.ADMIN_TOKEN),
        store,
        incident,
        on_progress=progress.append,
        **kw,
    )
    return result, incident, progress


def _ids(store: Store, incident: int) -> list[int]:
    from console.store import UserQuery

    return store.user_ids(incident, UserQuery())


def test_drill_every_user_exactly_once(drill: Any, store: Store) -> None:
    result, incident, progress = _drill_load(drill, store)
    expected = sorted(drill.state.users)
    assert result.problem is None and not result.cancelled and not result.single_stream
    assert result.loaded == len(expected) == 2000
    assert _ids(store, incident) == expected
    # two cursors of 100: about 20 pages in all, shared between the streams
    assert 20 <= result.pages <= 22
    loaded = [p.loaded for p in progress]
    assert loaded == sorted(loaded) and progress[-1].done and progress[-1].total == 2000
    assert result.first_page_seconds is not None


@pytest.mark.parametrize("keep", [1, 2, 3, 37])
def test_drill_tiny_and_odd_instances(keep: int, store: Store) -> None:
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=40))
    with server.state.lock:
        for user in list(server.state.users.values())[keep:]:
            server.state.remove_user(user)
    expected = sorted(server.state.users)
    assert len(expected) == keep
    with server:
        result, incident, _ = _drill_load(server, store, per_page=2)
    assert result.problem is None
    assert _ids(store, incident) == expected and result.loaded == keep


def test_drill_non_admin_token_loads_a_partial_list(drill: Any, store: Store) -> None:
    from console.drill.server import DrillServer

    result, incident, _ = _drill_load(drill, store, token=DrillServer.USER_TOKEN)
    assert result.problem is None
    ids = _ids(store, incident)
    assert 0 < len(ids) <= len(drill.state.users)
    assert len(ids) == len(set(ids)) == result.loaded
    # the drill ignores order_by/sort for non-admins, like GitLab: one stream read it all
    assert result.single_stream


def test_drill_rate_limit_is_honoured_and_the_load_completes(
    fresh_drill: Any, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    import console.drill.server as drill_server

    # Put the drill's clock 1.5 s before a minute boundary so its Retry-After is short.
    real = time.time
    offset = (60 - real() % 60) - 1.5
    fake = types.SimpleNamespace(time=lambda: real() + offset, sleep=time.sleep)
    monkeypatch.setattr(drill_server, "time", fake)
    fresh_drill._throttle = drill_server._Throttle(3)
    started = time.monotonic()
    result, incident, _ = _drill_load(fresh_drill, store)
    assert result.problem is None, result.problem
    assert result.loaded == len(fresh_drill.state.users) == len(_ids(store, incident))
    assert result.rate_limited_seconds >= 0.5
    assert time.monotonic() - started >= 0.5


def test_drill_server_errors_are_retried(store: Store, quick_backoff: None) -> None:
    from console.drill.server import DrillOptions, DrillServer

    with DrillServer(DrillOptions(users=600, error_rate=0.2, seed=3)) as server:
        result, incident, _ = _drill_load(server, store, per_page=50)
    assert result.problem is None, result.problem
    assert result.retries > 0
    assert _ids(store, incident) == sorted(server.state.users)


def test_drill_enrichment_fills_sign_in_ips(drill: Any, store: Store) -> None:
    from console.config import ConnectionConfig
    from console.drill.server import DrillServer
    from console.secret import Secret
    from console.users_load import enrich_users_blocking

    result, incident, _ = _drill_load(drill, store)
    assert result.loaded == 2000
    targets = [u.id for u in drill.state.users.values() if u.current_sign_in_ip][:25]
    assert targets
    assert all(
        store.get_user(incident, uid).current_sign_in_ip is None  # type: ignore[union-attr]
        for uid in targets
    )
    enriched = enrich_users_blocking(
        ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN), store, incident, targets
    )
    assert enriched.problem is None and enriched.enriched == len(targets)
    for uid in targets:
        row = store.get_user(incident, uid)
        assert row is not None
        assert row.current_sign_in_ip == drill.state.users[uid].current_sign_in_ip
        assert row.sign_in_count == drill.state.users[uid].sign_in_count


def test_drill_tokens_are_all_fetched(drill: Any) -> None:
    from console.config import ConnectionConfig
    from console.drill.server import DrillServer
    from console.secret import Secret
    from console.users_load import fetch_tokens_blocking

    tokens = fetch_tokens_blocking(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))
    ids = [t["id"] for t in tokens]
    assert len(ids) == len(set(ids)) > 0
    assert all("token" not in t for t in tokens)


def test_drill_risk_is_computed_and_stored(drill: Any, store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from console.config import ConnectionConfig
    from console.drill import seed
    from console.drill.server import DrillServer
    from console.risk import compute_and_store_risk
    from console.secret import Secret
    from console.store import UserQuery
    from console.users_load import enrich_users_blocking, fetch_tokens_blocking

    cfg, token = ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN)
    result, incident, _ = _drill_load(drill, store)
    assert result.loaded == 2000
    victim = next(u for u in drill.state.users.values() if u.username == seed.COMPROMISED_USERNAME)
    enrich_users_blocking(cfg, token, store, incident, [victim.id])
    now = datetime.now(UTC)
    window = ((now - timedelta(days=7)).isoformat(), now.isoformat())
    before = (now - timedelta(days=30)).isoformat()
    history = [  # a sign-in from the office before the window; the current IP is new
        {
            "id": 1,
            "author_id": victim.id,
            "event_name": "authenticated_with_password",
            "created_at": before,
            "details": {"ip_address": "10.20.30.40"},
        },
    ]
    risks = compute_and_store_risk(
        store, incident, window, tokens=fetch_tokens_blocking(cfg, token), events=history
    )
    assert len(risks) == 2000
    score, reasons = risks[victim.id]
    assert score > 0 and any(seed.ATTACKER_IP in r for r in reasons), reasons
    row = store.get_user(incident, victim.id)
    assert row is not None and row.risk == score and list(row.risk_reasons) == reasons
    ranked = store.user_ids(incident, UserQuery(sort="risk", descending=True))
    assert victim.id in ranked[:20]


def test_risk_reads_cached_tokens_and_events_when_not_given(store: Store) -> None:
    from console.risk import AUDIT_EVENTS_CACHE_KEY, TOKENS_CACHE_KEY, compute_and_store_risk

    incident = _incident(store)
    store.upsert_users(
        incident,
        [
            {
                "id": 1,
                "username": "root",
                "name": "Root",
                "is_admin": True,
                "two_factor_enabled": True,
                "state": "active",
                "created_at": "2020-01-01T00:00:00Z",
            },
            {
                "id": 2,
                "username": "svc",
                "name": "svc",
                "user_type": "project_bot",
                "state": "active",
                "created_at": "2020-01-01T00:00:00Z",
            },
        ],
        "2025-01-01T00:00:00Z",
    )
    store.upsert_user_detail(incident, {"id": 1, "current_sign_in_ip": "203.0.113.66"})
    window = ("2025-01-01T00:00:00Z", "2025-01-08T00:00:00Z")
    assert compute_and_store_risk(store, incident, window)[1][0] == 0  # nothing cached yet
    store.cache_put(
        incident,
        AUDIT_EVENTS_CACHE_KEY,
        {
            "events": [
                {
                    "id": 9,
                    "author_id": 1,
                    "event_name": "authenticated_with_password",
                    "created_at": "2024-12-01T00:00:00Z",
                    "details": {"ip_address": "10.0.0.1"},
                },
            ]
        },
    )
    store.cache_put(
        incident,
        TOKENS_CACHE_KEY,
        [
            {
                "id": 5,
                "user_id": 2,
                "name": "ci",
                "expires_at": None,
                "active": True,
                "revoked": False,
                "scopes": ["api"],
                "created_at": "2024-01-01T00:00:00Z",
            },
        ],
    )
    risks = compute_and_store_risk(store, incident, window)
    assert risks[1][0] > 0 and any("203.0.113.66" in r for r in risks[1][1])
    assert risks[2][0] > 0  # the bot's token never expires
    row = store.get_user(incident, 2)
    assert row is not None and row.risk == risks[2][0]
