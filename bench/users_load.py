"""Benchmark: load every user of a drill instance with our loader and with python-gitlab's CLI.

    python -m bench.users_load [--users 100000] [--latency-ms 20] [--cli-max 50000] [--no-cli]

Starts a drill (simulated GitLab) with N users and a fixed per-request latency, then measures in
the same run:

* our loader (``console.users_load.load_users_blocking``) into a temporary store, in a child
  process so its peak RSS is its own (the drill server lives in this process);
* ``gitlab -o json user list --get-all`` (python-gitlab's CLI) against the same drill, using a
  temporary python-gitlab config file (``-c FILE -g drill``) that holds the drill URL and the
  drill's well-known admin token (the drill is local; no real token is involved). Also the CLI
  with ``--per-page 100`` and with keyset pagination, to compare against its best settings.

GitLab refuses offset pagination past 50,000 rows (HTTP 405); the drill does the same. When N is
above ``--cli-max`` the CLI cannot list everything, so a second drill with ``--cli-max`` users
is started and both tools are compared there too; the report says which numbers are which.

Prints times, rows, the speed-up (per-user throughput ratio; target ≥ 5x), time to the first
stored page and the loader's peak RSS. No thresholds are enforced here or in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OFFSET_LIMIT = 50_000


@dataclass
class Measure:
    label: str
    users: int
    rows: int
    seconds: float
    ok: bool
    note: str = ""
    first_page_s: float | None = None
    peak_rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- child: our loader


def _peak_rss_kib() -> int:
    """Peak RSS of this process image in KiB.

    Linux's ``ru_maxrss`` survives ``exec``: a child forked from the (large) drill process would
    report the parent's size. ``VmHWM`` in /proc/self/status belongs to the current image.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child_loader() -> int:
    """Run the loader once; read {"url", "token", "users"} from stdin, print JSON to stdout."""
    request = json.loads(sys.stdin.read())
    from console.config import ConnectionConfig
    from console.secret import Secret
    from console.store import Store
    from console.users_load import LoadProgress, load_users_blocking

    rss_before = _peak_rss_kib()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        incident = store.create_incident(
            "bench", "compromised-instance", None, request["url"], None, None
        )
        updates: list[int] = []

        def progress(p: LoadProgress) -> None:
            updates.append(p.loaded)

        config = ConnectionConfig(url=request["url"], timeout=60.0)
        result = load_users_blocking(
            config, Secret(request["token"]), store, incident.id, on_progress=progress
        )
        stored = store.count_users(incident.id)
        store.close()
    peak = _peak_rss_kib()
    print(
        json.dumps(
            {
                "loaded": result.loaded,
                "stored": stored,
                "pages": result.pages,
                "seconds": result.seconds,
                "first_page_seconds": result.first_page_seconds,
                "single_stream": result.single_stream,
                "partitions": result.partitions,
                "splits": result.splits,
                "fell_back": result.fell_back,
                "skipped": result.skipped,
                "problem": result.problem.one_line() if result.problem else None,
                "progress_updates": len(updates),
                "peak_rss_kib": peak,
                "rss_before_kib": rss_before,
            }
        )
    )
    return 0


def run_loader(url: str, token: str, users: int) -> Measure:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.users_load", "--child-loader"],
        input=json.dumps({"url": url, "token": token, "users": users}),
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        return Measure("our loader", users, 0, wall, False, proc.stderr.strip()[-400:])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    ok = data["problem"] is None and data["stored"] == users and data["loaded"] == users
    note = f"{data['pages']} pages, {data['progress_updates']} progress updates"
    if data.get("skipped"):
        note += f", {data['skipped']} odd records skipped"
    if data.get("partitions"):
        note += f", {data['partitions']} creation-time slices ({data['splits']} split)"
    else:
        note += ", two id streams"
    if data.get("fell_back"):
        note += " (slices abandoned: filters ignored)"
    if data["single_stream"]:
        note += ", server ignored sort: single stream"
    if data["problem"]:
        note += f", problem: {data['problem']}"
    if data["stored"] != users:
        note += f", stored {data['stored']} of {users}"
    return Measure(
        "our loader",
        users,
        int(data["stored"]),
        float(data["seconds"]),
        ok,
        note,
        data["first_page_seconds"],
        data["peak_rss_kib"] / 1024,
    )


# --------------------------------------------------------------------------- python-gitlab CLI


def _cli_binary() -> list[str]:
    candidate = Path(sys.executable).with_name("gitlab")
    if candidate.exists():
        return [str(candidate)]
    return [sys.executable, "-m", "gitlab"]


