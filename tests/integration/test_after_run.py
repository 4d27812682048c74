"""After a run: the touched credentials' rows match the server, and the console's own token.

Against a fresh drill. Rows enter the store the way the inventory builds them
(``console.inventory``), are changed by a real run, and are read back through the store's query
the Credentials pane uses.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from actions import Target, run_plan
from actions.key_actions import DeleteSshKey
from actions.own_token import adopt_own_token, own_token_plan, split_own_token
from actions.plan import build_plan, token_plans
from actions.refresh import refresh_credentials
from actions.token_actions import RevokeToken, RotateToken
from actions.transport import HttpFailure, get_json
from console.config import ConnectionConfig, build_gitlab
from console.context import AppContext
from console.inventory.keys import key_rows
from console.inventory.rows import token_row
from console.secret import Secret
from console.session import Connection
from console.store import Store
from console.tokens import TokenStore, token_key
from console.tokens.own import KEYRING, MEMORY
from tests.unit.test_tokens import MemoryKeyring

NOW = datetime.now(UTC)


class Env:
    def __init__(self, server: Any, tmp: Path) -> None:
        self.s = server
        self.db = tmp / "state" / "console.db"
        self.store = Store.open(self.db)
        self.inc = int(
            self.store.create_incident("t", "compromised-account", None, server.url, None, None).id
        )
        self.gl = build_gitlab(ConnectionConfig(url=server.url), Secret(server.ADMIN_TOKEN))

    def load_token(self, tid: int) -> dict[str, Any]:
        raw = get_json(self.gl, f"/personal_access_tokens/{tid}")
        row = token_row(raw, {"id": raw["user_id"], "username": "mchen"}, None, NOW).to_dict()
        self.store.upsert_credentials(self.inc, [{**row, "rank": 0}])
        return row

    def state_of(self, key: str) -> str | None:
        rows = self.store.credentials_by_keys(self.inc, [key])
        return str(rows[0]["state"]) if rows else None

    def db_bytes(self) -> bytes:
        self.store.close()
        return b"".join(p.read_bytes() for p in self.db.parent.glob(self.db.name + "*"))


@pytest.fixture
def env(fresh_drill: Any, tmp_path: Path) -> Env:
    return Env(fresh_drill, tmp_path)


def _personal(env: Env, user_id: int) -> Any:
    return next(
        t
        for t in env.s.state.tokens.values()
        if t.user_id == user_id
        and not t.revoked
        and not t.impersonation
        and t.resource_type is None
    )


def test_a_revoked_token_row_shows_revoked_right_after_the_run(env: Env) -> None:
    tok = _personal(env, 7)
    env.load_token(tok.id)
    assert env.state_of(f"pat:{tok.id}") == "active"
    [plan] = token_plans("revoke", [{"id": tok.id, "name": tok.name, "user_id": 7}])
    result = run_plan(env.store, env.inc, env.gl, plan)
    assert result.outcomes[0].state == "done"
    refreshed = refresh_credentials(env.store, env.inc, env.gl, plan.action, result)
    assert refreshed.updated == [f"pat:{tok.id}"] and env.state_of(f"pat:{tok.id}") == "revoked"
    # the re-read used the token's own endpoint; the write was sent once
    assert env.s.requests_to("DELETE", f"/personal_access_tokens/{tok.id}") == 1


def test_a_rotated_token_gets_its_successor_row_and_no_value(env: Env) -> None:
    tok = _personal(env, 7)
    env.load_token(tok.id)
    plan = build_plan(RotateToken(), [Target("token", tok.id, tok.name)])
    result = run_plan(env.store, env.inc, env.gl, plan)
    out = result.outcomes[0]
    assert out.state == "done" and out.secret is not None
    refresh_credentials(env.store, env.inc, env.gl, plan.action, result)
    new = env.s.state.tokens[tok.rotated_to]
    assert env.state_of(f"pat:{tok.id}") == "revoked"
    assert env.state_of(f"pat:{new.id}") == "active"
    value = out.secret.reveal()
    assert value.encode() not in env.db_bytes()


def test_a_deleted_key_row_says_deleted(env: Env) -> None:
    user = get_json(env.gl, "/users/7")
    ssh = get_json(env.gl, "/users/7/keys")
    env.store.upsert_credentials(env.inc, key_rows(user, ssh, [], None, NOW))
    key = env.s.state.ssh_keys[7][-1]
    assert env.state_of(f"ssh_key:{key.id}") == "active"
    plan = build_plan(DeleteSshKey(user_id=7), [Target("ssh_key", key.id, key.title)])
    result = run_plan(env.store, env.inc, env.gl, plan)
    refreshed = refresh_credentials(env.store, env.inc, env.gl, plan.action, result)
    assert refreshed.deleted == [f"ssh_key:{key.id}"]
    assert env.state_of(f"ssh_key:{key.id}") == "deleted"
    others = [k for k in env.s.state.ssh_keys[7]]
    assert all(env.state_of(f"ssh_key:{k.id}") == "active" for k in others)


def test_a_dry_run_touches_no_row(env: Env) -> None:
    tok = _personal(env, 7)
    env.load_token(tok.id)
    plan = build_plan(RevokeToken(), [Target("token", tok.id, tok.name)])
    result = run_plan(env.store, env.inc, env.gl, plan, dry_run=True)
    assert not refresh_credentials(env.store, env.inc, env.gl, plan.action, result).changed
    assert env.state_of(f"pat:{tok.id}") == "active"


def _own(env: Env) -> Any:
    return next(t for t in env.s.state.tokens.values() if t.value == env.s.ADMIN_TOKEN)


def test_the_own_token_is_taken_out_of_token_plans_and_rotated_last(env: Env) -> None:
    own, other = _own(env), _personal(env, 7)
    rows = [
        {"id": own.id, "name": own.name, "user_id": 1},
        {"id": other.id, "name": other.name, "user_id": 7},
    ]
    plans, last = split_own_token(token_plans("revoke", rows, own_token_id=own.id), own.id)
    assert [[t.id for t in p.targets] for p in plans] == [[other.id]]
    assert last is not None and last.action.name == "rotate_own_token"
    assert [t.id for t in last.targets] == [own.id]
    # unconfirmed, the rotation refuses before sending anything
    refused = run_plan(env.store, env.inc, env.gl, last)
    assert refused.outcomes[0].state == "refused" and env.s.writes() == []
    assert split_own_token(plans, None) == (plans, None)


@pytest.mark.parametrize("source", ["keyring", "env"])
def test_own_token_rotation_keeps_the_value_where_the_old_one_lived(
    env: Env, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = MemoryKeyring()
    keyring = TokenStore(backend)
    config = ConnectionConfig(url=env.s.url)
    old = Secret(env.s.ADMIN_TOKEN)
    conn = Connection(config, old, source, "work")
    if source == "keyring":
        keyring.set(token_key(config.url, "work"), old)
    incident = env.store.get_incident(env.inc)
    assert incident is not None
    ctx = AppContext(env.store, incident, conn, None)
    ctx.gitlab()  # a client on the old token exists before the rotation
    own = _own(env)
    result = run_plan(env.store, env.inc, ctx.gitlab(), own_token_plan(own.id, confirmed=True))
    assert result.outcomes[0].state == "done"
    kept = adopt_own_token(ctx, result, keyring)
    assert kept is not None and kept.where == (KEYRING if source == "keyring" else MEMORY)
    assert result.outcomes[0].secret is None  # nothing left for a screen to show
    new_value = ctx.connection.token.reveal()
    assert new_value != env.s.ADMIN_TOKEN and env.s.state.token_by_value(new_value) is not None
    stored = backend.data.get(("gitlab-incident-console", token_key(config.url, "work")))
    if source == "keyring":
        assert stored is not None and stored == new_value
    else:
        assert backend.data == {}
    # reconnected: the session's client uses the new value, the old one is dead
    assert get_json(ctx.gitlab(), "/user")["id"] == 1
    with pytest.raises(HttpFailure):
        get_json(env.gl, "/user")
    assert env.s.requests_to("POST", "/personal_access_tokens/self/rotate") == 1
    assert new_value not in caplog.text and new_value not in kept.note
    assert new_value.encode() not in env.db_bytes()
