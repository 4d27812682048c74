"""Shared setup for the Pilot and snapshot tests of the screens.

Snapshots must be byte-stable: animations are off (tests/conftest.py), the cursor never blinks,
every clock a screen shows comes from the test data, and the drill seed is fixed.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor is drawn or not depending on timing; keep it drawn."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)
