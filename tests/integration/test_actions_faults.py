"""Trust under faults (issue 8): one writer per incident, plans journaled whole and resumed,
lost replies on creates resolved, and the breaker's early stop. Against the drill, with its
fault injection (``DrillOptions.fault``) and real child processes."""

from __future__ import annotations

import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import actions.transport
from actions import (
    HttpFailure,
    Plan,
    RunResult,
    State,
    Target,
    plan_views,
    register,
    resume,
    resume_pending,
    run_plan,
)
from actions.plan import build_plan
from actions.token_actions import RevokeToken, RotateToken
from actions.user_actions import BlockUser
from bench.kill_resume import block_targets, one_round
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret
from console.store import Store
from console.store.lock import (
    WriterElsewhere,
    acquire_writer,
    held_here,
    holder_of,
    lock_path,
)

REPO = Path(__file__).resolve().parents[2]
_USER_GET = re.compile(r"/api/v4/users/\d+\Z")
_BLOCK = re.compile(r"/api/v4/users/(\d+)/block\Z")


def setup(drill: Any, tmp_path: Path) -> tuple[Store, int, Any, list[tuple[str, str]]]:
    from console.drill.server import DrillServer

    store = Store.open(tmp_path / "state" / "console.db")
    inc = int(
        store.create_incident("faults", "compromised-account", None, drill.url, None, None).id
    )
    gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))
    log: list[tuple[str, str]] = []
    original = gl.session.send

    def send(request: Any, **kw: Any) -> Any:
        log.append((request.method, request.path_url.split("?")[0].removeprefix("/api/v4")))
        return original(request, **kw)

    gl.session.send = send
    return store, inc, gl, log


def users_plan(ids: list[int]) -> Plan:
    return build_plan(BlockUser(), [Target("user", i, f"u{i}") for i in ids], actor_id=1)


def writes(log: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(m, p) for m, p in log if m != "GET"]


# --------------------------------------------------------------------------- one writer


HOLDER = r"""
import sys, time
from console.store.lock import acquire_writer
acquire_writer(sys.argv[1], int(sys.argv[2]))
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_file_is_private_reentrant_and_free_after_release(tmp_path):
    db = tmp_path / "console.db"
    assert holder_of(db, 3) is None
    lock = acquire_writer(db, 3)
    try:
        assert acquire_writer(db, 3) is lock  # the same process asks again: same handle
        assert held_here(db, 3) is lock
        holder = holder_of(db, 3)
        assert holder is not None and holder.pid == os.getpid()
        mode = stat.S_IMODE(lock_path(db, 3).stat().st_mode)
        assert mode == 0o600
        assert holder_of(db, 4) is None  # per incident
    finally:
        lock.release()
    assert holder_of(db, 3) is None and held_here(db, 3) is None


def test_a_second_process_cannot_send_and_learns_who_holds_the_incident(fresh_drill, tmp_path):
    store, inc, gl, log = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 3)
    # an entry the other console has in flight: this one must not re-check it
    store.journal_intent(inc, "block_user", "user", ids[0], "u", {}, {"state": "active"})
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.path), str(inc)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(WriterElsewhere) as refused:
            run_plan(store, inc, gl, users_plan(ids), actor_id=1)
        assert refused.value.holder is not None and refused.value.holder.pid == child.pid
        assert f"PID {child.pid}" in str(refused.value)
        with pytest.raises(WriterElsewhere):
            resume_pending(store, inc, gl)
        with pytest.raises(WriterElsewhere):
            resume_pending(store, inc, gl, read_only=True)  # not even a re-check
        assert log == []
        assert [e.state for e in store.journal_pending(inc)] == ["intent"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    # the kernel released the lock with the process: no stale lock, this console may act now
    assert holder_of(store.path, inc) is None
    result = run_plan(store, inc, gl, users_plan(ids[1:]), actor_id=1)
    assert [o.state for o in result.outcomes] == ["done", "done"]


RUNNER = r"""
import sys
from actions import Target, run_plan
from actions.plan import build_plan
from actions.user_actions import BlockUser
from console.config import ConnectionConfig, build_gitlab
from console.drill.server import DrillServer
from console.secret import Secret
from console.store import Store
from console.store.lock import WriterElsewhere

