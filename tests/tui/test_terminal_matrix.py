"""Every pane and main dialog under NO_COLOR, 16 and 256 colours and truecolor, dark and light.

Issue 9 item 4. The app runs the demo with its shipped panes; each screen it reaches is painted
through a Rich console of each colour system (what the terminal would receive), so a style that
cannot be downgraded, or a segment without a style under NO_COLOR, fails here. TERM=screen and
TERM=dumb on a real pty are in tests/e2e.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from console.app import IncidentConsoleApp
from screens.actions_menu import ActionsMenuScreen
from screens.coverage import CoverageScreen
from screens.help import HelpScreen
from screens.incidents import IncidentEditScreen
from screens.main import MainScreen
from screens.too_small import TooSmallNotice
from tests.pilot_helpers import demo, reach_main, run_app, until

COLOR_SYSTEMS = ("standard", "256", "truecolor")


def paint(app: IncidentConsoleApp) -> str:
    """The active screen through every colour system; returns the plain text."""
    update = app.screen._compositor.render_update(full=True)
    text = ""
    for system in COLOR_SYSTEMS:
        console = Console(
            file=io.StringIO(),
            width=app.size.width,
            color_system=system,
            force_terminal=True,
            legacy_windows=False,
        )
        console.print(update)
        assert console.file.getvalue()  # type: ignore[attr-defined]
    plain = Console(file=io.StringIO(), width=app.size.width, color_system=None)
    plain.print(update)
    text = plain.file.getvalue()  # type: ignore[attr-defined]
    return text


@pytest.mark.parametrize(
    ("no_color", "theme"),
    [(False, "textual-dark"), (False, "textual-light"), (True, "textual-dark")],
)
def test_every_pane_and_dialog_paints(
    no_color: bool, theme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = IncidentConsoleApp(demo(drill_users=120))

    async def script(pilot: Any) -> None:
        app.theme = theme
        main = await reach_main(pilot)
        assert app.no_color is no_color
        await until(pilot, lambda: "1 root" in paint(app))
        for key, title in (("2", "Audit events"), ("3", "Credentials"), ("1", "Users")):
            await pilot.press(key)
            await until(pilot, lambda t=title: t in paint(app))
        for key, screen_type in (
            ("question_mark", HelpScreen),
            ("v", CoverageScreen),
            ("i", IncidentEditScreen),
            ("a", ActionsMenuScreen),
        ):
            await pilot.press(key)
            await until(pilot, lambda t=screen_type: isinstance(app.screen, t))
            await pilot.pause(0.2)
            assert paint(app).strip()
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is main)
        await pilot.press("colon")
        await pilot.pause(0.1)
        paint(app)
        await pilot.press("escape")
        # Below the minimum size: one notice, not a squeezed table.
        await pilot.resize_terminal(50, 12)
        await until(pilot, lambda: bool(app.screen.query(TooSmallNotice)))
        await until(pilot, lambda: "Make the window at least 60×15" in paint(app))
        # Keys typed at the notice reach nothing underneath: no help, no pane switch, no dialog.
        await pilot.press("question_mark", "2", "a", "colon")
        await pilot.pause(0.2)
        assert app.screen is main and main.active_pane == "users"
        assert not main.query_one("#command-line").display
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: not app.screen.query(TooSmallNotice))
        assert isinstance(app.screen, MainScreen)

    run_app(app, script)
