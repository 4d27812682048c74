"""console.risk: each signal fires with its reason, and a clean user scores zero."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.risk import WEIGHTS, compute_risk
from console.store import Store

WINDOW = ("2025-05-01T00:00:00Z", "2025-05-03T23:59:59Z")
NOW = datetime(2025, 5, 4, tzinfo=UTC)


def u(uid: int, username: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uid,
        "username": username,
        "name": f"Person {uid}",
        "state": "active",
        "is_admin": False,
        "two_factor_enabled": True,
        "bot": False,
        "created_at": "2021-01-01T00:00:00Z",
        "last_sign_in_at": "2025-04-20T00:00:00Z",
        "current_sign_in_at": "2025-04-28T00:00:00Z",
        "last_activity_on": "2025-04-29",
    }
    base.update(kw)
    return base


def risk(users: list[dict[str, Any]], **kw: Any) -> dict[int, tuple[int, list[str]]]:
    return compute_risk(users, WINDOW, now=NOW, **kw)


def test_clean_user_scores_zero() -> None:
    out = risk([u(10, "alice"), u(11, "bob")])
    assert out == {10: (0, []), 11: (0, [])}


def test_admin_without_2fa() -> None:
    out = risk(
        [
            u(1, "root", is_admin=True, two_factor_enabled=False),
            u(2, "bob", two_factor_enabled=False),
        ]
    )
    assert out[1] == (WEIGHTS["admin_no_2fa"], ["admin without 2FA"])
    assert out[2] == (0, [])  # a non-admin without 2FA is not this signal
    # unknown 2FA state (non-admin token) is not "without 2FA"
    assert risk([u(1, "root", is_admin=True, two_factor_enabled=None)])[1] == (0, [])


def test_created_in_window_and_admin_created() -> None:
    out = risk(
        [
            u(20, "newbie", created_at="2025-05-02T03:00:00Z"),
            u(21, "newadmin", is_admin=True, created_at="2025-05-02T03:00:00+00:00"),
            u(22, "old", created_at="2025-04-30T23:59:59Z"),
        ]
    )
    assert out[20] == (WEIGHTS["created_in_window"], ["account created in the incident window"])
    score, reasons = out[21]
    assert score == WEIGHTS["created_in_window"] + WEIGHTS["admin_created_in_window"]
    assert "admin account created in the window" in reasons
    assert out[22] == (0, [])


def test_admin_promotion_from_audit_events() -> None:
    events = [
        {
            "id": 901,
            "author_id": 1,
            "entity_id": 30,
            "entity_type": "User",
            "details": {"event_name": "user_admin_status_updated", "target_id": 30},
            "created_at": "2025-05-02T10:00:00.000Z",
        },
        {
            "id": 902,
            "entity_id": 31,
            "entity_type": "User",
            "details": {"event_name": "user_admin_status_updated", "target_id": 31},
            "created_at": "2024-01-01T00:00:00.000Z",
        },  # before the window
        {
            "id": 904,
            "created_at": "2025-05-02T11:00:00.000Z",
            "event_name": "user_admin_status_updated",
            "entity_type": "User",
            "entity_id": 1,
            "target_type": "User",
            "target_id": "33",
            "details": {},
        },  # console.audit's flat form
        {
            "id": 903,
            "entity_id": 32,
            "entity_type": "User",
            "details": {"event_name": "user_blocked", "target_id": 32},
            "created_at": "2025-05-02T10:00:00.000Z",
        },
    ]
    out = risk(
        [u(30, "mallory", is_admin=True), u(31, "x", is_admin=True), u(32, "y"), u(33, "z")],
        events=events,
    )
    assert out[33] == (
        WEIGHTS["admin_status_changed"],
        ["admin status changed in the window (audit event #904)"],
    )
    assert out[30] == (
        WEIGHTS["admin_status_changed"],
        ["promoted to admin in the window (audit event #901)"],
    )
    assert out[31] == (0, [])
    assert out[32] == (0, [])


def test_new_and_shared_sign_in_ips() -> None:
    users = [
        u(40, "a", current_sign_in_ip="203.0.113.9", current_sign_in_at="2025-05-02T00:00:00Z"),
        u(41, "b", current_sign_in_ip="203.0.113.9", current_sign_in_at="2025-05-02T01:00:00Z"),
        u(42, "c", current_sign_in_ip="198.51.100.1", current_sign_in_at="2025-05-02T01:00:00Z"),
        u(43, "d", current_sign_in_ip="192.0.2.1", current_sign_in_at="2025-05-02T01:00:00Z"),
    ]
    known = {40: {"10.0.0.1"}, 42: {"198.51.100.1"}, 43: set()}
    out = risk(users, known_ips=known)
    assert "sign-in from an IP never seen for this user (203.0.113.9)" in out[40][1]
    assert "sign-in IP 203.0.113.9 shared with 1 other user" in out[40][1]
    assert out[40][0] == WEIGHTS["new_ip"] + WEIGHTS["shared_ip"]
    assert out[41] == (WEIGHTS["shared_ip"], ["sign-in IP 203.0.113.9 shared with 1 other user"])
    assert out[42] == (0, [])  # known IP
    assert out[43] == (0, [])  # no history: cannot call it new


def test_office_nat_is_not_a_shared_ip_signal() -> None:
    users = [
        u(
            100 + i,
            f"u{i}",
            current_sign_in_ip="192.0.2.50",
            current_sign_in_at="2025-05-02T00:00:00Z",
        )
        for i in range(40)
    ]
    assert all(score == 0 for score, _ in risk(users).values())


def test_bot_and_service_tokens_that_never_expire() -> None:
    users = [
        u(50, "project_1_bot", bot=True, user_type="project_bot"),
        u(51, "svc", user_type="service_account"),
        u(52, "human"),
        u(53, "bot_expiring", bot=True),
    ]
    tokens = [
        {"id": 1, "user_id": 50, "expires_at": None, "active": True, "revoked": False},
        {"id": 2, "user_id": 51, "expires_at": None, "active": True, "revoked": False},
        {"id": 3, "user_id": 51, "expires_at": None, "active": True, "revoked": False},
        {"id": 4, "user_id": 52, "expires_at": None, "active": True, "revoked": False},
        {"id": 5, "user_id": 53, "expires_at": "2025-06-01", "active": True, "revoked": False},
        {"id": 6, "user_id": 53, "expires_at": None, "active": False, "revoked": True},
    ]
    out = risk(users, tokens=tokens)
    assert out[50] == (WEIGHTS["bot_token_never_expires"], ["bot holds 1 token that never expires"])
    assert out[51] == (
        WEIGHTS["bot_token_never_expires"],
        ["service account holds 2 tokens that never expire"],
    )
    assert out[52] == (0, [])
    assert out[53] == (0, [])


def test_dormant_account_with_token_use_in_window() -> None:
    users = [
        u(
            60,
            "sleeper",
            last_sign_in_at="2024-06-01T00:00:00Z",
            current_sign_in_at=None,
            last_activity_on="2025-05-02",
        ),  # the token use itself bumps last_activity_on
        u(61, "active"),
        u(
            62,
            "never_signed_in",
            created_at="2023-01-01T00:00:00Z",
            last_sign_in_at=None,
            current_sign_in_at=None,
            last_activity_on=None,
        ),
    ]
    tokens = [
        {
            "id": 7,
            "user_id": 60,
            "expires_at": "2026-01-01",
            "last_used_at": "2025-05-02T08:00:00Z",
        },
        {
            "id": 8,
            "user_id": 61,
            "expires_at": "2026-01-01",
            "last_used_at": "2025-05-02T08:00:00Z",
        },
        {
            "id": 9,
            "user_id": 62,
            "expires_at": "2026-01-01",
            "last_used_at": "2025-05-02T09:00:00Z",
        },
    ]
    out = risk(users, tokens=tokens)
    reason = (
        "dormant account (no sign-in for 90+ days before the window) used a token in the window"
    )
    assert out[60] == (WEIGHTS["dormant_token_use"], [reason])
    assert out[61] == (0, [])
    assert out[62] == (WEIGHTS["dormant_token_use"], [reason])


def test_recent_sign_ins_inside_the_window_are_not_dormancy() -> None:
    # An old account whose every sign-in falls inside the window was active, not dormant, and a
    # bot's token being used is normal: neither may be called dormant.
    users = [
        u(
            63,
            "busy",
            created_at="2019-01-01T00:00:00Z",
            last_sign_in_at="2025-05-01T09:00:00Z",
            current_sign_in_at="2025-05-02T09:00:00Z",
        ),
        u(
            64,
            "project_9_bot",
            bot=True,
            created_at="2019-01-01T00:00:00Z",
            last_sign_in_at=None,
            current_sign_in_at=None,
        ),
    ]
    tokens = [
        {
            "id": 10,
            "user_id": 63,
            "expires_at": "2026-01-01",
            "last_used_at": "2025-05-02T10:00:00Z",
        },
        {
            "id": 11,
            "user_id": 64,
            "expires_at": "2026-01-01",
            "last_used_at": "2025-05-02T10:00:00Z",
        },
    ]
    out = risk(users, tokens=tokens)
    assert out[63] == (0, [])
    assert out[64] == (0, [])


def test_authoring_sensitive_changes_in_the_window() -> None:
    users = [u(7, "mchen"), u(8, "quiet")]
    events = [
        {
            "id": 1,
            "author_id": 7,
            "created_at": "2025-05-02T01:00:00Z",
            "event_name": "personal_access_token_created",
            "details": {},
        },
        {
            "id": 2,
            "author_id": 7,
            "created_at": "2025-05-02T01:05:00Z",
            "event_name": "user_disable_two_factor",
            "details": {},
        },
        {
            "id": 3,
            "author_id": 7,
            "created_at": "2025-05-02T01:09:00Z",
            "event_name": "webhook_created",
            "details": {},
        },
        # a second token event adds nothing: categories count, not events
        {
            "id": 4,
            "author_id": 7,
            "created_at": "2025-05-02T01:10:00Z",
            "event_name": "personal_access_token_revoked",
            "details": {},
        },
        # sign-ins and changes before the window are not counted
        {
            "id": 5,
            "author_id": 8,
            "created_at": "2025-05-02T01:00:00Z",
            "event_name": "authenticated_with_password",
            "details": {},
        },
        {
            "id": 6,
            "author_id": 8,
            "created_at": "2025-04-01T01:00:00Z",
            "event_name": "personal_access_token_created",
            "details": {},
        },
    ]
    out = risk(users, events=events)
    assert out[7] == (
        3 * WEIGHTS["sensitive_changes"],
        ["changed security-relevant things in the window (tokens, 2FA, webhooks)"],
    )
    assert out[8] == (0, [])


def test_confusable_usernames_and_names() -> None:
    users = [
        u(1, "root", name="Administrator", is_admin=True),
        u(70, "rооt"),  # Cyrillic о: also non-ASCII and mixed script
        u(71, "r00t"),
        u(72, "alice", name="Administrator"),
        u(73, "bob"),
        u(74, "b0b"),
    ]
    out = risk(users)
    assert "username confusable with admin @root (#1)" in out[70][1]
    assert "non-ASCII characters in the username" in out[70][1]
    assert "mixed scripts in the username" in out[70][1]
    assert out[71] == (WEIGHTS["confusable_admin"], ["username confusable with admin @root (#1)"])
    assert out[72] == (WEIGHTS["name_like_admin"], ["display name looks like admin @root (#1)"])
    assert out[73] == (WEIGHTS["confusable"], ["username confusable with @b0b (#74)"])
    score, reasons = out[1]  # the admin itself is told who imitates it
    assert score == WEIGHTS["confusable"] and reasons == ["username confusable with @rооt (#70)"]


def test_hidden_characters_and_markup() -> None:
    users = [
        u(80, "eve", name="Eve\u202e\u200b"),
        u(81, "mal", name="[@click=app.quit]Support[/]"),
        u(82, "esc", name="x\x1b]52;c;aGk=\x07"),
        u(83, "emoji", name="Zoe \U0001f469\u200d\U0001f4bb"),
    ]
    out = risk(users)
    assert out[80] == (WEIGHTS["hidden_chars"], ["name: hidden, bidi or control characters"])
    assert out[81] == (WEIGHTS["markup"], ["markup-like text in the username or name"])
    assert out[82][1] == ["name: hidden, bidi or control characters"]
    assert out[83] == (0, [])  # an emoji ZWJ sequence in a display name is normal


def test_reasons_are_display_safe() -> None:
    evil = "r\u043e\u043et\x1b[2J"
    out = risk([u(1, "root", is_admin=True), u(90, evil)])
    for _, reasons in out.values():
        for reason in reasons:
            assert "\x1b" not in reason


def test_accepts_user_rows_from_the_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s" / "c.db")
    inc = store.create_incident("x", "compromised-instance", None, "https://g", *WINDOW)
    store.upsert_users(
        inc.id,
        [
            u(1, "root", is_admin=True, two_factor_enabled=False),
            u(2, "alice", created_at="2025-05-02T00:00:00Z"),
        ],
        "2025-05-04",
    )
    out = compute_risk(store.iter_users(inc.id), inc.window, now=NOW)
    store.set_risk(inc.id, out)
    root = store.get_user(inc.id, 1)
    assert root is not None and root.risk_reasons == ("admin without 2FA",)
    assert store.get_user(inc.id, 2).risk == WEIGHTS["created_in_window"]  # type: ignore[union-attr]
    store.close()


def test_100k_users_timing() -> None:
    users = [
        u(
            i,
            f"user{i}",
            name=f"User {i}",
            is_admin=i % 1000 == 0,
            two_factor_enabled=i % 2 == 1,
            created_at="2025-05-02T00:00:00Z" if i % 97 == 0 else "2021-01-01T00:00:00Z",
            current_sign_in_ip=f"10.{i % 250}.{i % 7}.{i % 200}",
        )
        for i in range(1, 100_001)
    ]
    users.append(u(100_001, "user1O"))
    tokens = [
        {"id": i, "user_id": i, "expires_at": None, "last_used_at": None}
        for i in range(1, 100_001, 10)
    ]
    t0 = time.perf_counter()
    out = compute_risk(users, WINDOW, tokens=tokens, known_ips={1: {"1.1.1.1"}}, now=NOW)
    elapsed = time.perf_counter() - t0
    print(f"\ncompute_risk over 100,001 users: {elapsed:.2f} s")
    assert len(out) == 100_001
    assert "username confusable with @user1O (#100001)" in out[10][1]
    assert out[1000][1][0] == "admin without 2FA"
