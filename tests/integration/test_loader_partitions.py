"""The partitioned user load: creation-time slices read concurrently, and its fallbacks.

A fake ``GET /users`` (httpx.MockTransport) that honours ``created_after``/``created_before``
(inclusive or exclusive, to prove the slice overlap leaves no gap either way), ``order_by`` for
the probes, keyset by id, and GitLab's silent stripping of admin-only filters for non-admins.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from console.store import Store, UserQuery
from console.users_load import LoadProgress, LoadResult, load_users

BASE = "http://gitlab.test/api/v4"
T0 = 1_600_000_000  # 2020-09-13T12:26:40Z


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class FakeGitLab:
    """Users ``{id: created_at epoch}``; knobs for filter semantics and for ignoring filters."""

    def __init__(self, created: dict[int, float], *, admin: bool = True) -> None:
        self.created = created
        self.admin = admin
        self.inclusive = True  # created_after/before compare with >= / <= (else > / <)
        self.ignore_filters_when_paging = False  # honour them for the probes only
        self.requests: list[dict[str, str]] = []
        self.on_request: Callable[[dict[str, str]], None] = lambda q: None

    def user(self, uid: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": uid,
            "username": f"u{uid}",
            "name": f"U {uid}",
            "state": "active",
        }
        if self.admin:
            data["created_at"] = _iso(self.created[uid])
            data["email"] = f"u{uid}@example.test"
        return data

    def handler(self, request: httpx.Request) -> httpx.Response:
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        self.requests.append(q)
        self.on_request(q)
        if request.url.path.endswith("/application/statistics"):
            return httpx.Response(404, json={"message": "404 Not Found"})
        assert request.url.path == "/api/v4/users"
        keyset = q.get("pagination") == "keyset"
        if not self.admin:
            for name in ("created_after", "created_before", "order_by", "sort"):
                q.pop(name, None)
        ids = sorted(self.created)
        if not (keyset and self.ignore_filters_when_paging):
            if "created_after" in q:
                after = _parse(q["created_after"])
                ids = [
                    i
                    for i in ids
                    if (self.created[i] >= after if self.inclusive else self.created[i] > after)
                ]
            if "created_before" in q:
                before = _parse(q["created_before"])
                ids = [
                    i
                    for i in ids
                    if (self.created[i] <= before if self.inclusive else self.created[i] < before)
                ]
        if q.get("order_by") == "created_at":
            ids.sort(key=lambda i: (self.created[i], i))
        if q.get("sort", "desc") == "desc":
            ids.reverse()
        per_page = min(int(q.get("per_page", 20)), 100)
        if not keyset:
            headers = {"x-total": str(len(ids))} if len(ids) <= 10_000 else {}
            return httpx.Response(200, json=[self.user(i) for i in ids[:per_page]], headers=headers)
        if "cursor" in q:
            c = int(q["cursor"])
            ascending = q.get("sort", "desc") == "asc"
            ids = [i for i in ids if (i > c if ascending else i < c)]
        page = ids[:per_page]
        headers = {}
        if len(ids) > per_page:
            link = f"{BASE}/users?{urlencode({**q, 'cursor': str(page[-1])})}"
            headers["link"] = f'<{link}>; rel="next"'
        return httpx.Response(200, json=[self.user(i) for i in page], headers=headers)


class Recording:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.written: Counter[int] = Counter()

    def upsert_users(self, incident_id: int, users: Any, fetched_at: str) -> int:
        users = list(users)
        self.written.update(u["id"] for u in users)
        return self.store.upsert_users(incident_id, users, fetched_at)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state" / "console.db")
    try:
        yield s
    finally:
        s.close()


def _load(
    fake: FakeGitLab, store: Store, **kw: Any
) -> tuple[LoadResult, Recording, list[LoadProgress], int]:
    incident = store.create_incident("t", "compromised-instance", None, BASE, None, None).id
    rec = Recording(store)
    progress: list[LoadProgress] = []

    async def run() -> LoadResult:
        async def handler(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.0005)  # a real server answers later: the slices interleave
            return fake.handler(request)

        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await load_users(
                client,
                rec,
                incident,  # type: ignore[arg-type]
                on_progress=progress.append,
                **kw,
            )

    return asyncio.run(run()), rec, progress, incident


def _exactly_once(
    fake: FakeGitLab, result: LoadResult, rec: Recording, store: Store, incident: int
) -> None:
    assert result.problem is None and not result.cancelled
    assert set(rec.written) == set(fake.created)
    assert all(n == 1 for n in rec.written.values()), rec.written.most_common(3)
    assert result.loaded == len(fake.created)
    assert store.user_ids(incident, UserQuery()) == sorted(fake.created)


def _slice_params(fake: FakeGitLab) -> list[tuple[str | None, str | None]]:
    """Each slice's bounds; a keyset request with neither is the first page (asked for beside
    the probes), which no slice is: there are always two or more, each bounded on one side."""
    return sorted(
        {
            (q.get("created_after"), q.get("created_before"))
            for q in fake.requests
            if q.get("pagination") == "keyset" and "cursor" not in q
        }
        - {(None, None)},
        key=str,
    )


@pytest.mark.parametrize("inclusive", [True, False])
def test_slices_cover_every_user_once_even_on_the_boundaries(store: Store, inclusive: bool) -> None:
    # one user per second: every slice edge (a whole second) is some user's created_at,
    # and the neighbours one second either side of it too
    fake = FakeGitLab({uid: T0 + uid for uid in range(1, 401)})
    fake.inclusive = inclusive
    result, rec, progress, incident = _load(fake, store, per_page=5, partitions=8)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions == 8 and not result.fell_back
    slices = _slice_params(fake)
    assert len(slices) == 8
    assert sum(1 for after, _ in slices if after is None) == 1  # the first is open below
    assert sum(1 for _, before in slices if before is None) == 1  # the last open above
    loaded = [p.loaded for p in progress]
    assert loaded == sorted(loaded) and progress[-1].done and progress[-1].total == 400


def test_fractional_timestamps_and_sparse_ids(store: Store) -> None:
    created = {uid * 7: T0 + uid * 0.37 for uid in range(1, 700)}
    fake = FakeGitLab(created)
    fake.inclusive = False
    result, rec, _, incident = _load(fake, store, per_page=7, partitions=16)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions >= 2


def test_everyone_created_in_the_same_second_uses_the_two_streams(store: Store) -> None:
    fake = FakeGitLab({uid: T0 + 0.25 for uid in range(1, 301)})
    result, rec, _, incident = _load(fake, store, per_page=5)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions == 0
    assert not any("created_after" in q for q in fake.requests)


def test_a_crowded_slice_is_split_for_an_idle_worker(store: Store) -> None:
    # 600 users spread over 600 s, then 1,400 more inside 40 s: equal slices are lopsided
    created = {uid: T0 + uid for uid in range(1, 601)}
    created.update({uid: T0 + 600 + (uid - 600) / 35 for uid in range(601, 2001)})
    fake = FakeGitLab(created)
    result, rec, _, incident = _load(fake, store, per_page=10, partitions=4)
    _exactly_once(fake, result, rec, store, incident)
    assert result.splits >= 1
    assert len(_slice_params(fake)) > 4


def test_non_admin_token_falls_back_to_the_two_streams(store: Store) -> None:
    fake = FakeGitLab({uid: T0 + uid * 60 for uid in range(1, 501)}, admin=False)
    result, rec, _, incident = _load(fake, store, per_page=5)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions == 0 and not result.fell_back
    assert result.single_stream  # GitLab drops the sort for non-admins as well


def test_a_server_ignoring_the_filters_fails_the_probe(store: Store) -> None:
    fake = FakeGitLab({uid: T0 + uid * 60 for uid in range(1, 501)})
    original = fake.handler

    def handler(request: httpx.Request) -> httpx.Response:  # filters dropped, created_at kept
        url = request.url.copy_remove_param("created_after").copy_remove_param("created_before")
        return original(httpx.Request(request.method, url))

    fake.handler = handler  # type: ignore[method-assign]
    result, rec, _, incident = _load(fake, store, per_page=5)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions == 0
    assert not any(
        q.get("pagination") == "keyset" and "created_before" in q for q in fake.requests
    )  # the probe caught it before any slice was read


def test_a_page_outside_its_slice_abandons_the_partitions(store: Store) -> None:
    fake = FakeGitLab({uid: T0 + uid * 60 for uid in range(1, 501)})
    fake.ignore_filters_when_paging = True  # the probe passes, the slices then get everyone
    result, rec, _, incident = _load(fake, store, per_page=5)
    _exactly_once(fake, result, rec, store, incident)
    assert result.fell_back and result.partitions == 0


def test_cancellation_between_pages_of_the_slices(store: Store) -> None:
    fake = FakeGitLab({uid: T0 + uid for uid in range(1, 2001)})
    pages = {"n": 0}

    def count(q: dict[str, str]) -> None:
        if q.get("pagination") == "keyset":
            pages["n"] += 1

    fake.on_request = count
    result, rec, progress, incident = _load(
        fake, store, per_page=10, cancelled=lambda: pages["n"] >= 12
    )
    assert result.cancelled and result.problem is None
    assert 0 < result.loaded < 2000
    assert pages["n"] <= 12 + 8  # at most the requests already in flight
    assert store.count_users(incident) == result.loaded == len(rec.written)
    assert progress[-1].done and progress[-1].loaded == result.loaded


def test_partitions_one_means_the_two_streams(store: Store) -> None:
    fake = FakeGitLab({uid: T0 + uid for uid in range(1, 401)})
    result, rec, _, incident = _load(fake, store, per_page=5, partitions=1)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions == 0
    assert not any("order_by" in q and q["order_by"] == "created_at" for q in fake.requests)


# --------------------------------------------------------------------------- the drill


def _drill_load(drill: Any, store: Store) -> tuple[LoadResult, int]:
    """The blocking load of the shared drill's users into a new incident, 20 per page."""
    from console.config import ConnectionConfig
    from console.drill.server import DrillServer
    from console.secret import Secret
    from console.users_load import load_users_blocking

    incident = store.create_incident("t", "compromised-instance", None, drill.url, None, None).id
    config = ConnectionConfig(url=drill.url, timeout=20.0)
    token = Secret(DrillServer.ADMIN_TOKEN)
    return load_users_blocking(config, token, store, incident, per_page=20), incident


