"""Benchmark: the whole app (headless, driven like a person) loading every user of a drill.

    python -m bench.app_users_load [--users 100000] [--latency-ms 20] [--profile FILE]

Starts one drill (simulated GitLab) with N users and a fixed per-request latency in this process,
then measures against it, in the same run:

* **the app**: ``IncidentConsoleApp`` in a child process (``App.run_test``, 80x24, Pilot),
  started the unattended way (``GITLAB_URL`` + the drill's well-known admin token in
  ``GITLAB_TOKEN``, a throw-away ``HOME``), past the coverage panel (``enter``, as a person
  would), until the users pane says the load is complete (``Loaded N users`` on its status
  line, the title showing N). Timed from the child's first line of Python, so interpreter,
  imports and start-up count;
* **the loader alone**: ``bench.users_load``'s measure (``load_users_blocking`` into a temporary
  store, in a child process);
* **python-gitlab's CLI** with keyset pagination, as ``bench.users_load`` runs it.

The audit and credentials panes' first fetch waits until the users load ends
(``screens.panes.first_fetch``). ``--unheld`` also runs the app with it beside the users load (as
before), to show what their loads cost it; ``--users-only`` with those panes never fetching.

Prints the times, the ratios (CLI / app: target >= 5x; app / loader: the app's overhead) and each
child's peak RSS, and the CPU seconds each of the app's threads had used when the load completed.
``--profile FILE`` profiles the app's UI thread (cProfile, the event loop: rendering and message
handling) from the main screen to the load's end and writes the top functions to FILE. No
thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.users_load import CLI_KEYSET, Measure, _peak_rss_kib, _start_drill, run_cli, run_loader

_ROOT = Path(__file__).resolve().parent.parent
_T0 = time.monotonic()  # the child's first line of Python (imports above are stdlib + bench)


# --------------------------------------------------------------------------- child: the app


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) each live thread of this process has used, by name."""
    import threading

    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        out[thread.name] = out.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def _drive(users: int, cprofile: str | None = None) -> dict[str, Any]:
    """Start the app, pass the coverage panel, wait for the users pane to report the load.

    ``cprofile``: profile the UI thread (the event loop) from the main screen to the load's
    end, and write the statistics there."""
    from console.app import IncidentConsoleApp
    from console.session import Launch
    from screens.coverage import CoverageScreen
    from screens.main import MainScreen
    from screens.panes.users import UsersPane

    app = IncidentConsoleApp(Launch())
    marks: dict[str, float] = {}
    try:
        async with app.run_test(size=(80, 24)) as pilot:

            async def until(predicate: Any, timeout: float = 600.0) -> None:
                # A plain sleep, not pilot.pause: that one queues a callback on every widget
                # of the screen and forces a repaint each time (50 times a second here), work
                # the app never does for a person watching it.
                deadline = time.monotonic() + timeout
                while not predicate():
                    if time.monotonic() > deadline:
                        raise TimeoutError(type(app.screen).__name__)
                    await asyncio.sleep(0.02)

            await until(lambda: isinstance(app.screen, (MainScreen, CoverageScreen)))
            if isinstance(app.screen, CoverageScreen):
                marks["coverage"] = time.monotonic() - _T0
                await pilot.press("enter")
            await until(
                lambda: isinstance(app.screen, MainScreen) and bool(app.screen.query(UsersPane))
            )
            pane = app.screen.query_one(UsersPane)
            marks["main"] = time.monotonic() - _T0
            profiler = None
            if cprofile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            await until(lambda: bool(pane.query("#users-status")))  # composed, not only mounted
            status = pane.query_one("#users-status")

            def status_text() -> str:
                return str(status.render())

            await until(lambda: pane._shown > 0)
            marks["first_rows"] = time.monotonic() - _T0
            done = f"Users {users:,}"
            await until(
                lambda: (
                    status_text().startswith(("Loaded ", "Load "))
                    and (pane.border_title == done or "stopped" in status_text())
                )
            )
            marks["loaded"] = time.monotonic() - _T0
            cpu_loaded = _thread_cpu()
            rss_loaded = _peak_rss_kib()
            if profiler is not None:
                profiler.disable()
                import pstats

                profiler.dump_stats(f"{cprofile}.pstats")  # for pstats' callers/callees
                with open(cprofile or "", "w") as out:
                    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(40)
            line = status_text()
            await until(lambda: "computing risk" not in status_text(), timeout=120)
            marks["risk"] = time.monotonic() - _T0
            rows = pane._total
            timings = dict(pane.timings)
            await pilot.press("q")
    finally:
        app.shutdown()
    return {
        "marks": marks,
        "status": line,
        "rows": rows,
        "timings": timings,
        "peak_rss_loaded_kib": rss_loaded,
        "cpu_loaded": cpu_loaded,
    }


