"""The inventory into the store (failed kinds keep their rows), cross-links merged into flags on
the drill, and the rotation worksheet's plans across kinds (headless)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.audit import incident_window
from console.audit.load import load_events_blocking
from console.config import ConnectionConfig, build_gitlab
from console.inventory import Credential, Inventory, SourceProblem, fetch_inventory
from console.inventory.keys import sweep_keys_blocking
from console.inventory.store_load import merge_crosslinks, store_inventory
from console.problem import Problem
from console.secret import Secret
from console.store import CredentialQuery, Store
from console.users_load import load_users_blocking
from screens.panes.credentials.worksheet import build_worksheet, items_of, progress_text
from tests.integration.test_inventory import FakeServer, _routes

MCHEN = 7
XLINK = frozenset({"changed by flagged user @", "used from "})


def _row(kind: str, ident: int | str, **kw: Any) -> Credential:
    base: dict[str, Any] = {
        "kind": kind,
        "id": ident,
        "name": f"{kind}-{ident}",
        "owner": "mchen",
        "owner_type": "user",
        "owner_id": MCHEN,
    }
    base.update(kw)
    return Credential.from_dict(base)


def test_a_failed_source_keeps_its_kinds_rows_and_is_named(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    window = ("2025-05-05T12:00:00Z", "2025-05-10T12:00:00Z")
    first = fetch_inventory(FakeServer(_routes()), window)
    store_inventory(store, inc.id, first)
    runners = store.count_credentials(inc.id, CredentialQuery(kinds=frozenset({"runner"})))
    pats = store.count_credentials(inc.id, CredentialQuery(kinds=frozenset({"pat"})))
    already = set(store.credentials_load_failures(inc.id)[0])  # the fake refuses one source
    assert runners and pats and "runners" not in already
    # Next load: runners refused (403), and every PAT gone from the server.
    routes = _routes()
    routes["/personal_access_tokens"] = []
    second = fetch_inventory(FakeServer(routes, {"/runners/all": 403}), window)
    assert set(second.failed_sources) == already | {"runners"}
    store_inventory(store, inc.id, second)
    failed, fetched_at = store.credentials_load_failures(inc.id)
    assert set(failed) == already | {"runners"} and fetched_at
    assert store.count_credentials(inc.id, CredentialQuery(kinds=frozenset({"runner"}))) == runners
    assert store.count_credentials(inc.id, CredentialQuery(kinds=frozenset({"pat"}))) == 0


def test_a_cancelled_load_replaces_nothing_and_says_so(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store_inventory(store, inc.id, Inventory([_row("pat", 1), _row("runner", 2)], []))
    store_inventory(store, inc.id, Inventory([_row("pat", 3)], [], complete=False))
    assert set(store.credential_keys(inc.id)) == {"pat:1", "pat:3", "runner:2"}
    assert store.credentials_load_failures(inc.id)[0] == ["stopped before every source was read"]
    problem = Problem("x", "", "", "coverage")
    store_inventory(store, inc.id, Inventory([], [SourceProblem("deploy keys", problem)]))
    assert store.credentials_load_failures(inc.id)[0] == ["deploy keys"]


@pytest.fixture
def investigated(fresh_drill: Any, tmp_path: Path) -> Iterator[tuple[Store, int]]:
    """A drill incident with users, audit events, the inventory and every user's keys stored."""
    from console.drill.server import DrillServer

    token, config = Secret(DrillServer.ADMIN_TOKEN), ConnectionConfig(url=fresh_drill.url)
    store = Store.open(tmp_path / "s.db")
    start = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    inc = store.create_incident("t", "compromised-account", None, fresh_drill.url, start, None)
    assert load_users_blocking(config, token, store, inc.id).problem is None
    window = incident_window(*inc.window)
    assert load_events_blocking(config, token, store, inc.id, window).problem is None
    store_inventory(store, inc.id, fetch_inventory(build_gitlab(config, token), window))
    swept = sweep_keys_blocking(config, token, store, inc.id, window=window)
    assert swept.problem is None and swept.keys > 0
    yield store, inc.id


