"""No terminal, a dumb terminal, and quitting with work in flight (issue 9 items 4/7, 8.5)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.pty_app import PtyApp

pytestmark = pytest.mark.pty


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "c"),
        XDG_DATA_HOME=str(home / "d"),
        XDG_STATE_HOME=str(home / "s"),
        XDG_CACHE_HOME=str(home / "k"),
    )
    return env


@pytest.mark.parametrize("redirect", ["stdin", "stdout"])
def test_without_a_terminal_it_says_so_and_exits_2(tmp_path: Path, redirect: str) -> None:
    out = tmp_path / "out.txt"
    with out.open("wb") as sink:
        proc = subprocess.run(
            [sys.executable, "-m", "console", "--demo"],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.PIPE,
            env=_env(tmp_path),
            timeout=30,
            check=False,
        )
    assert proc.returncode == 2
    assert b"standard input is not a terminal" in proc.stderr
    assert b"\x1b" not in out.read_bytes()  # no escape codes written into the file


def test_term_dumb_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    with PtyApp(tmp_path, "--demo", "--users", "300", env={"TERM": "dumb"}) as app:
        assert app.wait_exit(timeout=20) == 2
        app.wait_for("TERM=dumb cannot draw", timeout=5)


def test_quitting_ends_the_process_while_requests_are_slow(
    tmp_path: Path,
) -> None:
    # Every drill request takes 400 ms: loads are in flight in worker threads when y is sent.
    # Before the fix the process never exited (threads kept it alive); the bound below only
    # tells "exits" from "hangs" on a loaded machine, it is not a speed target.
    with PtyApp(tmp_path, "--demo", "--users", "300", "--latency-ms", "400") as app:
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None, timeout=30)
        app.write("q")
        app.wait_for("Quit now?")
        time.sleep(0.3)  # a deliberate answer, not part of the q burst
        app.write("y")
        assert app.wait_exit(timeout=15) == 0
        assert "Traceback" not in app.raw.decode(errors="replace")


def test_term_screen_sixteen_colours_runs_and_shows_help(tmp_path: Path) -> None:
    # TERM=screen (tmux/screen without 256-colour support): Rich falls back to 16 colours.
    env = {"TERM": "screen", "COLORTERM": ""}
    with PtyApp(tmp_path, "--demo", "--users", "300", env=env) as app:
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None, timeout=30)
        app.write("?")
        app.wait_for("Keys (escape closes)")
        assert b"\x1b[38;2;" not in app.raw and b"\x1b[38;5;" not in app.raw  # no 24/8-bit
        app.write("\x1b")
        app.wait_for(lambda s: "Keys (escape closes)" not in s)
        assert "Traceback" not in app.text()
