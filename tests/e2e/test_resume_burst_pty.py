"""A burst typed while ``--demo --resume`` starts reaches the search box, not the list.

The resumed screen shows cached rows while start-up work still runs on the UI loop (the check,
the other panes' first queries); the key gate must wait for ``/`` to move the focus however
slowly the loop runs, or ``a`` of ``/agar`` reaches the list and opens the actions menu.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.pty_app import PtyApp

pytestmark = pytest.mark.pty


def test_resume_typeahead_burst_goes_into_the_search_box(tmp_path: Path) -> None:
    with PtyApp(tmp_path, "--demo", "--users", "300") as app:
        app.wait_for(lambda s: re.search(r"\b1 root\b", s) is not None, timeout=60)
        app.write("q")
        try:
            app.wait_for("Quit now?", timeout=5)
            app.write("y")
        except AssertionError:
            pass
        assert app.wait_exit(timeout=15) == 0
    with PtyApp(tmp_path, "--demo", "--users", "300", "--resume") as app:
        app.write("/garc")  # before anything is on screen: every key for the search box
        screen = app.wait_for("search garc", timeout=60)
        assert "Actions for" not in screen and "Read-only mode" not in screen
        app.wait_for(lambda s: "Ana García" in s)
