"""Benchmark: time from process start to the first user rows of ``incident-console --demo``.

    python -m bench.startup [--reps 5] [--users 2000]

Each repetition runs, side by side on a pseudo-terminal of 80x24 (``TERM=xterm-256color``),
its output fed to ``pyte`` (the terminal emulator the pty tests use):

* **bare Textual**: a minimal ``App`` that mounts one ``Static`` and exits once painted; timed
  from ``Popen`` until its text is on the emulated screen;
* **--demo (fresh)**: ``python -m console --demo`` in a new ``HOME``: it seeds a drill, creates
  an incident and loads its users; timed until the screen shows a user row (``│ 1 root …``);
* **--demo --resume (cached)**: the same ``HOME`` again: the incident and its users are in the
  store, so rows should appear before any request is answered; timed the same way.

One untimed warm-up of each comes first, so both start from compiled bytecode as an installed
console does. Prints every repetition, the medians and the ratios to the bare app (target: the
fresh demo within 3x). No thresholds.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyte

_ROOT = Path(__file__).resolve().parent.parent
COLUMNS, LINES = 80, 24
BARE_TEXT = "bare textual app painted"
#: A users table row: the border, the cursor or a blank, an id, a username.
USER_ROW = re.compile(r"^│[▶ ]\s+\d+ [\w.-]+\s")


def _bare_app() -> int:
    """The baseline: the least a Textual app does before its first frame."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(BARE_TEXT)

        def on_mount(self) -> None:
            self.call_after_refresh(lambda: self.set_timer(0.2, self.exit))

    Bare().run()
    return 0


def _environment(home: Path) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE goes too: an installed console has its bytecode compiled (pip
    # does it), and so does the bare app's Textual; compiling on every start is not start-up.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "TEXTUAL",
                "COLUMNS",
                "LINES",
                "NO_COLOR",
                "GITLAB_",
                "XDG_",
                "PYTHONDONTWRITEBYTECODE",
            )
        )
    }
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(COLUMNS),
        LINES=str(LINES),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_RUNTIME_DIR=str(home / "run"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def time_until(
    args: list[str], home: Path, seen: re.Pattern[str], timeout: float = 60.0
) -> float | None:
    """Seconds from ``Popen`` until a screen line matches ``seen`` (None: it never did)."""
    screen = pyte.Screen(COLUMNS, LINES)
    stream = pyte.ByteStream(screen)
    master, slave = pty.openpty()
    import fcntl
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_environment(home),
        cwd=_ROOT,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    found: float | None = None
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            stream.feed(data)
            if any(seen.search(line) for line in screen.display):
                found = time.monotonic() - started
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        os.close(master)
    return found


def _median(values: list[float | None]) -> float | None:
    done = [v for v in values if v is not None]
    return statistics.median(done) if len(done) == len(values) and done else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.startup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--users", type=int, default=2000, help="demo drill size")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the demo drill's delay per request (shows what waits on the network)",
    )
    parser.add_argument("--child-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_bare:
        return _bare_app()

    bare_re = re.compile(re.escape(BARE_TEXT))
    demo = [
        "-m",
        "console",
        "--demo",
        "--users",
        str(args.users),
        "--latency-ms",
        f"{args.latency_ms:g}",
    ]
    rows: dict[str, list[float | None]] = {"bare": [], "fresh": [], "resume": []}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:  # untimed: bytecode
        time_until(["-m", "bench.startup", "--child-bare"], Path(tmp), bare_re)
        time_until(demo, Path(tmp), USER_ROW)
    print(f"{'rep':>3} {'bare Textual':>13} {'--demo fresh':>13} {'--demo --resume':>16}")
    for rep in range(1, args.reps + 1):
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            home = Path(tmp)
            rows["bare"].append(time_until(["-m", "bench.startup", "--child-bare"], home, bare_re))
            rows["fresh"].append(time_until(demo, home, USER_ROW))
            rows["resume"].append(time_until([*demo, "--resume"], home, USER_ROW))
        shown = [
            "  never" if v is None else f"{v:7.3f} s"
            for v in (rows["bare"][-1], rows["fresh"][-1], rows["resume"][-1])
        ]
        print(f"{rep:>3} {shown[0]:>13} {shown[1]:>13} {shown[2]:>16}", flush=True)
    bare, fresh, resume = (_median(rows[k]) for k in ("bare", "fresh", "resume"))
    print()
    print(
        "medians: "
        + ", ".join(
            f"{name} {'-' if v is None else f'{v:.3f} s'}"
            for name, v in (
                ("bare Textual", bare),
                ("--demo fresh", fresh),
                ("--demo --resume", resume),
            )
        )
    )
    if bare:
        for name, v in (("--demo fresh", fresh), ("--demo --resume", resume)):
            if v is not None:
                print(
                    f"{name} / bare Textual: {v / bare:4.2f}x  (target for the fresh demo: "
                    "within 3x)"
                )
    return 0 if fresh is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
