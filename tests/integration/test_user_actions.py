"""User and token actions on a fresh drill: GitLab semantics, one-time secrets, no repeats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actions import Plan, Target, http, resume_pending, run_plan
from actions.plan import build_plan, token_targets, user_targets
from actions.token_actions import RevokeToken, RotateToken
from actions.user_actions import (
    AddNote,
    BlockUser,
    Disable2FA,
    ResetPassword,
    UnblockUser,
    generate_password,
)
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret
from console.store import Store


def _setup(drill: Any, tmp_path: Path) -> tuple[Store, int, Path, Any, list[tuple[str, str]]]:
    from console.drill.server import DrillServer

    db = tmp_path / "state" / "console.db"
    store = Store.open(db)
    inc = int(store.create_incident("t", "compromised-account", None, drill.url, None, None).id)
    gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))
    log: list[tuple[str, str]] = []
    original = gl.session.send

    def send(request: Any, **kw: Any) -> Any:
        log.append((request.method, request.path_url.split("?")[0].removeprefix("/api/v4")))
        return original(request, **kw)

    gl.session.send = send
    return store, inc, db, gl, log


def _writes(log: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [x for x in log if x[0] != "GET"]


def _plan(action: Any, *ids: int) -> Plan:
    return build_plan(action, [Target("user", i, f"u{i}") for i in ids], actor_id=1)


def _db_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_unblock_refuses_while_credentials_are_active_unless_confirmed(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    uid = 10  # jlee: holds an active personal access token
    assert any(t.user_id == uid and not t.revoked for t in fresh_drill.state.tokens.values())
    assert run_plan(store, inc, gl, _plan(BlockUser(), uid)).outcomes[0].state == "done"
    log.clear()

    refused = run_plan(store, inc, gl, _plan(UnblockUser(), uid))
    [out] = refused.outcomes
    assert out.state == "refused" and "active token" in out.message
    assert _writes(log) == []
    assert fresh_drill.state.users[uid].state == "blocked"

    ok = run_plan(store, inc, gl, _plan(UnblockUser(confirm_credentials=True), uid))
    assert ok.outcomes[0].state == "done"
    assert fresh_drill.state.users[uid].state == "active"
    entry = store.journal_entries(inc)[-1]
    assert entry.action == "unblock_user" and entry.params == {"confirm_credentials": True}


def test_unblock_of_deactivated_or_banned_user_is_explained_not_sent(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    result = run_plan(store, inc, gl, _plan(UnblockUser(confirm_credentials=True), 19, 17))
    by_id = {o.target.id: o for o in result.outcomes}
    assert by_id[19].state == "refused" and "deactivated" in by_id[19].message
    assert by_id[17].state == "refused" and "banned" in by_id[17].message
    assert _writes(log) == []


def test_block_of_internal_user_is_forbidden_per_target(fresh_drill, tmp_path):
    store, inc, _, gl, _ = _setup(fresh_drill, tmp_path)
    result = run_plan(store, inc, gl, _plan(BlockUser(), 3, 33))  # 3: internal support bot
    assert [o.state for o in result.outcomes] == ["forbidden", "done"]
    assert "403" in result.outcomes[0].message
    entries = {e.target_id: e for e in store.journal_entries(inc)}
    assert entries[3].state == "forbidden" and entries[3].http_status == 403


def test_password_reset_shows_the_password_once_and_never_stores_it(fresh_drill, tmp_path):
    store, inc, db, gl, log = _setup(fresh_drill, tmp_path)
    result = run_plan(store, inc, gl, _plan(ResetPassword(), 32))
    [out] = result.outcomes
    assert out.state == "done", out.message
    assert out.secret is not None
    password = out.secret.reveal()
    assert len(password) == 24
    assert "***" in repr(out) and password not in repr(out)
    assert _writes(log) == [("PUT", "/users/32")]
    assert fresh_drill.state.users[32].password_expires_at is not None
    [entry] = store.journal_entries(inc)
    assert entry.action == "reset_password" and entry.state == "done"
    assert entry.params == {}
    store.close()
    assert password.encode() not in _db_bytes(db)


def test_password_reset_interrupted_is_never_repeated(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    store.journal_intent(inc, "reset_password", "user", 32, "swright", {}, {"state": "active"})
    result = resume_pending(store, inc, gl)
    [out] = result.outcomes
    assert out.state == "failed" and "needs human" in out.message
    assert _writes(log) == []


def test_force_2fa_reenrolment(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    users = fresh_drill.state.users
    assert users[31].two_factor and users[4].is_admin and not users[8].two_factor
    result = run_plan(store, inc, gl, _plan(Disable2FA(), 31, 4, 8))
    by_id = {o.target.id: o for o in result.outcomes}
    assert by_id[31].state == "done"
    assert by_id[4].state == "refused" and "Rails console" in by_id[4].message
    assert by_id[8].state == "noop_already"
    assert _writes(log) == [("PATCH", "/users/31/disable_two_factor")]
    assert users[31].two_factor is False


def test_note_is_appended_preserving_the_existing_text(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    old = fresh_drill.state.users[15].note
    assert old
    line = "IR-7 2025-01-01: blocked during compromise response"
    assert run_plan(store, inc, gl, _plan(AddNote(line), 15)).outcomes[0].state == "done"
    assert fresh_drill.state.users[15].note.splitlines() == [old, line]
    log.clear()
    again = run_plan(store, inc, gl, _plan(AddNote(line), 15))
    assert again.outcomes[0].state == "noop_already"
    assert _writes(log) == []


def _token(drill: Any, user_id: int) -> Any:
    return next(
        t
        for t in sorted(drill.state.tokens.values(), key=lambda t: t.id)
        if t.user_id == user_id
        and not t.revoked
        and t.resource_type is None
        and not t.impersonation
    )


def test_revoke_token_once_then_noop(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    tok = _token(fresh_drill, 10)
    targets = token_targets([{"id": tok.id, "name": tok.name, "scopes": tok.scopes}])
    plan = build_plan(RevokeToken(), targets)
    assert run_plan(store, inc, gl, plan).outcomes[0].state == "done"
    assert tok.revoked
    assert _writes(log) == [("DELETE", f"/personal_access_tokens/{tok.id}")]
    log.clear()
    assert run_plan(store, inc, gl, plan).outcomes[0].state == "noop_already"
    assert _writes(log) == []  # no second revoke email / audit event


def test_rotate_token_shows_new_value_once_and_never_repeats(fresh_drill, tmp_path):
    store, inc, db, gl, log = _setup(fresh_drill, tmp_path)
    tok = _token(fresh_drill, 10)
    plan = build_plan(RotateToken(), [Target("token", tok.id, tok.name)])
    [out] = run_plan(store, inc, gl, plan).outcomes
    assert out.state == "done", out.message
    assert out.secret is not None
    value = out.secret.reveal()
    new = next(t for t in fresh_drill.state.tokens.values() if t.value == value)
    assert tok.revoked and not new.revoked
    [entry] = store.journal_entries(inc)
    assert entry.post_state["new_token_id"] == new.id
    store.close()
    assert value.encode() not in _db_bytes(db)

    # rotating the (now revoked) old token again would revoke the whole family: never sent
    store = Store.open(db)
    log.clear()
    [again] = run_plan(store, inc, gl, plan).outcomes
    assert again.state == "noop_already" and "family" in again.message
    assert _writes(log) == []
    assert not new.revoked


def test_rotate_resume_sent_but_unrecorded_is_verified_not_repeated(fresh_drill, tmp_path):
    store, inc, _, gl, log = _setup(fresh_drill, tmp_path)
    a, b = [
        t
        for t in sorted(fresh_drill.state.tokens.values(), key=lambda t: t.id)
        if not t.revoked
        and t.resource_type is None
        and not t.impersonation
        and t.user_id not in (1,)
    ][:2]
    # a: the crash happened after the POST reached GitLab; b: before it was sent
    store.journal_intent(inc, "rotate_token", "token", a.id, a.name, {}, {"revoked": False})
    store.journal_intent(inc, "rotate_token", "token", b.id, b.name, {}, {"revoked": False})
    http(gl, "post", f"/personal_access_tokens/{a.id}/rotate")
    log.clear()

    result = resume_pending(store, inc, gl)
    by_id = {o.target.id: o for o in result.outcomes}
    assert by_id[a.id].state == "done" and "after resume" in by_id[a.id].message
    assert "value was lost" in by_id[a.id].message
    assert by_id[b.id].state == "failed" and "needs human" in by_id[b.id].message
    assert _writes(log) == []
    assert not b.revoked
    assert store.journal_pending(inc) == []


def test_user_targets_keep_selection_order_dedupe_and_flag(fresh_drill, tmp_path):
    store, inc, _, gl, _ = _setup(fresh_drill, tmp_path)
    users = [gl.http_get(f"/users/{i}") for i in (4, 11, 12)]
    store.upsert_users(inc, users, "2025-01-01T00:00:00Z")
    targets = user_targets(store, inc, [12, 4, 11, 4, 424242])
    assert [t.id for t in targets] == [12, 4, 11, 424242]
    assert "admin" in targets[1].flags
    assert "not cached" in targets[3].flags


def test_generated_passwords_are_strong_and_distinct():
    pws = {generate_password() for _ in range(50)}
    assert len(pws) == 50
    for pw in pws:
        assert len(pw) == 24
        assert any(c.isupper() for c in pw) and any(c.islower() for c in pw)
        assert any(c.isdigit() for c in pw) and any(not c.isalnum() for c in pw)
