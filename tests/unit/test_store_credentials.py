"""The credentials inventory in the store: replace by kind, filter, sort, partial loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.store import CredentialQuery, Store


def _cred(kind: str, ident: object, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": kind, "id": ident, "name": f"{kind}-{ident}", "owner": "alice",
        "owner_type": "user", "owner_id": 7, "scopes": ["api"],
        "created_at": "2026-11-01T00:00:00Z",
        "last_used_at": None, "expires_at": None, "state": "active", "protected": None,
        "flags": [], "rotate_hint": "", "extra": {}, "rank": 0, "urgency": 0,
    }  # fmt: skip
    base.update(kw)
    return base


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Store, int]:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-instance", None, "https://g.example", None, None)
    rows = [
        _cred("pat", 1, flags=["admin scope", "never expires"], urgency=1, rank=0),
        _cred("pat", 2, owner="bob", owner_id=8, rank=0),
        _cred("runner", 3, owner="instance", owner_type="instance", owner_id=None, rank=5),
        _cred("project_variable", "acme/api:AWS_KEY", protected=True, rank=7, name="AWS_KEY"),
        _cred("system_hook", 4, flags=["credentials in URL"], urgency=1, rank=9),
        {"kind": "", "id": 9},  # unusable rows are skipped, never fatal
        _cred("pat", 2**70, owner_id=2**70),
    ]
    assert (
        store.replace_credentials(
            inc.id, rows, kinds={"pat", "runner", "project_variable", "system_hook"}
        )
        == 6
    )
    return store, inc.id


def test_rows_round_trip_without_losing_types(stored: tuple[Store, int]) -> None:
    store, inc = stored
    (var,) = store.credentials_by_keys(inc, ["project_variable:acme/api:AWS_KEY"])
    assert var["id"] == "acme/api:AWS_KEY" and var["protected"] is True
    (pat,) = store.credentials_by_keys(inc, ["pat:1"])
    assert pat["id"] == 1 and pat["flags"] == ["admin scope", "never expires"]
    assert pat["scopes"] == ["api"] and pat["created_at"] == "2026-11-01T00:00:00.000Z"
    (huge,) = store.credentials_by_keys(inc, [f"pat:{2**70}"])
    assert huge["id"] == str(2**70) and huge["owner_id"] is None


def test_filters_and_counts(stored: tuple[Store, int]) -> None:
    store, inc = stored
    assert store.count_credentials(inc) == 6
    urgent = CredentialQuery(flags_any=frozenset({"admin scope", "credentials in URL"}))
    assert set(store.credential_keys(inc, urgent)) == {"pat:1", "system_hook:4"}
    # a flag is matched whole, never as part of another flag
    assert store.count_credentials(inc, CredentialQuery(flags_any=frozenset({"admin"}))) == 0
    assert store.credential_keys(inc, CredentialQuery(search="aws")) == [
        "project_variable:acme/api:AWS_KEY"
    ]
    assert store.count_credentials(inc, CredentialQuery(owner_id=8)) == 1
    counts = store.credential_kind_counts(inc, CredentialQuery(kinds=frozenset({"pat"})))
    assert counts == {"pat": 3, "runner": 1, "project_variable": 1, "system_hook": 1}
    store.set_mark(inc, "credential", "pat:1", "cleared")
    left = store.credential_keys(inc, CredentialQuery(unreviewed=True, kinds=frozenset({"pat"})))
    assert "pat:1" not in left and "pat:2" in left


def test_sorting(stored: tuple[Store, int]) -> None:
    store, inc = stored
    by_kind = store.credential_keys(inc)
    assert by_kind[-1] == "system_hook:4" and by_kind[0].startswith("pat:")
    by_flags = store.credential_keys(inc, CredentialQuery(sort="flags", descending=True))
    assert by_flags[:2] == ["pat:1", "system_hook:4"]
    by_owner = store.credential_keys(inc, CredentialQuery(sort="owner"))
    assert by_owner[-1] == "runner:3"  # "instance" < … the owner names sort case-blind


def test_a_partial_load_keeps_the_kinds_it_could_not_read(stored: tuple[Store, int]) -> None:
    store, inc = stored
    assert store.credentials_load_failures(inc)[0] == []
    store.replace_credentials(inc, [_cred("pat", 1)], kinds={"pat"}, failed_sources=["runners"])
    assert store.count_credentials(inc, CredentialQuery(kinds=frozenset({"pat"}))) == 1
    assert store.count_credentials(inc, CredentialQuery(kinds=frozenset({"runner"}))) == 1
    failed, when = store.credentials_load_failures(inc)
    assert failed == ["runners"] and when
    store.delete_credentials(inc, ["runner:3"])
    store.upsert_credentials(inc, [_cred("pat", 1, state="revoked")])
    assert store.count_credentials(inc) == 3
    assert store.credentials_by_keys(inc, ["pat:1"])[0]["state"] == "revoked"