db, url, incident, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = Store.open(db)
gl = build_gitlab(ConnectionConfig(url=url), Secret(DrillServer.ADMIN_TOKEN))
plan = build_plan(BlockUser(), [Target("user", int(i), "u") for i in ids.split(",")], actor_id=1)
print("ready", flush=True)
sys.stdin.readline()
try:
    result = run_plan(store, incident, gl, plan, actor_id=1)
    print("ran", result.summary(), flush=True)
except WriterElsewhere:
    print("refused", flush=True)
"""


def test_two_consoles_running_the_same_plan_never_send_a_write_twice(fresh_drill, tmp_path):
    posts: Counter[int] = Counter()

    def count(method: str, path: str) -> None:
        m = _BLOCK.match(path)
        if method == "POST" and m:
            posts[int(m.group(1))] += 1

    fresh_drill.options.fault = count
    fresh_drill.options.latency_ms = 5
    store, inc, _, _ = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 12)
    args = [str(store.path), fresh_drill.url, str(inc), ",".join(map(str, ids))]
    kids = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    for kid in kids:
        assert kid.stdout is not None and kid.stdout.readline().strip() == "ready"
    for kid in kids:  # go together
        assert kid.stdin is not None
        kid.stdin.write("go\n")
        kid.stdin.flush()
    said = [kid.communicate(timeout=60)[0] for kid in kids]
    assert all(kid.returncode == 0 for kid in kids), said
    assert sum("ran" in s for s in said) >= 1
    assert all(posts[uid] == 1 for uid in ids), posts
    assert all(fresh_drill.state.users[uid].state == "blocked" for uid in ids)


# --------------------------------------------------------------------------- whole plans


def test_halted_plan_is_journaled_whole_and_resume_finishes_the_rest(fresh_drill, tmp_path):
    store, inc, gl, log = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 6)
    forbidden = {"on": True}
    reads = Counter[str]()

    def fault(method: str, path: str) -> int | None:
        # every user read answers 403 (say an IP allow-list) once the first two are done
        # (a done target takes two reads: before and after the write)
        if method == "GET" and _USER_GET.match(path):
            reads["n"] += 1
            if forbidden["on"] and reads["n"] > 4:
                return 403
        return None

    fresh_drill.options.fault = fault
    result = run_plan(store, inc, gl, users_plan(ids), actor_id=1)
    assert [o.state for o in result.outcomes] == [
        "done",
        "done",
        "forbidden",
        "forbidden",
        "failed",
        "skipped",
    ]
    assert result.halted is not None
    assert "3 requests in a row were refused (403)" in result.halted
    assert f"the read before the write (GET /users/{ids[4]})" in result.halted
    assert result.left_pending == 4
    assert "forbidden (403) on the read before the write" in result.outcomes[2].message
    assert "LDAP" not in result.outcomes[2].message  # not the write's explanation
    [view] = plan_views(store, inc)
    assert [s.state for s in view.steps] == ["done", "done"] + ["not started"] * 4
    assert len(writes(log)) == 2

    forbidden["on"] = False
    log.clear()
    finished = resume(store, inc, gl)
    assert [o.state for o in finished.outcomes] == ["done"] * 4
    assert [p for _, p in writes(log)] == [f"/users/{u}/block" for u in ids[2:]]
    assert plan_views(store, inc) == []  # nothing left open
    [view] = plan_views(store, inc, only_open=False)
    assert [s.state for s in view.steps] == ["done"] * 6
    assert store.verify_chain(inc)


def test_plan_view_shows_verified_after_resume(fresh_drill, tmp_path):
    store, inc, gl, _ = setup(fresh_drill, tmp_path)
    [uid] = block_targets(fresh_drill, 1)
    pid = store.plan_create(inc, "block_user", {}, [("user", uid, "u")])
    store.journal_intent(inc, "block_user", "user", uid, "u", {}, None, plan_step=(pid, 0))
    gl.http_post(f"/users/{uid}/block")  # the crash came after the POST landed
    resume(store, inc, gl)
    [view] = plan_views(store, inc, only_open=False)
    assert [s.state for s in view.steps] == ["verified after resume"]


def test_a_tampered_plan_is_detected_by_the_chain(tmp_path):
    store = Store.open(tmp_path / "console.db")
    inc = int(store.create_incident("t", "compromised-account", None, "http://x", None, None).id)
    pid = store.plan_create(inc, "block_user", {}, [("user", 5, "a"), ("user", 6, "b")])
    assert store.verify_chain(inc)
    with store._write() as con:
        con.execute("DELETE FROM plan_steps WHERE plan_id = ? AND idx = 1", (pid,))
    assert any("plan" in p for p in store.journal_problems(inc))


# --------------------------------------------------------------------------- ambiguous creates


def test_lost_reply_on_rotate_names_the_new_token_to_revoke(fresh_drill, tmp_path):
    store, inc, gl, _ = setup(fresh_drill, tmp_path)
    tok = next(
        t
        for t in sorted(fresh_drill.state.tokens.values(), key=lambda t: t.id)
        if not t.revoked and t.resource_type is None and not t.impersonation and t.user_id != 1
    )
    fresh_drill.options.fault = lambda method, path: (
        "drop" if path.endswith(f"/personal_access_tokens/{tok.id}/rotate") else None
    )
    plan = build_plan(
        RotateToken(), [Target("token", tok.id, tok.name, info={"user_id": tok.user_id})]
    )
    [out] = run_plan(store, inc, gl, plan).outcomes
    new = fresh_drill.state.tokens[tok.rotated_to]
    assert tok.revoked and not new.revoked
    assert out.secret is None  # nobody saw the value
    assert out.attention is not None and out.attention.target.id == new.id
    assert out.attention.action == "revoke_token"
    assert f"needs attention: revoke the new token #{new.id} whose value was lost" in out.message
    [entry] = store.journal_entries(inc)
    assert entry.extra["attention"]["target_id"] == new.id
    assert "1 need attention" in RunResult("x", False, [out]).summary()
    [view] = plan_views(store, inc, only_open=False)
    assert view.steps[0].state == "needs attention"

    # the one-key follow-up: revoke exactly that token
    fresh_drill.options.fault = None
    follow = build_plan(RevokeToken(), [out.attention.target])
    assert [o.state for o in run_plan(store, inc, gl, follow).outcomes] == ["done"]
    assert new.revoked


# --------------------------------------------------------------------------- the breaker


def test_403s_on_the_write_halt_naming_the_write(fresh_drill, tmp_path):
    store, inc, gl, log = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 5)
    fresh_drill.options.fault = lambda m, p: 403 if m == "POST" else None
    result = run_plan(store, inc, gl, users_plan(ids), actor_id=1)
    assert [o.state for o in result.outcomes] == [
        "forbidden",
        "forbidden",
        "failed",
        "skipped",
        "skipped",
    ]
    assert result.halted and f"the write (POST /users/{ids[2]}/block)" in result.halted
    assert len(writes(log)) == 3
    assert result.left_pending == 2


def test_connection_failures_halt_the_run_with_one_message(fresh_drill, tmp_path, monkeypatch):
    monkeypatch.setattr(actions.transport, "retry_sleep", lambda s: None)
    store, inc, gl, log = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 20)
    fresh_drill.options.fault = lambda m, p: "drop"
    result = run_plan(store, inc, gl, users_plan(ids), actor_id=1)
    assert result.halted and result.halted.startswith("GitLab is unreachable")
    assert f"GET /users/{ids[1]}" in result.halted
    assert [o.state for o in result.outcomes][:3] == ["failed", "failed", "skipped"]
    assert writes(log) == []
    assert result.left_pending == 20  # nothing started: all resumable
    assert len(log) == 4  # two targets, one read retry each


def test_a_hanging_server_costs_seconds_not_minutes(fresh_drill, tmp_path, monkeypatch):
    monkeypatch.setattr(actions.transport, "READ_TIMEOUT", 0.3)
    monkeypatch.setattr(actions.transport, "retry_sleep", lambda s: None)
    store, inc, gl, _ = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 40)
    fresh_drill.options.latency_ms = 2000
    start = time.monotonic()
    result = run_plan(store, inc, gl, users_plan(ids), actor_id=1)
    took = time.monotonic() - start
    assert result.halted is not None and result.halted.startswith("GitLab is unreachable")
    assert took < 30.0, took  # 2 targets x 2 attempts x 0.3 s, not 40 x 30 s


def test_a_read_asking_for_an_hour_halts_instead_of_sleeping(tmp_path):
    store = Store.open(tmp_path / "console.db")
    inc = int(store.create_incident("t", "compromised-account", None, "http://x", None, None).id)

    class Limited(BlockUser):
        name = "limited_block"

        def read_state(self, gl: Any, target: Target) -> State:
            raise HttpFailure(429, "slow down", retry_after=3600.0, request="GET /users/5")

    register(Limited.name, lambda p: Limited())
    slept: list[float] = []
    result = run_plan(
        store,
        inc,
        None,
        Plan(Limited(), (Target("user", 5, "u"), Target("user", 6, "v"))),
        actor_id=1,
        sleep=slept.append,
    )
    assert slept == []
    assert result.halted and "60 min" in result.halted and "GET /users/5" in result.halted
    assert result.left_pending == 2


# --------------------------------------------------------------------------- kill -9


def test_kill_at_random_points_of_a_40_target_plan_then_resume(tmp_path):
    rng = random.Random(8)
    for _ in range(2):
        r = one_round(rng, targets=40, latency_ms=3.0, workdir=tmp_path)
        assert r.problems == [], r


@pytest.mark.skipif(not os.environ.get("IC_SLOW"), reason="slow: set IC_SLOW=1")
def test_kill_resume_loop_slow(tmp_path):
    rng = random.Random(int(os.environ.get("IC_SLOW_SEED", "1")))
    runs = int(os.environ.get("IC_SLOW_RUNS", "50"))
    failures = [r for r in (one_round(rng, workdir=tmp_path) for _ in range(runs)) if r.problems]
    assert failures == []


def test_resume_in_read_only_mode_rechecks_but_sends_nothing(fresh_drill, tmp_path):
    store, inc, gl, log = setup(fresh_drill, tmp_path)
    ids = block_targets(fresh_drill, 2)
    pid = store.plan_create(inc, "block_user", {}, [("user", i, "u") for i in ids])
    store.journal_intent(inc, "block_user", "user", ids[0], "u", {}, None, plan_step=(pid, 0))
    result = resume(store, inc, gl, read_only=True)
    assert [o.state for o in result.outcomes] == ["unknown"]
    assert "read-only" in result.outcomes[0].message
    assert result.left_pending == 1
    assert writes(log) == []
    assert all(fresh_drill.state.users[i].state == "active" for i in ids)


def test_a_plan_of_an_unknown_action_is_refused_not_offered_forever(tmp_path):
    store = Store.open(tmp_path / "console.db")
    inc = int(store.create_incident("t", "compromised-account", None, "http://x", None, None).id)
    store.plan_create(inc, "no_such_action", {}, [("user", 5, "a")])
    resume(store, inc, None)
    assert store.plans_open(inc) == []
    [view] = plan_views(store, inc, only_open=False)
    assert view.steps[0].state == "refused" and "unknown action" in view.steps[0].detail
