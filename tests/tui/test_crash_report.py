"""The crash report (``screens.crash_report``): redacted, and quiet about quitting's races."""

from __future__ import annotations

import asyncio

import pytest
from textual.css.query import NoMatches

from screens.crash_report import CrashReport


def test_an_error_is_reported_in_one_redacted_line_with_status_1() -> None:
    async def run() -> None:
        app = CrashReport()
        shown = ""
        with pytest.raises(RuntimeError):  # the test harness re-raises what the app reported
            async with app.run_test() as pilot:
                await pilot.pause()
                app._handle_exception(RuntimeError("token glpat-" + "x" * 20 + " leaked"))
                shown = " ".join(str(r) for r in app._exit_renderables)
                await pilot.pause()
        assert app.return_code == 1
        assert "stopped after an internal error: RuntimeError" in shown
        assert "glpat-xxxx" not in shown

    asyncio.run(run())


def test_a_pane_mounting_while_the_app_quits_is_no_crash() -> None:
    """A pane still mounting when the responder quit finds its children gone: ``NoMatches``
    from its ``on_mount``. Quitting ends with status 0 and no error on the terminal."""

    async def run() -> None:
        app = CrashReport()
        async with app.run_test() as pilot:
            await pilot.pause()
            app.exit()
            app._handle_exception(NoMatches("No nodes match '#journal-filter'"))
        assert app.return_code == 0
        assert not app._exit_renderables

    asyncio.run(run())


def test_the_same_error_before_quitting_is_reported() -> None:
    async def run() -> None:
        app = CrashReport()
        with pytest.raises(NoMatches):
            async with app.run_test() as pilot:
                await pilot.pause()
                app._handle_exception(NoMatches("No nodes match '#x'"))
                await pilot.pause()
        assert app.return_code == 1

    asyncio.run(run())
