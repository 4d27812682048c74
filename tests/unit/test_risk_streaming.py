"""Risk reads the stored events as a stream and folds them: never a list of every event."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import console.risk.scoring as scoring
from console.risk import compute_and_store_risk, sign_in_history
from console.risk.signals import compute_risk
from console.store import EventQuery, Store
from console.timeutil import normalize_ts

WINDOW = ("2025-01-01T00:00:00Z", "2025-01-08T00:00:00Z")
NAMES = ("user_logged_in", "authenticated_with_password", "personal_access_token_created",
         "user_admin_status_updated", "project_created", "add_ssh_key")  # fmt: skip


def _events(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        name = NAMES[i % len(NAMES)]
        day = 1 + i % 9  # some before the window's end, some after
        out.append(
            {
                "id": i,
                "created_at": f"2025-01-0{day}T{i % 24:02d}:00:00Z" if day < 10 else None,
                "author_id": 1 + i % 6,
                "event_name": name,
                "target_type": "User",
                "target_id": str(1 + (i * 7) % 6),
                "ip_address": f"10.0.0.{i % 4}",
                "details": {},
            }
        )
    return [e for e in out if e["created_at"]]


def _store(tmp_path: Path, n: int = 60) -> tuple[Store, int]:
    store = Store.open(tmp_path / "s.db")
    iid = int(
        store.create_incident(
            "t", "compromised-instance", None, "https://g", WINDOW[0], WINDOW[1]
        ).id
    )
    users = [
        {"id": u, "username": f"u{u}", "name": f"U {u}", "state": "active",
         "is_admin": u == 2, "created_at": "2020-01-01T00:00:00Z"}
        for u in range(1, 8)
    ]  # fmt: skip
    store.upsert_users(iid, users, "2025-01-02T00:00:00Z")
    for uid in range(1, 8):
        store.upsert_user_detail(
            iid, {"id": uid, "current_sign_in_ip": f"10.0.0.{uid % 4}", "current_sign_in_at": None}
        )
    from console.audit.model import normalize_event

    normalized = [normalize_event(e) for e in _events(n)]
    store.upsert_events(iid, "instance", [e.to_dict() for e in normalized if e is not None])
    store.record_audit_window(iid, "instance", WINDOW[0], WINDOW[1])
    return store, iid


def _old_sign_in_history(
    events: list[Mapping[str, Any]], current_ips: Mapping[int, str | None]
) -> dict[int, set[str]]:
    """sign_in_history as it was: every sign-in kept in a list per user."""
    from console.risk.sign_ins import _is_sign_in

    seen: dict[int, list[tuple[str, str]]] = {}
    for event in events:
        if not _is_sign_in(event):
            continue
        author, ip = event.get("author_id"), event.get("ip_address")
        when = normalize_ts(event.get("created_at"))
        if isinstance(author, int) and author > 0 and isinstance(ip, str) and ip and when:
            seen.setdefault(author, []).append((when, ip))
    history = {}
    for uid, sign_ins in seen.items():
        current = current_ips.get(uid)
        first = min((w for w, ip in sign_ins if ip == current), default=None)
        history[uid] = {ip for w, ip in sign_ins if first is None or w < first}
    return history


def _old_stored_events(store: Store, iid: int) -> list[dict[str, Any]]:
    """What risk read before: two row-id lists, their union sorted, every event in one list."""
    base = EventQuery(scope="instance", since=WINDOW[0], until=WINDOW[1])
    cats = frozenset({"SIGNIN", "TOKEN", "KEY", "2FA", "CONFIG", "RUNNER", "HOOK"})
    rids = set(store.event_rids(iid, replace(base, categories=cats)))
    names = frozenset({"user_admin_status_updated"})
    rids.update(store.event_rids(iid, replace(base, event_names=names)))
    return store.events_by_rids(iid, sorted(rids))


def test_iter_events_reads_a_batch_at_a_time_and_matches_the_old_union(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, iid = _store(tmp_path)
    reads: list[int] = []
    real = Store.events_by_rids

    def spy(self: Store, incident_id: int, rids: Any) -> list[dict[str, Any]]:
        reads.append(len(rids))
        return real(self, incident_id, rids)

    old = _old_stored_events(store, iid)
    monkeypatch.setattr(Store, "events_by_rids", spy)
    stream = scoring._stored_events(store, iid, WINDOW)
    assert stream is not None and isinstance(stream, Iterator)
    assert not reads  # nothing read before the first event is asked for
    stream = store.iter_events(
        iid,
        EventQuery(scope="instance", since=WINDOW[0], until=WINDOW[1],
                   categories=scoring._RISK_CATEGORIES),
        or_event_names=scoring._RISK_NAMES,
        batch=4,
    )  # fmt: skip
    reads.clear()
    got = list(stream)
    assert got == old and len(old) > 8
    assert reads and max(reads) <= 4 and len(reads) >= len(old) // 4


def test_sign_in_fold_equals_the_old_lists(tmp_path: Path) -> None:
    store, iid = _store(tmp_path)
    events = _old_stored_events(store, iid)
    for current in ({}, {u: f"10.0.0.{u % 4}" for u in range(1, 8)}, {3: "10.0.0.1"}):
        assert sign_in_history(events, current) == _old_sign_in_history(events, current)


def test_stored_events_score_like_the_whole_list_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, iid = _store(tmp_path)
    events = _old_stored_events(store, iid)
    users = list(store.iter_users(iid))
    current = {u.id: u.current_sign_in_ip for u in users}
    expected = compute_risk(
        users, WINDOW, events=events, known_ips=_old_sign_in_history(events, current)
    )
    assert any(score for score, _ in expected.values())
    monkeypatch.setattr(scoring, "_BATCH", 2)
    assert compute_and_store_risk(store, iid, WINDOW) == expected


class _Event(dict[str, Any]):
    """A dict a weak reference can follow."""


def test_scoring_holds_no_list_of_the_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, iid = _store(tmp_path)
    refs: list[weakref.ref[_Event]] = []

    def stream() -> Iterator[_Event]:
        for event in _old_stored_events(store, iid):
            ev = _Event(event)
            refs.append(weakref.ref(ev))
            yield ev

    alive_while_scoring: list[int] = []
    real = scoring.compute_risk

    def scoring_batch(*args: Any, **kw: Any) -> dict[int, tuple[int, list[str]]]:
        gc.collect()
        alive_while_scoring.append(sum(r() is not None for r in refs))
        return real(*args, **kw)

    monkeypatch.setattr(scoring, "compute_risk", scoring_batch)
    compute_and_store_risk(store, iid, WINDOW, events=stream())
    assert len(refs) > 20 and alive_while_scoring
    # only the last admin status change of each user named is kept (at most 6 here)
    assert max(alive_while_scoring) <= 6