def test_drill_partitioned_load_equals_the_full_user_set(drill: Any, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    try:
        result, incident = _drill_load(drill, store)
        assert result.problem is None and result.partitions == 10
        assert store.user_ids(incident, UserQuery()) == sorted(drill.state.users)
        assert result.loaded == len(drill.state.users)
    finally:
        store.close()


def test_the_oldest_and_newest_probes_are_in_flight_together(store: Store) -> None:
    """One round trip less before the first rows: the two edge probes do not wait on each other."""
    fake = FakeGitLab({i: 1_700_000_000 + 60 * i for i in range(1, 3001)})
    incident = store.create_incident("t", "compromised-instance", None, BASE, None, None).id
    in_flight: list[str] = []
    together: list[list[str]] = []

    async def run() -> LoadResult:
        async def handler(request: httpx.Request) -> httpx.Response:
            q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
            probe = q.get("order_by") == "created_at" and q.get("pagination") != "keyset"
            if probe:
                in_flight.append(q["sort"])
                together.append(sorted(in_flight))
            await asyncio.sleep(0.01)
            if probe:
                in_flight.remove(q["sort"])
            return fake.handler(request)

        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await load_users(client, store, incident)

    result = asyncio.run(run())
    assert result.problem is None and result.partitions >= 2
    assert ["asc", "desc"] in together
    assert store.user_ids(incident, UserQuery()) == sorted(fake.created)


def test_the_first_page_is_written_alone_even_when_more_are_waiting(
    drill: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first rows wait for one page's upsert: pages that queued up behind the first one
    are written with the next commit, not with it (later commits do coalesce)."""
    import queue
    import threading

    from console.users_load import writer

    queued = threading.Event()

    class CountingQueue(queue.Queue[Any]):
        def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
            super().put(item, block, timeout)
            if self.qsize() >= 4:
                queued.set()

    class HeldWriter(writer.LoopThread):
        def start(self) -> HeldWriter:
            super().start()
            queued.wait(10)  # the writer's first get() finds several pages waiting
            return self

    monkeypatch.setattr(writer.queue, "Queue", CountingQueue)
    monkeypatch.setattr(writer, "LoopThread", HeldWriter)
    store = Store.open(tmp_path / "s.db")
    batches: list[int] = []
    upsert = store.upsert_users

    def recording(incident_id: int, rows: Any, now: Any) -> Any:
        batches.append(len(rows))
        return upsert(incident_id, rows, now)

    monkeypatch.setattr(store, "upsert_users", recording)
    try:
        result, _ = _drill_load(drill, store)
        assert result.problem is None and queued.is_set()
        assert batches[0] == 20
        assert max(batches[1:]) > 20  # what queued meanwhile still shares a commit
        assert sum(batches) == len(drill.state.users)
    finally:
        store.close()


def test_the_first_page_is_read_beside_the_probes_and_written_first(store: Store) -> None:
    """The lowest ids are the first rows, one round trip after the start: their page is in
    flight with the edge probes, written before any slice's page, and not written twice."""
    fake = FakeGitLab({i: 1_700_000_000 + 60 * i for i in range(1, 3001)})
    in_flight: list[str] = []
    together: list[list[str]] = []

    def first_page(q: dict[str, str]) -> bool:
        return q.get("pagination") == "keyset" and not any(k.startswith("created_") for k in q)

    async def slow(request: httpx.Request) -> httpx.Response:
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        name = "first" if first_page(q) else "probe" if q.get("order_by") == "created_at" else ""
        if name:
            in_flight.append(name)
            together.append(sorted(in_flight))
        await asyncio.sleep(0.01)
        if name:
            in_flight.remove(name)
        return fake.handler(request)

    incident = store.create_incident("t", "compromised-instance", None, BASE, None, None).id
    rec = Recording(store)
    order: list[list[int]] = []
    upsert = rec.upsert_users

    def recording(incident_id: int, users: Any, fetched_at: str) -> int:
        users = list(users)
        order.append([u["id"] for u in users])
        return upsert(incident_id, users, fetched_at)

    rec.upsert_users = recording  # type: ignore[method-assign]

    async def run() -> LoadResult:
        async with httpx.AsyncClient(transport=httpx.MockTransport(slow), base_url=BASE) as c:
            return await load_users(c, rec, incident, per_page=50)  # type: ignore[arg-type]

    result = asyncio.run(run())
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions >= 2
    assert ["first", "probe", "probe"] in together  # one round trip, not three
    assert order[0] == list(range(1, 51))  # the lowest ids are written first
    assert sum(1 for q in fake.requests if first_page(q)) == 1


def test_without_a_plan_the_ascending_stream_starts_from_the_first_page(store: Store) -> None:
    """A non-admin token (no creation filters): the first page read beside the probes is the
    ascending id stream's first page; it is not asked for twice."""
    fake = FakeGitLab({uid: T0 + uid * 60 for uid in range(1, 501)}, admin=False)
    result, rec, _, incident = _load(fake, store, per_page=20)
    _exactly_once(fake, result, rec, store, incident)
    assert result.partitions == 0
    # The fake, as GitLab for a non-admin, ignores the order, so the streams find the pages
    # unordered and one stream reads on alone; it goes on from the first page's next link.
    starts = [q for q in fake.requests if q.get("pagination") == "keyset" and "cursor" not in q]
    assert len(starts) == 1
