"""Benchmark: fetch a 30-day window of audit events with our loader and with python-gitlab's CLI.

    python -m bench.audit_load [--users 100000] [--latency-ms 20] [--days 30]

Starts a drill (simulated GitLab) whose seeded history has roughly one sign-in event per user in
the last weeks, with a fixed per-request latency, and measures in the same run:

* our loader (``console.audit.load.load_events_blocking``: concurrent keyset streams into a
  temporary store), in a child process so its peak RSS is its own;
* ``gitlab -o json audit-event list --get-all --per-page 100 --created-after … --created-before …``
  (python-gitlab's CLI, sequential pages) for the same window, through a temporary config file
  holding the drill URL and its well-known, drill-only admin token.

Prints both times, the events each got, the ratio (target ≥ 5x) and our peak RSS. No thresholds
are enforced here or in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.users_load import _cli_binary, _peak_rss_kib

_ROOT = Path(__file__).resolve().parent.parent


def _child() -> int:
    """Run our loader once: {"url", "token", "start", "end"} on stdin, JSON on stdout."""
    from datetime import datetime

    from console.audit.load import load_events_blocking
    from console.config import ConnectionConfig
    from console.secret import Secret
    from console.store import Store

    req = json.loads(sys.stdin.read())
    start, end = datetime.fromisoformat(req["start"]), datetime.fromisoformat(req["end"])
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        inc = store.create_incident("bench", "compromised-instance", None, req["url"], None, None)
        result = load_events_blocking(
            ConnectionConfig(url=req["url"], timeout=60.0), Secret(req["token"]), store,
            inc.id, (start, end), now=end,
        )  # fmt: skip
        stored = store.count_events(inc.id)
        store.close()
    out = {
        "seconds": result.seconds, "stored": stored, "pages": result.pages,
        "pieces": result.pieces, "retries": result.retries,
        "problem": result.problem.one_line() if result.problem else None,
        "peak_rss_mb": _peak_rss_kib() / 1024,
    }  # fmt: skip
    print(json.dumps(out))
    return 0


def _ours(url: str, token: str, start: str, end: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.audit_load", "--child"],
        input=json.dumps({"url": url, "token": token, "start": start, "end": end}),
        capture_output=True, text=True, check=False, cwd=_ROOT,
    )  # fmt: skip
    if proc.returncode != 0:
        return {"problem": proc.stderr.strip()[-400:]}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _cli(url: str, token: str, start: str, end: str) -> tuple[float, int, str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "python-gitlab.cfg"
        fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(
                f"[global]\ndefault = drill\n\n[drill]\nurl = {url}\nprivate_token = {token}\n"
            )
        cmd = [*_cli_binary(), "-c", str(cfg), "-g", "drill", "-o", "json", "audit-event", "list"]
        cmd += ["--get-all", "--per-page", "100", "--created-after", start]
        cmd += ["--created-before", end]
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
    if proc.returncode != 0:
        return seconds, 0, proc.stderr.strip()[-300:]
    return seconds, len(json.loads(proc.stdout or "[]")), None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--days", type=int, default=30, help="window length (≤ 30: one CLI query)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child()
    from console.drill.server import DrillOptions, DrillServer

    print(f"starting a drill with {args.users:,} users, {args.latency_ms:g} ms latency…")
    server = DrillServer(DrillOptions(users=args.users, latency_ms=args.latency_ms))
    server.start()
    try:
        end = server.state.current_time().replace(microsecond=0)
        start = end - timedelta(days=min(args.days, 30))
        iso = {"start": start.isoformat(), "end": end.isoformat()}
        cli_start, cli_end = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in (start, end))
        ours = _ours(server.url, server.ADMIN_TOKEN, iso["start"], iso["end"])
        cli_s, cli_rows, cli_err = _cli(server.url, server.ADMIN_TOKEN, cli_start, cli_end)
    finally:
        server.stop()
    print(f"window: {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC")
    if ours.get("problem"):
        print(f"our loader: FAILED {ours['problem']}")
        return 1
    ours_s = float(str(ours["seconds"]))
    print(
        f"our loader: {ours['stored']:,} events in {ours_s:.1f} s "
        f"({ours['pages']} pages, {ours['pieces']} pieces, {ours['retries']} retries), "
        f"peak RSS {float(str(ours['peak_rss_mb'])):.0f} MB"
    )
    if cli_err:
        print(f"python-gitlab CLI: FAILED {cli_err}")
        return 1
    print(f"python-gitlab CLI (sequential, 100/page): {cli_rows:,} events in {cli_s:.1f} s")
    print(f"ratio: {cli_s / ours_s:.1f}x faster (same window, same drill, same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
