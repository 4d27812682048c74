"""Kill the console at random points of a 40-user block and resume, many times.

    python -m bench.kill_resume [--runs 200] [--targets 40] [--latency-ms 3] [--seed 1]

Each round starts a fresh drill (simulated GitLab), runs a block plan over 40 active users in
a child process (the real ``actions.run_plan`` against a real store), SIGKILLs it at a random
moment, then resumes in this process (``actions.resume``: settle what was in flight, finish
the plan). The drill is the witness. Every round must end with:

* exactly one block transition per user (40 ``user_blocked`` audit events in all);
* exactly one ``POST /users/:id/block`` per user: no request sent twice after its outcome was
  known (a re-send is only allowed when nothing reached the server);
* no step unresolved: no journal entry in flight, no plan step still planned, chain intact.

Prints a line per failing round and a summary; exits 1 if any round failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"/api/v4/users/(\d+)/block\Z")

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


@dataclass
class Round:
    killed_after_s: float
    finished_before_kill: bool
    #: killed before the plan was journaled: the console never started it, the responder
    #: confirms it again (a fresh run_plan) and the same checks apply
    before_plan: bool = False
    problems: list[str] = field(default_factory=list)
    resumed_steps: int = 0


def block_targets(drill: Any, n: int) -> list[int]:
    """``n`` active, human, non-admin users of the seeded drill (never the acting root)."""
    users = sorted(drill.state.users.values(), key=lambda u: u.id)
    ok = [
        u.id
        for u in users
        if u.id > 1
        and u.state == "active"
        and not u.is_admin
        and not u.bot
        and not u.internal
        and not u.ldap
        and u.user_type in (None, "human")
    ]
    if len(ok) < n:
        raise SystemExit(f"the drill has only {len(ok)} suitable users")
    return ok[:n]


def one_round(
    rng: random.Random, *, targets: int = 40, latency_ms: float = 3.0, workdir: Path
) -> Round:
    from actions import resume
    from console.config import ConnectionConfig, build_gitlab
    from console.drill.server import DrillOptions, DrillServer
    from console.secret import Secret
    from console.store import Store

    posts: Counter[int] = Counter()

    def count(method: str, path: str) -> None:
        m = _BLOCK.match(path)
        if method == "POST" and m:
            posts[int(m.group(1))] += 1

    drill = DrillServer(DrillOptions(users=300, latency_ms=latency_ms, fault=count))
    drill.start()
    try:
        ids = block_targets(drill, targets)
        db = workdir / f"round-{rng.random():.12f}" / "console.db"
        store = Store.open(db)
        inc = int(
            store.create_incident("kill", "compromised-account", None, drill.url, None, None).id
        )
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), drill.url, str(inc), ",".join(map(str, ids))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            _, err = child.communicate(timeout=10)
            raise RuntimeError(f"child did not start: {err[-500:]}")
        # a whole run takes ~3 requests x (latency + overhead) per target
        delay = rng.uniform(0.0, targets * 3 * (latency_ms + 4.0) / 1000.0)
        time.sleep(delay)
        finished = child.poll() is not None
        if not finished:
            os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=10)
        out = Round(delay, finished)

        gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))
        if not store.plans_recent(inc):
            out.before_plan = True
            if store.journal_entries(inc):
                out.problems.append("journal entries without a journaled plan")
            from actions import Target, run_plan
            from actions.plan import build_plan
            from actions.user_actions import BlockUser

            plan = build_plan(BlockUser(), [Target("user", i, f"user{i}") for i in ids], actor_id=1)
            run_plan(store, inc, gl, plan, actor_id=1)
        result = resume(store, inc, gl, settle=max(0.2, 20 * latency_ms / 1000.0))
        out.resumed_steps = len(result.outcomes)
        if result.halted:
            out.problems.append(f"resume halted: {result.halted}")
        out.problems += check(drill, store, inc, ids, posts)
        store.close()
        return out
    finally:
        drill.stop()


def check(drill: Any, store: Any, inc: int, ids: list[int], posts: Counter[int]) -> list[str]:
    problems: list[str] = []
    blocked = Counter(e.entity_id for e in drill.state.audit if e.event_name == "user_blocked")
    for uid in ids:
        if drill.state.users[uid].state != "blocked":
            problems.append(f"user {uid} is {drill.state.users[uid].state}, not blocked")
        if blocked[uid] != 1:
            problems.append(f"user {uid}: {blocked[uid]} block transitions")
        if posts[uid] != 1:
            problems.append(f"user {uid}: {posts[uid]} POSTs")
    total = sum(blocked[uid] for uid in ids)
    if total != len(ids):
        problems.append(f"{total} block transitions, expected {len(ids)}")
    if store.journal_pending(inc):
        problems.append(f"{len(store.journal_pending(inc))} journal entries still in flight")
    if store.plans_open(inc):
        problems.append("plan steps still planned after resume")
    if not store.verify_chain(inc):
        problems.append("journal chain broken: " + "; ".join(store.journal_problems(inc)))
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--targets", type=int, default=40)
    ap.add_argument("--latency-ms", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    failed = 0
    killed = 0
    before_plan = 0
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill-resume-") as tmp:
        for n in range(args.runs):
            r = one_round(rng, targets=args.targets, latency_ms=args.latency_ms, workdir=Path(tmp))
            killed += not r.finished_before_kill
            before_plan += r.before_plan
            if r.problems:
                failed += 1
                print(
                    f"round {n}: killed after {r.killed_after_s:.3f} s: "
                    + "; ".join(r.problems[:5])
                )
    took = time.monotonic() - start
    print(
        f"{args.runs} rounds of a {args.targets}-user block in {took:.0f} s: {killed} killed "
        f"mid-run ({before_plan} before the plan was journaled), {failed} failed"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
