"""kill -9 in the middle of a bulk block, then resume: nothing lost, nothing done twice.

A real child process runs a 10-user block plan against a slow drill served by this test process.
We watch the journal from outside (read-only SQLite, committed rows only) and SIGKILL the child
while a request is in flight. Then, in this process, ``resume_pending`` settles the interrupted
entry and re-running the same plan finishes the rest. The drill's own audit log is the witness:
exactly one ``user_blocked`` event per user.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from actions import TERMINAL_STATES, Target, resume_pending, run_plan
from actions.plan import build_plan
from actions.user_actions import BlockUser
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret
from console.store import Store

TARGETS = list(range(60, 70))  # active, human, non-admin users in the seeded drill

CHILD = r"""
import sys
from actions import Target, run_plan
from actions.plan import build_plan
from actions.user_actions import BlockUser
from console.config import ConnectionConfig, build_gitlab
from console.drill.server import DrillServer
from console.secret import Secret
from console.store import Store

db, url, incident, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = Store.open(db)
gl = build_gitlab(ConnectionConfig(url=url), Secret(DrillServer.ADMIN_TOKEN))
targets = [Target("user", int(i), f"user{i}") for i in ids.split(",")]
plan = build_plan(BlockUser(), targets, actor_id=1)
print("ready", flush=True)
run_plan(store, incident, gl, plan, actor_id=1)
print("finished", flush=True)
"""


def _journal(db: Path) -> list[tuple[int, str]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [
            (int(r[0]), str(r[1]))
            for r in con.execute("SELECT target_id, state FROM journal ORDER BY id")
        ]
    finally:
        con.close()


def _blocked_events(drill: Any, uid: int) -> int:
    return sum(
        1 for e in drill.state.audit if e.event_name == "user_blocked" and e.entity_id == uid
    )


@pytest.mark.parametrize("kill_in", ["intent", "sent"])
def test_sigkill_mid_run_then_resume_blocks_each_user_exactly_once(fresh_drill, tmp_path, kill_in):
    from console.drill.server import DrillServer

    for uid in TARGETS:
        assert fresh_drill.state.users[uid].state == "active"
        assert _blocked_events(fresh_drill, uid) == 0
    db = tmp_path / "state" / "console.db"
    store = Store.open(db)
    inc = int(
        store.create_incident("crash", "compromised-account", None, fresh_drill.url, None, None).id
    )
    fresh_drill.options.latency_ms = 60  # each request takes a while: a window to kill in

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(db),
            fresh_drill.url,
            str(inc),
            ",".join(map(str, TARGETS)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    killed_at: list[tuple[int, str]] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if child.poll() is not None:
                break
            rows = _journal(db) if db.exists() else []
            done = sum(1 for _, s in rows if s == "done")
            if done >= 2 and rows and rows[-1][1] == kill_in:
                os.kill(child.pid, signal.SIGKILL)
                killed_at = rows
                break
            time.sleep(0.003)
    finally:
        if child.poll() is None:
            child.kill()
        _, err = child.communicate(timeout=10)
    assert killed_at, f"never caught the child mid-request (rc={child.returncode}): {err[-800:]}"
    assert child.returncode == -signal.SIGKILL

    time.sleep(0.3)  # let the drill finish a request the child had already sent
    fresh_drill.options.latency_ms = 0
    pending_id = killed_at[-1][0]
    pending = store.journal_pending(inc)
    assert [e.target_id for e in pending] == [pending_id]
    assert pending[0].state == kill_in

    gl = build_gitlab(ConnectionConfig(url=fresh_drill.url), Secret(DrillServer.ADMIN_TOKEN))
    posts: list[str] = []
    original = gl.session.send

    def send(request: Any, **kw: Any) -> Any:
        if request.method != "GET":
            posts.append(request.path_url)
        return original(request, **kw)

    gl.session.send = send
    resumed = resume_pending(store, inc, gl)
    [out] = resumed.outcomes
    assert out.target.id == pending_id and out.state == "done", out.message
    if kill_in == "sent":
        # the journal proves the POST was answered: resume must only verify, never re-send
        assert posts == [] and out.message == "done (verified after resume)"
    assert posts in ([], [f"/api/v4/users/{pending_id}/block"])
    assert store.journal_pending(inc) == []

    # the responder re-runs the same plan: finished users are no-ops, the rest get blocked
    attempted = {tid for tid, _ in killed_at}
    posts.clear()
    plan = build_plan(BlockUser(), [Target("user", i, f"user{i}") for i in TARGETS], actor_id=1)
    rerun = run_plan(store, inc, gl, plan, actor_id=1)
    states = {o.target.id: o.state for o in rerun.outcomes}
    assert all(states[t] == "noop_already" for t in attempted)
    assert all(states[t] == "done" for t in TARGETS if t not in attempted)
    assert len(posts) == len([t for t in TARGETS if t not in attempted])

    for uid in TARGETS:
        assert fresh_drill.state.users[uid].state == "blocked"
        assert _blocked_events(fresh_drill, uid) == 1, uid
    entries = store.journal_entries(inc)
    assert entries and all(e.state in TERMINAL_STATES for e in entries)
    assert store.verify_chain(inc)
