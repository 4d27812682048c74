"""Attempts that sent nothing are journaled (refusals, dry runs), and the typed-confirmation rule.

Against a fresh drill: the drill's own request log proves nothing was sent; the journal's hash
chain still verifies with the new entries in it, and resume, undo and Contain never mistake them
for a request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions import Plan, ReadOnlyRefused, Target, resume_pending, run_plan
from actions.attempts import journal_not_sent, not_sent_word
from actions.confirm import (
    Confirmation,
    confirmation_for,
    own_token_confirmation,
)
from actions.key_actions import DeleteSshKey
from actions.plan import build_plan
from actions.undo import undo_action, undo_plan
from actions.user_actions import AddNote, BlockUser
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret
from console.store import Store


@pytest.fixture
def env(fresh_drill: Any, tmp_path: Path) -> tuple[Any, Store, int, Any]:
    store = Store.open(tmp_path / "state" / "console.db")
    inc = int(
        store.create_incident("t", "compromised-account", None, fresh_drill.url, None, None).id
    )
    gl = build_gitlab(ConnectionConfig(url=fresh_drill.url), Secret(fresh_drill.ADMIN_TOKEN))
    return fresh_drill, store, inc, gl


def _key_plan(server: Any) -> Plan:
    key = server.state.ssh_keys[7][-1]
    return build_plan(DeleteSshKey(user_id=7), [Target("ssh_key", key.id, key.title)])


def test_dry_run_is_journaled_as_not_sent(env: tuple[Any, Store, int, Any]) -> None:
    server, store, inc, gl = env
    result = run_plan(store, inc, gl, _key_plan(server), dry_run=True)
    assert result.outcomes[0].state == "would_do" and server.writes() == []
    [entry] = store.journal_entries(inc)
    assert entry.state == "noop_already" and entry.extra["not_sent"] == "dry_run"
    assert entry.extra["outcomes"] == {"would_do": 1}
    assert entry.error and entry.error.startswith("dry run:") and entry.t_sent is None
    assert not_sent_word(entry.extra) == "dry run"
    assert store.verify_chain(inc)
    assert resume_pending(store, inc, gl).outcomes == []  # nothing in flight to re-check
    assert undo_action(entry) is None


def test_read_only_refusal_is_journaled_and_nothing_is_sent(
    env: tuple[Any, Store, int, Any],
) -> None:
    server, store, inc, gl = env
    users = [Target("user", 7, "mchen"), Target("user", 8, "x")]
    with pytest.raises(ReadOnlyRefused) as refused:
        run_plan(
            store, inc, gl, build_plan(BlockUser(), users, actor_id=1), read_only=True, actor_id=1
        )
    assert server.writes() == []
    [entry] = store.journal_entries(inc)
    assert (entry.state, entry.target_type, entry.target_id) == ("failed", "plan", 2)
    assert entry.params["target_ids"] == [7, 8] and entry.params["count"] == 2
    assert entry.extra["not_sent"] == "read_only" and entry.error == str(refused.value)
    assert entry.http_status is None and entry.request_id is None
    assert not_sent_word(entry.extra) == "refused: read-only"
    assert store.verify_chain(inc) and store.journal_pending(inc) == []


def test_a_refused_confirmation_is_journaled_and_the_chain_holds(
    env: tuple[Any, Store, int, Any],
) -> None:
    server, store, inc, gl = env
    plan = build_plan(BlockUser(), [Target("user", 1, "root", frozenset({"admin"}))])
    confirm = confirmation_for(plan)
    assert not confirm.accepts("y")
    eid = journal_not_sent(store, inc, plan, "confirmation", confirm.refusal("y"))
    assert eid is not None
    entry = store.journal_entry(eid)
    assert entry is not None and entry.target_label == "root" and entry.state == "failed"
    assert "type root to confirm" in (entry.error or "")
    # an ordinary run afterwards chains on top of it
    run_plan(store, inc, gl, _key_plan(server))
    assert store.verify_chain(inc) and len(store.journal_entries(inc)) == 2


def test_journaling_a_refusal_never_raises_when_the_store_cannot_write(
    env: tuple[Any, Store, int, Any],
) -> None:
    server, store, inc, _ = env
    store.close()
    broken = Store.open(store.path)
    broken.close()  # a closed store: every write fails
    assert journal_not_sent(broken, inc, _key_plan(server), "read_only", "no") is None


def _users(n: int, **admin: bool) -> list[Target]:
    return [
        Target(
            "user",
            100 + i,
            f"user{i}",
            frozenset({"admin"}) if admin.get(f"user{i}") else frozenset(),
        )
        for i in range(n)
    ]


def test_confirmation_rule() -> None:
    one = confirmation_for(build_plan(BlockUser(), _users(1), actor_id=1))
    assert one == Confirmation("y", one.why) and not one.typed
    assert confirmation_for(build_plan(BlockUser(), _users(10), actor_id=1)).word == "y"
    many = confirmation_for(build_plan(BlockUser(), _users(11), actor_id=1))
    assert many.word == "11" and many.accepts(" 11 ") and not many.accepts("1")
    admin = confirmation_for(build_plan(BlockUser(), _users(3, user1=True), actor_id=1))
    assert admin.word == "user1" and admin.typed
    assert not admin.accepts("User1") and not admin.accepts("y") and not admin.accepts("3")
    # a burst typed before the confirmation was shown never confirms, even with the right word
    assert not admin.accepts("user1", typed_before_shown="user1")
    two = confirmation_for(build_plan(BlockUser(), _users(3, user0=True, user2=True), actor_id=1))
    assert two.word == "user0 user2"
    root = confirmation_for(build_plan(BlockUser(), [Target("user", 1, "root")], actor_id=2))
    assert root.word == "root"
    # a note harms nobody: one key even on root
    assert confirmation_for(build_plan(AddNote("x"), [Target("user", 1, "root")])).word == "y"
    # a username that is itself a key is confirmed with its id
    short = confirmation_for(
        build_plan(BlockUser(), [Target("user", 9, "y", frozenset({"admin"}))], actor_id=1)
    )
    assert short.word == "y#9" and not short.accepts("y")
    assert own_token_confirmation().word == "rotate"


def test_undo_plan_from_a_journal_entry(env: tuple[Any, Store, int, Any]) -> None:
    server, store, inc, gl = env
    run_plan(
        store, inc, gl, build_plan(BlockUser(), [Target("user", 33, "u33")], actor_id=1), actor_id=1
    )
    run_plan(store, inc, gl, _key_plan(server), dry_run=True)
    done, dry = store.journal_entries(inc)
    plan = undo_plan(done)
    assert plan is not None and plan.action.name == "unblock_user"
    assert [(t.kind, t.id) for t in plan.targets] == [("user", 33)]
    assert undo_plan(dry) is None  # nothing was sent: nothing to undo
    # the undo of a block is an unblock and keeps its guard: live credentials refuse it
    before = len(server.writes())
    out = run_plan(store, inc, gl, plan, actor_id=1).outcomes[0]
    assert out.state == "refused" and "still" in out.message, out.message
    assert len(server.writes()) == before and server.state.users[33].state == "blocked"
    confirmed = undo_plan(done, confirm_credentials=True)
    assert confirmed is not None
    assert run_plan(store, inc, gl, confirmed, actor_id=1).outcomes[0].state == "done"
    assert server.state.users[33].state == "active"