def _other_panes_never_fetch() -> None:
    """Experiment (``--users-only``): the audit and credentials panes never fetch from GitLab
    (their cached rows still show): the users load with nothing else from the other panes."""
    from screens.panes.first_fetch import HeldFirstFetch

    HeldFirstFetch.fetch_first = lambda self: None  # type: ignore[method-assign]


def _other_panes_unheld() -> None:
    """Experiment (``--unheld``): the other panes' first fetch starts beside the users load, as
    before ``screens.panes.first_fetch`` held it back until the load ends."""
    from screens.panes.first_fetch import FirstFetchHold

    FirstFetchHold.may_start = lambda self, key, pane: True  # type: ignore[method-assign]


def _child_app(users: int, profile: str | None, variant: str) -> int:
    if variant == "users-only":
        _other_panes_never_fetch()
    elif variant == "unheld":
        _other_panes_unheld()
    loop = asyncio.new_event_loop()
    out = loop.run_until_complete(_drive(users, profile))
    out["peak_rss_kib"] = _peak_rss_kib()
    print(json.dumps(out), flush=True)
    # Measured: do not wait for the panes' thread workers still running after the load (the
    # audit and credentials fetches, cross-links, risk) to finish, as asyncio.run would.
    os._exit(0)


_LABELS = {
    "": "the app (start to load complete)",
    "users-only": "the app, other panes never fetch",
    "unheld": "the app, other panes not held back",
}


def run_app(
    url: str, token: str, users: int, profile: str | None, *, variant: str = ""
) -> tuple[Measure, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-app-") as home:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "XDG_", "DBUS_"))
        }
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=f"{home}/c",
            XDG_DATA_HOME=f"{home}/d",
            XDG_STATE_HOME=f"{home}/s",
            XDG_CACHE_HOME=f"{home}/k",
            XDG_RUNTIME_DIR=f"{home}/r",
            TEXTUAL_ANIMATIONS="none",
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            GITLAB_URL=url,
            GITLAB_TOKEN=token,
        )  # the drill's token: not a secret
        cmd = [sys.executable, "-m", "bench.app_users_load", "--child-app", "--users", str(users)]
        if profile:
            cmd += ["--profile", str(Path(profile).resolve())]
        if variant:
            cmd.append(f"--{variant}")
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=_ROOT)
        wall = time.monotonic() - started
    if proc.returncode != 0:
        return Measure("the app", users, 0, wall, False, proc.stderr.strip()[-600:]), {}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    seconds = data["marks"]["loaded"]
    ok = data["rows"] == users and data["status"].startswith("Loaded ")
    note = f"status: {data['status'][:90]}"
    label = _LABELS[variant]
    return Measure(
        label, users, data["rows"], seconds, ok, note, peak_rss_mb=data["peak_rss_kib"] / 1024
    ), data


