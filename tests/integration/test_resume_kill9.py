"""A real process in a real terminal: move around, ``kill -9`` it, start again, same place.

Runs ``python -m console --demo`` inside a private tmux server at 80x24, moves the user cursor,
switches to the Credentials pane, waits past the debounced UI-state writes, kills the process
with SIGKILL (no cleanup runs), restarts it with the same XDG directories and checks the screen
and the SQLite ui_state.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

REPO = Path(__file__).resolve().parents[2]


class Tmux:
    """One private tmux server (its own socket), so nothing touches the user's sessions."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"ic-kill9-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = env

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout

    def start(self) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        command = (
            f"cd {shlex.quote(str(REPO))} && exec env {exports} "
            f"{shlex.quote(sys.executable)} -m console --demo --users 150"
        )
        subprocess.run(
            ["tmux", "-L", self.socket, "new-session", "-d", "-x", "80", "-y", "24", command],
            check=True,
            timeout=10,
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def pid(self) -> int:
        return int(self.run("display-message", "-p", "#{pane_pid}").strip())

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting; screen was:\n{text}")

    def kill_server(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )


@pytest.fixture
def tmux(isolated_home: Path) -> Iterator[Tmux]:
    names = (
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        "PYTHON_KEYRING_BACKEND",
        "TZ",
        "PATH",
    )
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.update(TERM="screen-256color", TEXTUAL_ANIMATIONS="none")
    server = Tmux(env)
    try:
        yield server
    finally:
        server.kill_server()


def main_screen_ready(text: str) -> bool:
    return " DRILL " in text and "reviewed " in text


def reach_main(tmux: Tmux) -> str:
    text = tmux.wait_for(lambda t: main_screen_ready(t) or "What this token can see" in t)
    if not main_screen_ready(text):
        tmux.keys("Enter")  # the coverage panel, if the drill reports a limitation
        text = tmux.wait_for(main_screen_ready)
    return text


def ui_state(isolated_home: Path) -> dict[str, Any]:
    db = isolated_home / ".local/share/gitlab-incident-console/drill.sqlite"
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT key, value FROM ui_state WHERE incident_id > 0")
        return {key: json.loads(value) for key, value in rows}


def test_kill9_then_restart_returns_to_the_same_pane_and_user(
    tmux: Tmux, isolated_home: Path
) -> None:
    tmux.start()
    reach_main(tmux)
    tmux.wait_for(lambda t: "agarcia" in t)
    tmux.keys("Down", "Down", "Down")  # root → … → agarcia (#4)
    tmux.wait_for(
        lambda t: any(
            line.lstrip("│ ").startswith("▶") and "agarcia" in line for line in t.splitlines()
        )
    )
    tmux.keys("3")
    tmux.wait_for(lambda t: "Credentials" in t.splitlines()[2])
    time.sleep(1.5)  # past every debounced ui_state write

    pid = tmux.pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while tmux.run("list-sessions").strip() and time.monotonic() < deadline:
        time.sleep(0.05)

    state = ui_state(isolated_home)
    assert state["active_pane"] == "credentials"
    assert state["users"]["selected_id"] == 4

    tmux.start()
    text = reach_main(tmux)
    text = tmux.wait_for(lambda t: "Credentials" in t.splitlines()[2])
    assert "Users 150" not in text
    tmux.keys("1")
    text = tmux.wait_for(lambda t: "Users" in t.splitlines()[2] and "agarcia" in t)
    cursor = [line for line in text.splitlines() if line.lstrip("│ ").startswith("▶")]
    assert len(cursor) == 1 and "agarcia" in cursor[0], text