def test_mchens_planted_credentials_get_the_crosslink_reasons_once_he_is_flagged(
    investigated: tuple[Store, int],
) -> None:
    store, inc = investigated
    query = CredentialQuery(flag_prefixes=XLINK)
    merge_crosslinks(store, inc)
    before = {
        r["key"]
        for r in store.credentials_by_keys(inc, store.credential_keys(inc, query))
        if any("@mchen" in f for f in r["flags"])
    }
    assert before == set()
    store.set_mark(inc, "user", MCHEN, "flagged")
    assert merge_crosslinks(store, inc) > 0
    rows = store.credentials_by_keys(inc, store.credential_keys(inc, query))
    by_mchen = {r["kind"]: r for r in rows if "changed by flagged user @mchen" in r["flags"]}
    # The scenario's footholds: a runner, a hook, an SSH key of mchen's, each urgent now.
    assert {"runner", "ssh_key", "system_hook"} <= set(by_mchen)
    assert all(r["urgency"] >= 1 for r in by_mchen.values())
    urgent = set(store.credential_keys(inc, CredentialQuery(urgent=True)))
    assert {r["key"] for r in by_mchen.values()} <= urgent
    # Unflagged: the reasons go again (recomputed from scratch, never stacked).
    store.set_mark(inc, "user", MCHEN, None)
    merge_crosslinks(store, inc)
    rows = store.credentials_by_keys(inc, store.credential_keys(inc))
    assert not any("@mchen" in f for r in rows for f in r["flags"])


def test_key_rows_carry_fingerprint_owner_created_and_last_used(
    investigated: tuple[Store, int],
) -> None:
    store, inc = investigated
    keys = store.credential_keys(inc, CredentialQuery(kinds=frozenset({"ssh_key"})))
    rows = store.credentials_by_keys(inc, keys)
    assert rows and all(r["extra"]["fingerprint"].startswith("SHA256:") for r in rows)
    assert all(r["owner"] and r["created_at"] for r in rows)
    assert any(r["last_used_at"] for r in rows)


def test_the_worksheet_builds_one_run_across_kinds_and_leaves_out_what_it_cannot_place() -> None:
    rows = [
        _row("pat", 11),
        _row("impersonation", 12, owner="root", owner_id=1),
        _row("bot_token", 13, owner="group_4_bot_abc", owner_id=99),
        _row("ssh_key", 14),
        _row("ssh_key", 15),
        _row("gpg_key", 16),
        _row("runner", 17, owner_type="project", owner_id=None),
        _row("project_variable", "5:AWS_KEY:*", name="AWS_KEY", owner_type="project", owner_id=5),
        _row("project_hook", 18, owner_type="project", owner_id=5),
        _row("deploy_token", 19, owner_type="", owner_id=None),
    ]
    value = Secret("new-value-never-stored")
    sheet = build_worksheet(rows, {"project_variable:5:AWS_KEY:*": value})
    names = [p.action.name for p in sheet.plans]
    # tokens each through their own endpoint, then one plan per other action
    assert names.count("revoke_token") == 3
    assert {
        "delete_ssh_key",
        "revoke_gpg_key",
        "reset_runner_token",
        "set_variable_value",
        "set_hook_secret",
    } <= set(names)
    ssh = next(p for p in sheet.plans if p.action.name == "delete_ssh_key")
    assert len(ssh.targets) == 2  # both of mchen's keys in one plan
    assert [k for k, _ in sheet.left_out] == ["deploy_token:19"]
    assert set(sheet.item_keys) == {r.key for r in rows} - {"deploy_token:19"}
    for index, plan in enumerate(sheet.plans):
        for target in plan.targets:
            assert sheet.key_of(index, target) in sheet.item_keys
    # No value typed: the variable is left out, never sent empty.
    again = build_worksheet(rows, {}, rotate_tokens=True, gpg="delete")
    assert ("project_variable:5:AWS_KEY:*", "no new value was typed") in again.left_out
    assert {"rotate_token", "delete_gpg_key"} <= {p.action.name for p in again.plans}


def test_the_saved_worksheet_reads_back_its_progress() -> None:
    state = {
        "items": [
            {"key": "pat:1", "label": "a", "outcome": "done"},
            {"key": "ssh_key:2", "label": "b", "outcome": "FAILED"},
            {"key": "runner:3", "label": "c", "outcome": ""},
            {"bad": 1},
        ]
    }
    items = items_of(state)
    assert [i.key for i in items] == ["pat:1", "ssh_key:2", "runner:3"]
    assert progress_text(items) == "rotated 1/3, 1 failed"
    assert "new-value" not in repr(state)
