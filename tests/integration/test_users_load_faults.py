"""The async read paths under a misbehaving GitLab: foreign next links, the fault matrix, odd
records and cancellation through the thread bridge.

One small fake (httpx.MockTransport) serves ``/users`` (creation-time probes and filters,
keyset by id with ``Link`` headers), ``/users/:id`` and ``/personal_access_tokens``; each test
turns one knob. The paths: the users load by slices (admin plan) and by id streams, the
per-user enrichment and the PAT fetch.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from console.store import Store
from console.users_load import (
    EnrichResult,
    FetchError,
    LoadResult,
    enrich_users,
    enrich_users_blocking,
    fetch_tokens,
    fetch_tokens_blocking,
    load_users,
    load_users_blocking,
)
from tests.faults import FAULTS, Fault, HttpxFaults, fault_ids

BASE = "http://gitlab.test/api/v4"
T0 = 1_600_000_000


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class MiniGitLab:
    """Users 1..n created a minute apart; ``link_base`` is where next links point."""

    def __init__(self, n: int = 100) -> None:
        self.users: list[dict[str, Any]] = [
            {
                "id": i,
                "username": f"u{i}",
                "name": f"U {i}",
                "state": "active",
                "created_at": _iso(T0 + 60 * i),
            }
            for i in range(1, n + 1)
        ]
        self.tokens = [{"id": i, "name": f"t{i}", "user_id": 1 + i % n} for i in range(1, 251)]
        self.link_base = BASE
        self.total_pages_header: str | None = None
        self.requests: list[httpx.URL] = []

    def _link(self, path: str, q: dict[str, str]) -> dict[str, str]:
        return {"link": f'<{self.link_base}{path}?{urlencode(q)}>; rel="next"'}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url)
        path = request.url.path
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        if path == "/api/v4/application/statistics":
            return httpx.Response(404, json={"message": "404 Not Found"})
        if path.startswith("/api/v4/users/"):
            uid = int(path.rsplit("/", 1)[1])
            match = [u for u in self.users if u.get("id") == uid]
            if not match:
                return httpx.Response(404, json={"message": "404 User Not Found"})
            detail = {**match[0], "current_sign_in_ip": "203.0.113.9", "sign_in_count": 3}
            return httpx.Response(200, json=detail, headers=self._link(path, {"page": "2"}))
        if path == "/api/v4/personal_access_tokens":
            page, per = int(q.get("page", 1)), int(q.get("per_page", 20))
            chunk = self.tokens[(page - 1) * per : page * per]
            headers = self._link(path, {**q, "page": str(page + 1)}) if chunk else {}
            if self.total_pages_header is not None:
                headers["x-total-pages"] = self.total_pages_header
            return httpx.Response(200, json=chunk, headers=headers)
        assert path == "/api/v4/users", path
        return self._users(q)

    def _users(self, q: dict[str, str]) -> httpx.Response:
        per_page = int(q.get("per_page", 20))
        rows = list(self.users)
        if "created_after" in q:
            rows = [u for u in rows if u["created_at"] >= q["created_after"].replace("Z", ".000Z")]
        if "created_before" in q:
            rows = [u for u in rows if u["created_at"] <= q["created_before"].replace("Z", ".000Z")]
        if q.get("order_by") == "created_at":  # the plan's probes
            rows.sort(key=lambda u: u["created_at"], reverse=q.get("sort") == "desc")
            return httpx.Response(200, json=rows[:per_page], headers={"x-total": str(len(rows))})
        if q.get("pagination") != "keyset":
            return httpx.Response(200, json=rows[:per_page], headers={"x-total": str(len(rows))})
        desc = q.get("sort") == "desc"
        rows.sort(key=lambda u: u["id"], reverse=desc)
        if "cursor" in q:
            c = int(q["cursor"])
            rows = [u for u in rows if (u["id"] < c if desc else u["id"] > c)]
        page = rows[:per_page]
        headers = {}
        if len(rows) > per_page:
            headers = self._link("/users", {**q, "cursor": str(page[-1]["id"])})
        return httpx.Response(200, json=page, headers=headers)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state" / "console.db")
    try:
        yield s
    finally:
        s.close()


def _incident(store: Store) -> int:
    return store.create_incident("t", "compromised-instance", None, BASE, None, None).id


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=BASE)


def _load(
    handler: Callable[[httpx.Request], httpx.Response], store: Store, *, partitions: int
) -> tuple[LoadResult, int]:
    incident = _incident(store)

    async def run() -> LoadResult:
        async with _client(handler) as client:
            return await load_users(client, store, incident, per_page=5, partitions=partitions)

    return asyncio.run(run()), incident


def _enrich(
    handler: Callable[[httpx.Request], httpx.Response], store: Store, ids: list[int]
) -> EnrichResult:
    incident = _incident(store)
    store.upsert_users(incident, [{"id": i, "username": f"u{i}"} for i in ids], "2025-01-01")

    async def run() -> EnrichResult:
        async with _client(handler) as client:
            return await enrich_users(client, store, incident, ids, concurrency=2)

    return asyncio.run(run())


def _tokens(handler: Callable[[httpx.Request], httpx.Response]) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        async with _client(handler) as client:
            return await fetch_tokens(client, concurrency=3)

    return asyncio.run(run())


# --------------------------------------------------------------------------- foreign next links

FOREIGN = {
    "other host": "http://evil.example/api/v4",
    "same host, other port": "http://gitlab.test:8080/api/v4",
    "other scheme": "https://gitlab.test/api/v4",
    "other API prefix": "http://gitlab.test/evil/api/v4",
}


def _all_local(urls: list[httpx.URL]) -> bool:
    return all(
        (u.scheme, u.host, u.port, u.path.startswith("/api/v4/"))
        == ("http", "gitlab.test", None, True)
        for u in urls
    )


@pytest.mark.parametrize("partitions", [16, 1], ids=["slices", "id-streams"])
@pytest.mark.parametrize("where", list(FOREIGN))
def test_users_load_refuses_a_foreign_next_link(store: Store, where: str, partitions: int) -> None:
    fake = MiniGitLab(100)
    fake.link_base = FOREIGN[where]
    result, incident = _load(fake.handler, store, partitions=partitions)
    assert result.problem is not None and result.problem.title == "Unsafe pagination link"
    assert "outside the configured instance" in result.problem.detail
    assert _all_local(fake.requests), [str(u) for u in fake.requests]
    # the first pages are kept; nothing after the bad link was asked for
    assert 0 < result.loaded == store.count_users(incident) < 100
    if partitions > 1:
        assert result.partitions >= 2 and not result.fell_back
        keyset = [u.query for u in fake.requests if b"pagination=keyset" in u.query]
        unsliced = [q for q in keyset if b"created_" not in q]
        # slices, not the id streams: besides them only the first page, read beside the probes
        assert any(b"created_" in q for q in keyset)
        assert unsliced == [b"pagination=keyset&order_by=id&sort=asc&per_page=5"]
    else:
        assert result.partitions == 0


@pytest.mark.parametrize("where", list(FOREIGN))
def test_enrich_and_pat_fetch_never_follow_a_foreign_link(store: Store, where: str) -> None:
    # Neither pages by link: enrichment reads one user per request and the PAT list is asked
    # for by page number against the configured API, so a foreign Link header is never used.
    fake = MiniGitLab(30)
    fake.link_base = FOREIGN[where]
    enriched = _enrich(fake.handler, store, [3, 4, 5])
    assert (enriched.enriched, enriched.problem) == (3, None)
    tokens = _tokens(fake.handler)
    assert sorted(t["id"] for t in tokens) == list(range(1, 251))
    assert _all_local(fake.requests)


# --------------------------------------------------------------------------- the fault matrix


def _keyset_asc_first(request: httpx.Request) -> bool:
    q = parse_qs(request.url.query.decode())
    return q.get("pagination") == ["keyset"] and q.get("sort") == ["asc"] and "cursor" not in q


def _path_is(path: str) -> Callable[[httpx.Request], bool]:
    return lambda request: request.url.path == path


def _path_page(path: str, page: str) -> Callable[[httpx.Request], bool]:
    return lambda r: r.url.path == path and parse_qs(r.url.query.decode()).get("page") == [page]


def _check(fault: Fault, faults: HttpxFaults, problem: Any, elapsed: float) -> None:
    assert faults.attempts == fault.attempts
    assert elapsed <= fault.max_elapsed_s
    if fault.succeeds:
        assert problem is None, problem
        assert elapsed >= fault.min_wait_s
    else:
        assert problem is not None
        assert problem.status == fault.status
        if fault.problem_kind:
            assert problem.kind == fault.problem_kind


@pytest.mark.parametrize("fault", FAULTS, ids=fault_ids)
def test_fault_matrix_users_load(store: Store, fault: Fault) -> None:
    fake = MiniGitLab(40)
    faults = HttpxFaults(fault, fake.handler, _keyset_asc_first)
    started = time.monotonic()
    result, incident = _load(faults, store, partitions=1)
    _check(fault, faults, result.problem, time.monotonic() - started)
    if fault.succeeds:
        assert result.loaded == store.count_users(incident) == 40
        assert result.retries + (result.rate_limited_seconds > 0) >= 1
    else:
        assert not result.cancelled


@pytest.mark.parametrize("fault", FAULTS, ids=fault_ids)
def test_fault_matrix_enrich(store: Store, fault: Fault) -> None:
    fake = MiniGitLab(10)
    faults = HttpxFaults(fault, fake.handler, _path_is("/api/v4/users/4"))
    started = time.monotonic()
    result = _enrich(faults, store, [4])
    _check(fault, faults, result.problem, time.monotonic() - started)
    assert result.enriched == (1 if fault.succeeds else 0)


@pytest.mark.parametrize("fault", FAULTS, ids=fault_ids)
def test_fault_matrix_pat_fetch(fault: Fault) -> None:
    fake = MiniGitLab(10)
    faults = HttpxFaults(fault, fake.handler, _path_page("/api/v4/personal_access_tokens", "2"))
    started = time.monotonic()
    problem = None
    try:
        tokens = _tokens(faults)
    except FetchError as exc:
        problem = exc.problem
    _check(fault, faults, problem, time.monotonic() - started)
    if fault.succeeds:
        assert len(tokens) == 250


# --------------------------------------------------------------------------- cancellation


@pytest.fixture
def slow_429(monkeypatch: pytest.MonkeyPatch) -> MiniGitLab:
    """The ``*_blocking`` entry points get the fake; every keyset, detail and PAT page request
    answers 429 with a 30 s Retry-After (under the 60 s cap: a wait, not a problem)."""
    import console.users_load.enrich as enrich_mod
    import console.users_load.pat as pat_mod
    import console.users_load.writer as writer_mod

    fake = MiniGitLab(40)

    def handler(request: httpx.Request) -> httpx.Response:
        q = parse_qs(request.url.query.decode())
        if "pagination" in q or "page" in q or request.url.path.startswith("/api/v4/users/"):
            return httpx.Response(429, json={"message": "429"}, headers={"Retry-After": "30"})
        return fake.handler(request)

    def build(config: Any, token: Any, *, max_connections: int = 8) -> httpx.AsyncClient:
        return _client(handler)

    for module in (enrich_mod, pat_mod, writer_mod):
        monkeypatch.setattr(module, "build_httpx", build)
    return fake


def _cancel_after(seconds: float) -> tuple[Callable[[], bool], list[float]]:
    at: list[float] = []
    started = time.monotonic()

    def cancelled() -> bool:
        if time.monotonic() - started >= seconds:
            if not at:
                at.append(time.monotonic())
            return True
        return False

    return cancelled, at


def test_cancel_during_a_wait_returns_promptly(store: Store, slow_429: MiniGitLab) -> None:
    from console.config import ConnectionConfig
    from console.secret import Secret

    cfg, token = ConnectionConfig(url="http://gitlab.test"), Secret("x" * 20)
    waits: list[tuple[float, str]] = []

    at: list[float] = []

    def cancelled() -> bool:  # x pressed once the 30 s wait is announced
        if waits and not at:
            at.append(time.monotonic())
        return bool(waits)

    result = load_users_blocking(
        cfg,
        token,
        store,
        _incident(store),
        cancelled=cancelled,
        partitions=1,
        on_wait=lambda s, why: waits.append((s, why)),
    )
    assert result.cancelled and result.problem is None
    assert time.monotonic() - at[0] < 10.0  # not the 30 s wait
    assert waits and all(why == "rate_limited" and 30 <= s <= 31 for s, why in waits)

    cancelled, at = _cancel_after(0.3)
    enriched = enrich_users_blocking(
        cfg, token, store, _incident(store), [1, 2], cancelled=cancelled
    )
    assert enriched.cancelled and enriched.problem is None
    assert time.monotonic() - at[0] < 10.0  # not the 30 s wait

    cancelled, at = _cancel_after(0.3)
    with pytest.raises(FetchError) as caught:
        fetch_tokens_blocking(cfg, token, cancelled=cancelled)
    assert caught.value.cancelled
    assert time.monotonic() - at[0] < 10.0  # not the 30 s wait


def test_bridge_returns_results_and_raises_errors() -> None:
    from console.api.bridge import LoopCancelled, LoopThread, run_in_loop_thread

    async def answer() -> int:
        await asyncio.sleep(0.01)
        return 42

    async def broken() -> int:
        raise ValueError("boom")

    assert run_in_loop_thread(answer, lambda: False) == 42
    with pytest.raises(ValueError, match="boom"):
        run_in_loop_thread(broken, lambda: False)
    flag = threading.Event()

    async def forever() -> int:
        await asyncio.sleep(60)  # a broken bridge fails the bound below instead of hanging
        return 0

    worker = LoopThread(forever, flag.is_set).start()
    started = time.monotonic()
    flag.set()
    with pytest.raises(LoopCancelled):
        worker.join()
    assert time.monotonic() - started < 10.0


# --------------------------------------------------------------------------- odd records


@pytest.mark.parametrize("blocking", [False, True], ids=["load_users", "load_users_blocking"])
def test_odd_records_are_skipped_and_counted_never_fatal(
    store: Store, blocking: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = 2**63
    page1: list[Any] = [
        {"id": 1, "username": "ok1", "created_at": "2024-01-01T00:00:00Z"},
        {"id": big, "username": "beyond-int64"},
        {"id": 2**64 + 5, "username": "way-beyond"},
        {"username": "no-id"},
        {"id": "3", "username": "string-id"},
        {"id": True, "username": "bool-id"},
        42,
        None,
        {"id": 4},  # every optional field missing
        {"id": 5, "username": "huge-count", "sign_in_count": 2**70},
    ]
    pages = [
        page1,
        [],
        [{"id": big, "username": "seen-again"}],
        [{"id": 1000 + i, "username": f"bulk{i}"} for i in range(3000)],
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        if q.get("pagination") != "keyset":
            return httpx.Response(404, json={"message": "404"})
        n = int(q.get("n", 0))
        headers = {}
        if n + 1 < len(pages):
            headers["link"] = f'<{BASE}/users?{urlencode({**q, "n": n + 1})}>; rel="next"'
        return httpx.Response(200, json=pages[n], headers=headers)

    if blocking:
        import console.users_load.writer as writer_mod
        from console.config import ConnectionConfig
        from console.secret import Secret

        monkeypatch.setattr(writer_mod, "build_httpx", lambda *a, **k: _client(handler))
        incident = _incident(store)
        result = load_users_blocking(
            ConnectionConfig(url="http://gitlab.test"),
            Secret("x" * 20),
            store,
            incident,
            partitions=1,
        )
    else:
        result, incident = _load(handler, store, partitions=1)
    assert result.problem is None and not result.cancelled
    assert result.loaded == store.count_users(incident) == 3 + 3000
    reasons = dict(result.odd_records)
    assert reasons["id outside 1..2^63-1"] == 2  # 2**63 counted once although sent twice
    assert reasons["no integer id"] == 3
    assert reasons["not a JSON object"] == 2
    assert reasons["stored without a number beyond 64 bits"] == 1
    assert result.skipped == 7
    row = store.get_user(incident, 5)
    assert row is not None and row.username == "huge-count" and row.sign_in_count is None
    assert store.get_user(incident, 4) is not None


def test_enrich_stores_a_detail_with_an_oversized_number(store: Store) -> None:
    fake = MiniGitLab(5)
    original = fake.handler

    def handler(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path == "/api/v4/users/3":
            body = {**response.json(), "sign_in_count": 2**70}
            return httpx.Response(200, json=body)
        return response

    result = _enrich(handler, store, [2, 3])
    assert (result.enriched, result.problem) == (2, None)


def test_pat_fetch_does_not_believe_a_huge_total_pages() -> None:
    fake = MiniGitLab(5)
    fake.total_pages_header = "1000000000000"
    assert sorted(t["id"] for t in _tokens(fake.handler)) == list(range(1, 251))


def test_async_get_reports_each_wait_before_it_starts() -> None:
    from console.api import AsyncGet
    from console.errors import describe_error

    answers = [
        httpx.Response(502),
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(200, json=[]),
    ]
    waits: list[tuple[float, str, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def run() -> AsyncGet:
        async with _client(handler) as client:
            http = AsyncGet(
                client,
                explain=describe_error,
                on_wait=lambda s, why: waits.append((s, why, len(answers))),
            )
            await http.get("/users")
            return http

    http = asyncio.run(run())
    # each wait is announced after its answer and before the next request is sent
    assert [(why, left) for _, why, left in waits] == [("retry", 2), ("rate_limited", 1)]
    assert 1.0 <= waits[1][0] <= 1.25
    assert http.retries == 1 and http.rate_limited_seconds == waits[1][0]