def run_cli(
    url: str, token: str, users: int, label: str, extra: list[str], tail: list[str]
) -> Measure:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        cfg = Path(tmp) / "python-gitlab.cfg"
        fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(
                "[global]\ndefault = drill\ntimeout = 120\n\n"
                f"[drill]\nurl = {url}\nprivate_token = {token}\napi_version = 4\n"
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITLAB_")}
        env["HOME"] = tmp
        cmd = [*_cli_binary(), "-c", str(cfg), "-g", "drill", *extra, "-o", "json"]
        cmd += ["user", "list", "--get-all", *tail]
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        seconds = time.monotonic() - started
    rows = 0
    note = ""
    if proc.returncode == 0:
        try:
            body: Any = json.loads(proc.stdout)
            ids = {item["id"] for item in body}
            rows = len(ids)
            if rows != len(body):
                note = f"{len(body) - rows} duplicate rows"
        except (ValueError, KeyError, TypeError) as exc:
            note = f"unparseable output: {exc}"
    else:
        note = f"exit {proc.returncode}: " + " ".join(proc.stderr.split())[-300:]
    ok = proc.returncode == 0 and rows == users
    shown = " ".join(["gitlab", *extra, "user list --get-all", *tail])
    return Measure(label, users, rows, seconds, ok, (shown + "; " + note).strip("; "))


# --------------------------------------------------------------------------- driver


def _start_drill(users: int, latency_ms: float) -> tuple[Any, str, str, float]:
    from console.drill.server import DrillOptions, DrillServer

    started = time.monotonic()
    server = DrillServer(DrillOptions(users=users, latency_ms=latency_ms))
    url = server.start()
    return server, url, DrillServer.ADMIN_TOKEN, time.monotonic() - started


def _print_table(measures: list[Measure]) -> None:
    print(f"{'tool':<34} {'users':>7} {'rows':>7} {'seconds':>8} {'users/s':>9} {'ok':>3}")
    for m in measures:
        print(
            f"{m.label:<34} {m.users:>7} {m.rows:>7} {m.seconds:>8.2f} {m.rate:>9.0f} "
            f"{'yes' if m.ok else 'NO':>3}"
        )
        if m.note:
            print(f"    {m.note}")


def _measure_on(
    users: int, latency_ms: float, cli: list[tuple[str, list[str], list[str]]]
) -> list[Measure]:
    server, url, token, boot = _start_drill(users, latency_ms)
    print(f"drill: {users} users, {latency_ms:g} ms latency per request, started in {boot:.1f} s")
    try:
        results = [run_loader(url, token, users)]
        for label, extra, tail in cli:
            results.append(run_cli(url, token, users, label, extra, tail))
    finally:
        server.stop()
    return results


CliSpec = tuple[str, list[str], list[str]]  # label, global options, ``user list`` options
CLI_DEFAULT: CliSpec = ("python-gitlab CLI (defaults)", [], [])
CLI_PER_PAGE: CliSpec = ("python-gitlab CLI (--per-page 100)", [], ["--per-page", "100"])
CLI_KEYSET: CliSpec = (
    "python-gitlab CLI (keyset, 100/page)",
    ["--pagination", "keyset", "--order-by", "id"],
    ["--per-page", "100"],
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.users_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--cli-max",
        type=int,
        default=OFFSET_LIMIT,
        help="size of the second drill when --users exceeds it (offset pagination limit)",
    )
    parser.add_argument("--no-cli", action="store_true", help="measure only our loader")
    parser.add_argument("--child-loader", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_loader:
        return _child_loader()

    if args.no_cli:
        measures = _measure_on(args.users, args.latency_ms, [])
        _print_table(measures)
        _print_loader(measures[0])
        return 0 if measures[0].ok else 1

    big = args.users > args.cli_max
    first = _measure_on(
        args.users, args.latency_ms, [CLI_DEFAULT, CLI_KEYSET] + ([] if big else [CLI_PER_PAGE])
    )
    second: list[Measure] = []
    if big:
        print(
            f"--users {args.users} is above {args.cli_max}: measuring a second drill of "
            f"{args.cli_max} users, where offset pagination still works."
        )
        second = _measure_on(args.cli_max, args.latency_ms, [CLI_DEFAULT, CLI_PER_PAGE])
    print()
    _print_table(first + second)
    print()
    ours = first[0]
    _print_loader(ours)
    print()
    _print_ratios(first, second)
    return 0 if ours.ok else 1


def _ratio_line(fast: Measure, slow: Measure) -> str:
    where = f"{slow.label} @ {slow.users}"
    if not slow.ok:
        return f"  vs {where}: the CLI did not finish ({slow.rows} rows) - no ratio"
    if not (fast.ok and fast.rate and slow.rate):
        return f"  vs {where}: our loader did not finish - no ratio"
    if fast.users == slow.users:
        return (
            f"  vs {where}: {slow.seconds / fast.seconds:5.1f}x  "
            f"({slow.seconds:.1f} s vs {fast.seconds:.1f} s, same instance)"
        )
    return (
        f"  vs {where}: {fast.rate / slow.rate:5.1f}x  (users/s: {fast.rate:.0f} at "
        f"{fast.users} vs {slow.rate:.0f} at {slow.users})"
    )


def _print_ratios(first: list[Measure], second: list[Measure]) -> None:
    """The speed-ups, our loader against each CLI variant (target: at least 5x)."""
    ours = first[0]
    print(f"SPEED-UP of our loader @ {ours.users} (wall time on the same instance; target >= 5x)")
    for other in first[1:]:
        print(_ratio_line(ours, other))
    if second:
        small = second[0]
        print(f"SPEED-UP at {small.users} users, where offset pagination still works")
        for other in second[1:]:
            print(_ratio_line(small, other))
        for other in second[1:]:
            if other.ok:
                print(
                    _ratio_line(ours, other).replace("  vs", f"  throughput @ {ours.users} vs", 1)
                )


def _print_loader(ours: Measure) -> None:
    if ours.first_page_s is not None:
        shown = ours.first_page_s * 1000
        print(f"our loader @ {ours.users}: first page stored after {shown:.0f} ms")
    if ours.peak_rss_mb is not None:
        print(
            f"our loader @ {ours.users}: peak RSS {ours.peak_rss_mb:.0f} MiB "
            "(child process, interpreter and imports included)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
