"""Every user's SSH and GPG keys into the inventory, priority first, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gitlab

from console.config import ConnectionConfig
from console.inventory.keys import fingerprint, sweep_keys_blocking
from console.secret import Secret
from console.store import CredentialQuery, Store, UserQuery


def _store_with_users(drill: Any, tmp_path: Path) -> tuple[Store, int]:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-instance", None, drill.url, None, None)
    gl = gitlab.Gitlab(drill.url, private_token=drill.ADMIN_TOKEN)
    users = list(gl.http_list("/users", iterator=True, per_page=100))
    store.upsert_users(inc.id, users, "2026-12-01T00:00:00Z")
    return store, inc.id


def _truth(drill: Any, store: Store, inc: int) -> int:
    gl = gitlab.Gitlab(drill.url, private_token=drill.ADMIN_TOKEN)
    total = 0
    for uid in store.user_ids(inc, UserQuery()):
        total += len(gl.http_get(f"/users/{uid}/keys", per_page=100))  # type: ignore[arg-type]
        total += len(gl.http_get(f"/users/{uid}/gpg_keys", per_page=100))  # type: ignore[arg-type]
    return total


def test_every_key_of_every_user_once_then_resume_does_nothing(
    fresh_drill: Any, tmp_path: Path
) -> None:
    store, inc = _store_with_users(fresh_drill, tmp_path)
    cfg, token = ConnectionConfig(url=fresh_drill.url), Secret(fresh_drill.ADMIN_TOKEN)
    progress: list[Any] = []

    def cancel_early() -> bool:
        return len(progress) >= 2

    first = sweep_keys_blocking(cfg, token, store, inc, on_progress=progress.append,
                                cancelled=cancel_early)  # fmt: skip
    assert first.cancelled and 0 < first.users_done < first.users
    rest = sweep_keys_blocking(cfg, token, store, inc, on_progress=progress.append)
    assert not rest.cancelled and rest.problem is None
    assert rest.users_done == rest.users
    stored = store.count_credentials(inc, CredentialQuery(kinds=frozenset({"ssh_key", "gpg_key"})))
    assert stored == _truth(fresh_drill, store, inc) > 0
    assert progress[-1].users_done == rest.users
    again = sweep_keys_blocking(cfg, token, store, inc)
    assert again.keys == 0 and again.users_done == again.users


def test_fingerprints_match_ssh_keygen() -> None:
    # ssh-keygen -lf for this ed25519 key prints SHA256:hgaKJw6u4cBmvNGvnbHX/SLkkuvGTC8ArMLxr1EGSqQ
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x@y"
    assert fingerprint(key).startswith("SHA256:") and len(fingerprint(key)) == 50
    assert fingerprint("not a key") == "" and fingerprint("ssh-rsa !!!") == ""


def test_key_expiry_compares_instants_not_strings() -> None:
    """An offset or a fraction must not fool the expiry check (a string compare would)."""
    from datetime import UTC, datetime

    from console.inventory.keys import key_rows

    now = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    ssh = [
        {"id": 1, "key": "", "expires_at": "2026-01-01T01:00:00+02:00"},  # 23:00Z the day before
        {"id": 2, "key": "", "expires_at": "2026-01-01T00:00:00.000Z"},  # half an hour ago
        {"id": 3, "key": "", "expires_at": "2025-12-31T20:00:00-05:00"},  # 01:00Z: still valid
        {"id": 4, "key": "", "expires_at": None},
        {"id": 5, "key": "", "expires_at": "soon"},  # unreadable: not called expired
    ]
    rows = key_rows({"id": 9, "username": "u"}, ssh, [], None, now)
    assert {r["id"]: r["state"] for r in rows} == {
        1: "expired",
        2: "expired",
        3: "active",
        4: "active",
        5: "active",
    }
