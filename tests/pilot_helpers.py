"""Helpers shared by the Pilot tests of the panes."""

from __future__ import annotations

from typing import Any

from textual.app import App


def screen_lines(app: App[Any]) -> list[str]:
    """The rendered screen as plain text lines (what reaches the terminal, minus styles)."""
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip) for strip in strips]


async def settle_workers(app: App[Any], pilot: Any) -> None:
    """Let workers finish and their messages land (a few rounds: results start more work)."""
    for _ in range(5):
        await app.workers.wait_for_complete()
        await pilot.pause()
