"""The demo's compromised-account incident worked end to end on a drill, for export tests.

Loads users, runs the capability check, fetches audit events and the credentials inventory (and
caches them as the panes do), then blocks mchen, resets the password, forces 2FA re-enrolment,
rotates and revokes tokens, marks users and writes notes. Returns the secrets that were shown
once, so tests can check that none of them reaches an export.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from actions import Target, run_plan
from actions.plan import build_plan
from actions.token_actions import RevokeToken, RotateToken
from actions.user_actions import BlockUser, Disable2FA, ResetPassword
from console.audit import events_cache_key, fetch_audit_events, incident_window
from console.capabilities import SOURCE_DRILL, check_capabilities
from console.config import ConnectionConfig, build_gitlab
from console.inventory import fetch_inventory
from console.runbook import COVERAGE_CACHE_KEY, coverage_snapshot
from console.secret import Secret
from console.store import Incident, Store
from console.users_load import load_users_blocking

MCHEN = 7


@dataclass
class Demo:
    store: Store
    incident: Incident
    db: Path
    secrets: list[str]


def work_demo_incident(drill: Any, db: Path) -> Demo:
    from console.drill.server import DrillServer

    token = Secret(DrillServer.ADMIN_TOKEN)
    config = ConnectionConfig(url=drill.url)
    store = Store.open(db)
    start = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    inc = store.create_incident(
        "mchen phished: admin account taken over",
        "compromised-account",
        None,
        drill.url,
        start,
        None,
        subjects=("mchen",),
    )
    assert load_users_blocking(config, token, store, inc.id).problem is None
    gl = build_gitlab(config, token)
    cov = check_capabilities(gl, token_source=SOURCE_DRILL)
    store.cache_put(inc.id, COVERAGE_CACHE_KEY, coverage_snapshot(cov))
    window = incident_window(*inc.window)
    fetch = fetch_audit_events(gl, window=window)
    store.cache_put(
        inc.id,
        events_cache_key(*inc.window),
        {"events": [e.to_dict() for e in fetch.events], "complete": fetch.complete},
    )
    inv = fetch_inventory(gl, window)
    store.cache_put(
        inc.id, "inventory", {"rows": [r.to_dict() for r in inv.rows], "complete": inv.complete}
    )

    secrets = [DrillServer.ADMIN_TOKEN]
    user = [Target("user", MCHEN, "mchen")]
    for action in (BlockUser(), ResetPassword()):
        [out] = run_plan(store, inc.id, gl, build_plan(action, user, actor_id=1)).outcomes
        assert out.state in ("done", "noop_already"), out.message
        if out.secret is not None:
            secrets.append(out.secret.reveal())
    # GitLab refuses to disable an administrator's 2FA through the API: journaled, not verified
    [out] = run_plan(store, inc.id, gl, build_plan(Disable2FA(), user, actor_id=1)).outcomes
    assert out.state in ("refused", "forbidden"), out.message
    tokens = sorted(
        (t for t in drill.state.tokens.values() if t.user_id == MCHEN and not t.revoked),
        key=lambda t: t.id,
    )
    assert tokens, "the drill gives mchen active tokens"
    [out] = run_plan(
        store,
        inc.id,
        gl,
        build_plan(RotateToken(), [Target("token", tokens[0].id, tokens[0].name)]),
    ).outcomes
    assert out.state == "done" and out.secret is not None, out.message
    secrets.append(out.secret.reveal())
    for tok in tokens[1:]:
        run_plan(store, inc.id, gl, build_plan(RevokeToken(), [Target("token", tok.id, tok.name)]))
    store.set_mark(inc.id, "user", MCHEN, "flagged", "phished; sign-in from the attacker's IP")
    store.set_mark(inc.id, "user", 1, "cleared", "root: no change in the window")
    store.add_note(
        inc.id, "incident", inc.id, "Ticket SEC-1234; mchen confirmed the phish", "alice"
    )
    store.add_note(inc.id, "user", MCHEN, "Hand the new password over by phone", "alice")
    return Demo(store, inc, db, secrets)


def demo_on_private_drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The worked demo incident on a private drill (``yield from`` it in a module fixture)."""
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=300))
    server.start()
    try:
        root = tmp_path_factory.mktemp("demo")
        worked = work_demo_incident(server, root / "state" / "console.db")
        yield worked
        worked.store.close()
    finally:
        server.stop()