# --------------------------------------------------------------------------- driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.app_users_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI (app and loader)")
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the app's UI thread during the load"
    )
    parser.add_argument(
        "--users-only",
        action="store_true",
        help="also run the app with the audit and credentials panes never fetching "
        "(what is left of the app beside the users load)",
    )
    parser.add_argument(
        "--unheld",
        action="store_true",
        help="also run the app with the other panes' first fetch beside the users load "
        "(as before it was held back until the load ends)",
    )
    parser.add_argument("--child-app", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_app:
        variant = "users-only" if args.users_only else "unheld" if args.unheld else ""
        return _child_app(args.users, args.profile, variant)

    server, url, token, boot = _start_drill(args.users, args.latency_ms)
    print(
        f"drill: {args.users} users, {args.latency_ms:g} ms latency per request, "
        f"started in {boot:.1f} s",
        flush=True,
    )
    try:
        app, detail = run_app(url, token, args.users, args.profile)
        alone = (
            run_app(url, token, args.users, None, variant="users-only")[0]
            if args.users_only
            else None
        )
        unheld = run_app(url, token, args.users, None, variant="unheld")[0] if args.unheld else None
        loader = run_loader(url, token, args.users)
        cli = None if args.no_cli else run_cli(url, token, args.users, *CLI_KEYSET)
    finally:
        server.stop()
    print()
    extra = [m for m in (alone, unheld) if m is not None]
    for m in [app, *extra, loader] + ([cli] if cli else []):
        rss = f"{m.peak_rss_mb:6.0f} MiB" if m.peak_rss_mb else "       -  "
        print(
            f"{m.label:<38} {m.rows:>7} rows {m.seconds:7.2f} s  peak RSS {rss}  "
            f"{'ok' if m.ok else 'NOT OK'}"
        )
        if m.note:
            print(f"    {m.note}")
    if detail:
        marks, timings = detail["marks"], detail["timings"]
        load = timings.get("load", 0.0)
        print()
        print(
            "the app, seconds from process start: "
            + ", ".join(f"{k} {v:.2f}" for k, v in marks.items())
        )
        print(
            f"the app's load phase (r pressed to UsersLoaded handled): {load:.2f} s; "
            f"first rows {timings.get('first_rows', 0.0):.2f} s into it"
        )
        cpu = sorted(detail["cpu_loaded"].items(), key=lambda kv: -kv[1])
        print(
            "the app's CPU seconds by thread when the load completed: "
            + ", ".join(f"{name} {sec:.1f}" for name, sec in cpu[:6] if sec >= 0.05)
        )
        print(
            f"the app's peak RSS when the load completed: "
            f"{detail['peak_rss_loaded_kib'] / 1024:.0f} MiB (the rest came after: risk)"
        )
    print()
    if app.ok and loader.ok:
        print(
            f"app / loader alone: {app.seconds / loader.seconds:5.2f}x  "
            f"({app.seconds:.1f} s vs {loader.seconds:.1f} s; the app's start-up included)"
        )
        if detail:
            phase = detail["timings"]["load"] / loader.seconds
            print(f"app load phase / loader alone: {phase:5.2f}x")
    if alone is not None and alone.ok and loader.ok:
        print(
            f"app with other panes never fetching / loader alone: "
            f"{alone.seconds / loader.seconds:5.2f}x"
        )
    if unheld is not None and unheld.ok and loader.ok:
        print(
            "app with other panes not held back / loader alone: "
            f"{unheld.seconds / loader.seconds:5.2f}x"
        )
    if cli is not None:
        for m, what in ((alone, "never fetching"), (unheld, "not held back")):
            if m is not None and m.ok and cli.ok:
                print(
                    f"(the app with other panes {what} vs the CLI: {cli.seconds / m.seconds:5.1f}x)"
                )
        if cli.ok and app.ok:
            print(
                f"SPEED-UP of the app vs {cli.label}: {cli.seconds / app.seconds:5.1f}x  "
                f"({cli.seconds:.1f} s vs {app.seconds:.1f} s; target >= 5x)"
            )
        if cli.ok and loader.ok:
            print(f"SPEED-UP of the loader alone vs the CLI: {cli.seconds / loader.seconds:5.1f}x")
        if not cli.ok:
            print("the CLI did not finish: no ratio")
    return 0 if app.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
