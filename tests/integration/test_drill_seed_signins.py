"""The seed records every sign-in it gives a user as an audit event, keeping the attack story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.drill import seed
from console.drill.timefmt import iso
from console.risk import sign_in_history


def test_each_recorded_sign_in_has_its_audit_event() -> None:
    state = seed.build_state(users=600, seed=1, tier="ultimate")
    # the seeded history: HISTORY_DAYS back (a day of margin for the boundary's rounding)
    oldest = iso(state.now - timedelta(days=seed.HISTORY_DAYS - 1))
    sign_ins = {
        (e.author_id, e.created_at, e.details.get("ip_address"))
        for e in state.audit
        if e.details.get("authentication_event")
    }
    checked = 0
    for u in state.user_order:
        for at, ip in (
            (u.current_sign_in_at, u.current_sign_in_ip),
            (u.last_sign_in_at, u.last_sign_in_ip),
        ):
            if at is None or ip is None or oldest is None or at < oldest or at < u.created_at:
                continue
            assert (u.id, at, ip) in sign_ins, (u.username, at, ip)
            checked += 1
    assert checked > 900


def test_the_attacker_address_is_new_only_for_the_victim_story() -> None:
    state = seed.build_state(users=600, seed=1, tier="ultimate")
    events = [
        {
            "author_id": e.author_id,
            "event_name": e.event_name,
            "created_at": e.created_at,
            "details": e.details,
        }
        for e in state.audit
    ]
    mchen = [
        (e["created_at"], e["details"]["ip_address"])
        for e in events
        if e["author_id"] == 7 and e["details"].get("authentication_event")
    ]
    first_attack = min(at for at, ip in mchen if ip == seed.ATTACKER_IP)
    assert first_attack == state.users[7].current_sign_in_at
    assert {ip for at, ip in mchen if at < first_attack} == {"10.40.12.23", "198.51.100.23"}
    current = {u.id: u.current_sign_in_ip for u in state.user_order}
    history = sign_in_history(events, current)
    flagged = {
        uid
        for uid, seen in history.items()
        if seen and current.get(uid) and current[uid] not in seen
    }
    # only named cast members whose address change is part of the scenario; no bulk users
    assert 7 in flagged and flagged <= set(range(1, seed.SEEDED_MAX + 1)), sorted(flagged)


def test_the_seed_is_deterministic() -> None:
    # Both builds share one anchor: each would otherwise take the wall clock, and two builds
    # on either side of a second boundary differ by that second in every timestamp.
    now = datetime.now(UTC)
    a = seed.build_state(users=300, seed=5, tier="ultimate", now=now)
    b = seed.build_state(users=300, seed=5, tier="ultimate", now=now)
    assert [(e.created_at, e.author_id, e.details) for e in a.audit] == [
        (e.created_at, e.author_id, e.details) for e in b.audit
    ]
    assert a.user_order == b.user_order and a.tokens == b.tokens and a.ssh_keys == b.ssh_keys
