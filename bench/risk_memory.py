"""Benchmark: risk scoring's peak RSS with a drill's users and audit events stored.

    python -m bench.risk_memory [--users 100000] [--days 30] [--score-from DIR]

Starts a drill (simulated GitLab, no added latency), and in child processes:

* **fill**: loads every user and the last ``--days`` of audit events (about one sign-in per
  user, 103,000 events at 100,000 users) into a temporary store, as the users and audit panes
  do;
* **score**: opens that store and runs ``compute_and_store_risk`` once, as the users pane does
  after the audit pane's load (``AuditEventsCached``), and reports its peak RSS (``VmHWM``: the
  child's own, imports included) and the seconds it took.

``--score-from DIR`` runs the score child from another checkout (``DIR``, e.g. an older commit
unpacked with ``git archive``) on the same store, for a before/after. No thresholds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.users_load import _peak_rss_kib, _start_drill

_ROOT = Path(__file__).resolve().parent.parent


def _fill(req: dict[str, str]) -> dict[str, object]:
    from datetime import datetime

    from console.audit.load import load_events_blocking
    from console.config import ConnectionConfig
    from console.secret import Secret
    from console.store import Store
    from console.users_load import load_users_blocking

    store = Store.open(Path(req["db"]))
    start, end = datetime.fromisoformat(req["start"]), datetime.fromisoformat(req["end"])
    inc = store.create_incident(
        "bench", "compromised-instance", None, req["url"], req["start"], req["end"]
    )
    config = ConnectionConfig(url=req["url"], timeout=60.0)
    users = load_users_blocking(config, Secret(req["token"]), store, inc.id)
    events = load_events_blocking(
        config, Secret(req["token"]), store, inc.id, (start, end), now=end
    )
    out = {"incident": inc.id, "users": store.count_users(inc.id)}
    out["events"] = store.count_events(inc.id)
    problem = users.problem or events.problem
    out["problem"] = problem.one_line() if problem else None
    store.close()
    return out


def _score(req: dict[str, str]) -> dict[str, object]:
    from console.risk import compute_and_store_risk
    from console.store import Store

    store = Store.open(Path(req["db"]))
    incident = int(req["incident"])
    before = _peak_rss_kib()
    started = time.monotonic()
    risks = compute_and_store_risk(store, incident)
    seconds = time.monotonic() - started
    store.close()
    digest = hashlib.sha256(json.dumps(sorted(risks.items())).encode()).hexdigest()[:12]
    return {
        "digest": digest,
        "scored": len(risks),
        "flagged": sum(1 for score, _ in risks.values() if score),
        "seconds": seconds,
        "rss_before_mib": before / 1024,
        "peak_rss_mib": _peak_rss_kib() / 1024,
    }


def _run(what: str, req: dict[str, object], cwd: Path = _ROOT) -> dict[str, object]:
    if cwd == _ROOT:
        cmd = [sys.executable, "-m", "bench.risk_memory", f"--child-{what}"]
    else:  # another checkout: only its console package, this script's child code
        code = (
            f"import json, sys; sys.path.insert(0, {str(cwd)!r}); "
            f"sys.path.insert(1, {str(_ROOT)!r}); "
            "import bench.risk_memory as b; "
            f"print(json.dumps(b._{what}(json.loads(sys.stdin.read()))))"
        )
        cmd = [sys.executable, "-c", code]
    proc = subprocess.run(
        cmd, input=json.dumps(req), capture_output=True, text=True, check=False, cwd=cwd
    )
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed: {proc.stderr.strip()[-800:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--score-from", metavar="DIR", help="also score from this checkout")
    ap.add_argument("--child-fill", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-score", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_fill or args.child_score:
        req = json.loads(sys.stdin.read())
        print(json.dumps(_fill(req) if args.child_fill else _score(req)))
        return 0
    server, url, token, boot = _start_drill(args.users, 0.0)
    print(f"drill: {args.users:,} users, started in {boot:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-risk-") as tmp:
        try:
            end = server.state.current_time().replace(microsecond=0)
            start = end - timedelta(days=min(args.days, 30))
            req: dict[str, object] = {
                "db": str(Path(tmp) / "bench.db"), "url": url, "token": token,
                "start": start.isoformat(), "end": end.isoformat(),
            }  # fmt: skip
            filled = _run("fill", req)
        finally:
            server.stop()
        print(f"stored: {filled['users']:,} users, {filled['events']:,} audit events", flush=True)
        if filled["problem"]:
            print(f"    {filled['problem']}")
        req["incident"] = filled["incident"]
        runs = [("this checkout", _run("score", req))]
        if args.score_from:
            runs.append((args.score_from, _run("score", req, Path(args.score_from).resolve())))
    for label, r in runs:
        print(
            f"risk from {label}: {r['scored']:,} users scored ({r['flagged']:,} with a reason) "
            f"in {float(str(r['seconds'])):.1f} s; peak RSS {float(str(r['peak_rss_mib'])):.0f} "
            f"MiB (before scoring {float(str(r['rss_before_mib'])):.0f} MiB); scores {r['digest']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
