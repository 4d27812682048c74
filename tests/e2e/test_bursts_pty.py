"""Bursts of keys sent to the real console in ONE write reach the widget they address.

Each test starts ``incident-console --demo`` in a pseudo-terminal (80x24, xterm-256color,
private XDG directories) and writes bursts the way a paste or a laggy SSH packet delivers them;
the screen is read back through a terminal emulator (``tests/e2e/pty_app.py``).  Issue 9 item 1.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from tests.e2e.pty_app import PtyApp

pytestmark = pytest.mark.pty

CRASH_WORDS = ("internal error", "Traceback")


def _root_row(app: PtyApp) -> str:
    return next(line for line in app.text().splitlines() if re.search(r"\b1 root\b", line))


def _no_crash(screen: str) -> None:
    for word in CRASH_WORDS:
        assert word not in screen


def test_search_burst_then_review_audit_keys_and_quit(tmp_path: Path) -> None:
    with PtyApp(tmp_path, "--demo", "--users", "300") as app:
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None)
        # The stop check's burst: "/" and a name containing "a" in one write.
        app.write("/zzadm")
        screen = app.wait_for("search zzadm")
        assert "Actions for" not in screen
        assert any(line.strip("│ ").startswith("zzadm") for line in screen.splitlines())
        # Escape leaves the box; X clears the search: back to the full list.
        app.write("\x1b")
        app.settle(0.3)
        app.write("X")
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None)

        # "cncn": c marks root, n moves on; nothing ends up typed into a note box.
        app.write("cncn")
        app.wait_for("root ✓")
        screen = app.settle(1.0)
        assert "✓" in _root_row(app)
        for _ in range(3):  # this pane asks for a note after each single mark...
            if "Optional note" not in screen:
                break
            # ... and such a box appeared after the burst: none of its keys were typed in it
            # (the placeholder only shows while the box is empty).
            assert "Optional note (why)" in screen
            app.write("\x1b")
            screen = app.settle(0.5)
        assert "Optional note" not in screen

        # "2t": the Audit pane, then its tokens category, not a users-pane key.
        app.write("2t")
        screen = app.wait_for("only: TOKEN")
        assert "Audit events" in screen
        _no_crash(screen)

        # "qi": q asks (work is in flight) or quits; the i never edits the incident under it.
        app.write("qi")
        try:
            screen = app.wait_for("Quit now?", timeout=5)
        except AssertionError:
            screen = app.text()
            assert app.proc.poll() is not None, screen  # quit at once: nothing was in flight
        _no_crash(screen)
        if app.proc.poll() is None:
            screen = app.settle(0.5)
            assert "Quit now?" in screen
            assert "Incident\n" not in screen and "ctrl+s" not in screen
            app.write("y")
        assert app.wait_exit(timeout=5) == 0


def test_typeahead_before_the_list_and_a_burst_during_a_reload(tmp_path: Path) -> None:
    # NO_COLOR as many jump hosts set it: the monochrome paint path must hold too.
    with PtyApp(tmp_path, "--demo", "--users", "300", env={"NO_COLOR": "1"}) as app:
        app.write("/alice\r")  # before anything is on screen: must not be lost
        screen = app.wait_for("search alice")
        assert "Actions for" not in screen
        app.write("X")
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None)
        app.write("r")  # reload users from the drill, then type while it loads
        app.write("/bwilson\r")
        screen = app.wait_for(lambda s: "search bwilson" in s and "Ben Wilson" in s)
        assert "Actions for" not in screen
        _no_crash(screen)
        app.settle(0.5)
        _no_crash(app.text())
        assert app.proc.poll() is None


def test_a_burst_neither_opens_nor_confirms_an_action(tmp_path: Path) -> None:
    with PtyApp(tmp_path, "--demo", "--users", "300") as app:
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None)
        # "a" (the actions menu) and "y" in the same write: the menu does not open.
        app.write("ay")
        screen = app.wait_for("Ignored 'a'")
        assert "Actions for" not in screen and "plan" not in screen
        app.wait_for(lambda s: "Ignored" not in s, timeout=10)
        # "!" (Contain) with the keys after it in one write: nothing opens either.
        app.write("!y")
        screen = app.wait_for("Ignored '!'")
        assert "Contain" not in screen.split("Ignored")[0]
        # "a" on its own opens the menu; enter and "y" in one write then choose nothing.
        app.settle(0.3)
        app.write("a")
        app.wait_for("Actions for 1 user")
        app.write("\ry")
        screen = app.settle(0.6)
        assert "Actions for 1 user" in screen  # still on the menu: enter and y were dropped
        assert "plan" not in screen and "Type y" not in screen
        app.write("\x1b")
        app.wait_for(lambda s: "Actions for" not in s)
        assert "active" in _root_row(app)

        # y copies the highlighted username through the terminal clipboard (OSC 52).
        app.settle(0.3)
        app.write("y")
        app.wait_for("Copied root")
        assert b"\x1b]52;c;" + base64.b64encode(b"root") in app.raw

        # ":audit" + enter in one write is a command, not keys for the users pane.
        app.write(":audit\r")
        app.wait_for("╭─ Audit events")
        app.write("\t")  # tab: the next pane, with its list focused
        app.wait_for("╭─ Credentials")
        app.write("\x1b[Z")  # shift+tab: back
        app.wait_for("╭─ Audit events")
        app.write(":q\r")
        try:
            app.wait_for("Quit now?", timeout=5)
            app.write("y")
        except AssertionError:
            pass
        assert app.wait_exit(timeout=5) == 0
