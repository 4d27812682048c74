"""Unattended start: GITLAB_URL/GITLAB_TOKEN, no D-Bus session, real panes, a drill instance.

The issue's acceptance: the console starts, lists users, and its coverage panel says the token
is not stored — and the keyring is never consulted (conftest pins it to the failing backend, so
any lookup would surface as an error screen).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from console.app import IncidentConsoleApp
from console.session import Launch
from screens.coverage import CoverageScreen
from screens.panes.users import UsersPane
from tests.pilot_helpers import reach_main, run_app, screen_text, until


def test_env_token_without_dbus_lists_users_and_says_not_stored(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "DBUS_SESSION_BUS_ADDRESS" not in os.environ
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", type(drill).ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        # the token was consumed and scrubbed from the environment (children never see it)
        assert "GITLAB_TOKEN" not in os.environ
        pane = main.pane("users")
        assert isinstance(pane, UsersPane)
        await until(pilot, lambda: "root" in screen_text(app), timeout=30)
        await until(pilot, lambda: "2,000" in str(pane.border_title), timeout=30)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CoverageScreen))
        text = screen_text(app)
        assert "not stored" in text and "GITLAB_TOKEN" in text
        assert type(drill).ADMIN_TOKEN not in text

    run_app(app, script)
