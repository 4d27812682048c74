"""Credentials cross-linked with the audit log and the owners' sign-ins."""

from __future__ import annotations

from pathlib import Path

from console.crosslink import crosslink_flags, event_target
from console.store import Store


def _setup(tmp_path: Path) -> tuple[Store, int]:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store.upsert_users(
        inc.id,
        [
            {"id": 7, "username": "mchen", "current_sign_in_ip": "10.0.0.7"},
            {"id": 8, "username": "alice", "current_sign_in_ip": "10.0.0.8"},
        ],
        "2026-11-30T00:00:00Z",
    )
    store.upsert_user_detail(
        inc.id, {"id": 7, "username": "mchen", "current_sign_in_ip": "10.0.0.7"}
    )
    store.upsert_user_detail(
        inc.id, {"id": 8, "username": "alice", "current_sign_in_ip": "10.0.0.8"}
    )
    events = [
        {"id": 1, "created_at": "2026-11-20T10:00:00Z", "author_id": 7, "author_name": "mchen",
         "event_name": "ci_variable_updated", "target_type": "Ci::Variable",
         "target_id": "AWS_KEY", "categories": ["CONFIG"]},
        {"id": 2, "created_at": "2026-11-20T11:00:00Z", "author_id": 7, "author_name": "mchen",
         "event_name": "ci_runner_created", "target_type": "Ci::Runner", "target_id": "31",
         "categories": ["RUNNER"]},
        {"id": 3, "created_at": "2026-11-21T09:00:00Z", "author_id": 8, "author_name": "alice",
         "event_name": "user_logged_in", "ip_address": "192.0.2.50", "categories": ["SIGNIN"]},
        {"id": 4, "created_at": "2026-11-21T09:30:00Z", "author_id": 8, "author_name": "alice",
         "event_name": "personal_access_token_created", "target_type": "PersonalAccessToken",
         "target_id": "55", "categories": ["TOKEN"]},
    ]  # fmt: skip
    store.upsert_events(inc.id, "instance", events)
    return store, inc.id


CREDS = [
    {"kind": "project_variable", "id": "acme/api:AWS_KEY", "name": "AWS_KEY", "owner_id": None},
    {"kind": "runner", "id": 31, "name": "build", "owner_id": None,
     "extra": {"ip_address": "203.0.113.9"}},
    {"kind": "pat", "id": 55, "name": "ci", "owner_id": 8,
     "extra": {"last_used_ips": "192.0.2.50, 10.0.0.8"}},
    {"kind": "pat", "id": 56, "name": "laptop", "owner_id": 8,
     "extra": {"last_used_ips": "198.51.100.4"}},
]  # fmt: skip


def test_changes_by_a_flagged_user_and_unseen_ips_are_flagged(tmp_path: Path) -> None:
    store, inc = _setup(tmp_path)
    assert crosslink_flags(store, inc, CREDS) == {
        "runner:31": ("used from 203.0.113.9, never a sign-in IP of its owner",),
        "pat:56": ("used from 198.51.100.4, never a sign-in IP of its owner",),
    }
    store.set_mark(inc, "user", 7, "flagged")
    flags = crosslink_flags(store, inc, CREDS)
    assert flags["project_variable:acme/api:AWS_KEY"] == ("changed by flagged user @mchen",)
    # the runner's owner is whoever registered it; mchen never signed in from its address
    assert flags["runner:31"] == (
        "changed by flagged user @mchen",
        "used from 203.0.113.9, never a sign-in IP of its owner",
    )
    assert "pat:55" not in flags  # both IPs are alice's sign-in IPs (event and profile)


def test_event_targets_follow_gitlabs_types() -> None:
    assert event_target({"kind": "pat", "id": 5}) == ("PersonalAccessToken", "5")
    assert event_target({"kind": "group_variable", "id": "g:KEY", "name": "KEY"}) == (
        "Ci::Variable",
        "KEY",
    )
    assert event_target({"kind": "system_hook", "id": 3}) == ("SystemHook", "3")
    assert event_target({"kind": "mystery", "id": 3}) is None
