"""Audit events into the store: every event once, only missing windows, partial on failure."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gitlab
import pytest

from console.audit.load import load_events_blocking, plan_pieces, scope_key
from console.config import ConnectionConfig
from console.secret import Secret
from console.store import EventQuery, Store


def _store(tmp_path: Path) -> tuple[Store, int]:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-instance", None, "http://127.0.0.1", None, None)
    return store, inc.id


def _truth(drill: Any, start: datetime, end: datetime) -> set[int]:
    """Every event id in the window, listed sequentially with python-gitlab in 30-day slices."""
    gl = gitlab.Gitlab(drill.url, private_token=drill.ADMIN_TOKEN)
    ids: set[int] = set()
    lo = start
    while lo < end:
        hi = min(end, lo + timedelta(days=30))
        events = gl.http_list(
            "/audit_events",
            iterator=True,
            created_after=lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
            created_before=hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
            pagination="keyset", order_by="id", sort="desc", per_page=100,
        )  # fmt: skip
        ids |= {int(e["id"]) for e in events}
        lo = hi
    return ids


def test_plan_pieces_cover_the_gaps_without_holes_newest_first() -> None:
    lo = datetime(2026, 9, 1, tzinfo=UTC)
    hi = datetime(2026, 11, 20, tzinfo=UTC)
    pieces = plan_pieces([(lo, hi)], pieces=12)
    assert len(pieces) >= 12
    assert all(b - a <= timedelta(days=30) for a, b in pieces)
    ordered = sorted(pieces)
    assert ordered[0][0] == lo and ordered[-1][1] == hi
    for (_, end), (nxt, _) in itertools.pairwise(ordered):
        assert nxt == end  # neighbours share their boundary second
    assert pieces[0][0] == ordered[-1][0]  # newest first
    assert plan_pieces([], pieces=4) == []


def test_a_window_is_loaded_whole_then_only_what_is_missing(drill: Any, tmp_path: Path) -> None:
    store, inc = _store(tmp_path)
    cfg = ConnectionConfig(url=drill.url)
    token = Secret(drill.ADMIN_TOKEN)
    now = drill.state.current_time().replace(microsecond=0)
    start = now - timedelta(days=40)
    middle = now - timedelta(days=20)
    progress: list[Any] = []

    first = load_events_blocking(
        cfg, token, store, inc, (start, middle), now=now, on_progress=progress.append
    )
    assert first.problem is None and not first.cancelled
    expected = _truth(drill, start, middle)
    stored = {r["id"] for r in store.events_by_rids(inc, store.event_rids(inc))}
    assert stored == expected and first.stored == len(expected)
    assert progress and progress[-1].pieces_done == first.pieces
    assert store.missing_audit_windows(inc, "instance", start.isoformat(), middle.isoformat()) == []

    again = load_events_blocking(cfg, token, store, inc, (start, middle), now=now)
    assert again.up_to_date and again.pages == 0

    wider = load_events_blocking(cfg, token, store, inc, (start, now), now=now)
    assert wider.problem is None
    assert wider.stored == len(_truth(drill, start, now) - expected)
    assert store.count_events(inc) == len(_truth(drill, start, now))
    assert store.count_events(inc, EventQuery(scope=scope_key(("instance", None)))) > 0


def test_free_tier_is_a_coverage_gap_not_an_error(tmp_path: Path) -> None:
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=50, tier="free"))
    server.start()
    try:
        store, inc = _store(tmp_path)
        now = server.state.current_time()
        result = load_events_blocking(
            ConnectionConfig(url=server.url), Secret(server.ADMIN_TOKEN), store, inc,
            (now - timedelta(days=5), now), now=now,
        )  # fmt: skip
    finally:
        server.stop()
    assert result.coverage_gap and result.problem is not None
    assert store.audit_windows(inc, "instance") == []


def test_cancel_leaves_unfinished_windows_missing(drill: Any, tmp_path: Path) -> None:
    store, inc = _store(tmp_path)
    now = drill.state.current_time().replace(microsecond=0)
    result = load_events_blocking(
        ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN), store, inc,
        (now - timedelta(days=60), now), now=now, cancelled=lambda: True,
    )  # fmt: skip
    assert result.cancelled
    assert store.missing_audit_windows(inc, "instance", "2026-01-01", now.isoformat()) != []


@pytest.mark.parametrize("status", [502])
def test_a_failing_server_is_reported_and_keeps_what_was_stored(
    tmp_path: Path, status: int
) -> None:
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=50, error_rate=1.0))
    server.start()
    try:
        store, inc = _store(tmp_path)
        now = server.state.current_time()
        result = load_events_blocking(
            ConnectionConfig(url=server.url), Secret(server.ADMIN_TOKEN), store, inc,
            (now - timedelta(days=5), now), now=now,
        )  # fmt: skip
    finally:
        server.stop()
    assert result.problem is not None and not result.coverage_gap
    assert result.retries > 0
    assert store.audit_windows(inc, "instance") == []
