"""Risk is scored a batch of users at a time; what compares users (shared IPs, look-alike
usernames and admin names) still sees every user."""

from __future__ import annotations

from pathlib import Path

import pytest

import console.risk.scoring as scoring
from console.risk import compute_and_store_risk
from console.store import Store

WINDOW = ("2025-01-01T00:00:00Z", "2025-01-08T00:00:00Z")


def _store(tmp_path: Path) -> tuple[Store, int]:
    store = Store.open(tmp_path / "s.db")
    incident = store.create_incident(
        "t", "compromised-instance", None, "https://g.example", WINDOW[0], WINDOW[1]
    )
    iid = int(incident.id)
    users = [
        {
            "id": uid,
            "username": f"u{uid}",
            "name": f"U {uid}",
            "state": "active",
            "created_at": "2020-01-01T00:00:00Z",
        }
        for uid in range(1, 8)
    ]
    # an admin, and two look-alikes in other batches (of two): a username and a display name
    users[0].update(username="root", name="Administrator", is_admin=True)
    users[5].update(username="r00t")
    users[6].update(name="Adrninistrator")
    store.upsert_users(iid, users, "2025-01-02T00:00:00Z")
    # users 1, 4 and 7 share an IP: with batches of two, no batch holds more than one of them
    for uid in (1, 4, 7):
        detail = {"current_sign_in_ip": "198.51.100.9", "current_sign_in_at": WINDOW[0]}
        store.upsert_user_detail(iid, {**users[uid - 1], **detail})
    return store, iid


def test_batches_score_like_one_pass_and_store_every_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, iid = _store(tmp_path)
    whole = compute_and_store_risk(store, iid, WINDOW)
    monkeypatch.setattr(scoring, "_BATCH", 2)
    store.set_risk(iid, {uid: (99, ["stale"]) for uid in range(1, 8)})
    batched = compute_and_store_risk(store, iid, WINDOW)
    assert batched == whole
    assert any("shared with 2 other users" in r for r in batched[4][1]), batched[4]
    assert any("confusable with admin @root (#1)" in r for r in batched[6][1]), batched[6]
    assert any("display name looks like admin @root" in r for r in batched[7][1]), batched[7]
    for uid in range(1, 8):  # every user rewritten, the stale score gone
        row = store.get_user(iid, uid)
        assert row is not None and (row.risk, list(row.risk_reasons)) == batched[uid]
    assert batched[2] == (0, [])


def test_a_superseded_scoring_stops_between_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, iid = _store(tmp_path)
    monkeypatch.setattr(scoring, "_BATCH", 2)
    whole = compute_and_store_risk(store, iid, WINDOW, cancelled=lambda: False)
    assert whole == compute_and_store_risk(store, iid, WINDOW)
    store.set_risk(iid, {uid: (99, ["stale"]) for uid in range(1, 8)})
    asked = 0

    def cancelled_after_the_first_batch() -> bool:
        nonlocal asked
        asked += 1
        return asked > 4  # the events pass, the users pass, the first two batches

    with pytest.raises(scoring.RiskCancelled):
        compute_and_store_risk(store, iid, WINDOW, cancelled=cancelled_after_the_first_batch)
    risks = [store.get_user(iid, uid) for uid in range(1, 8)]
    scored = [r for r in risks if r is not None and r.risk_reasons != ("stale",)]
    # what was stored before the stop is kept; the rest waits for the scoring that replaced it
    assert 0 < len(scored) < 7, [(r.id, r.risk_reasons) for r in risks if r is not None]
