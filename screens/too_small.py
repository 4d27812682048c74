"""The notice shown over the console when the terminal is below the minimum size.

Below ``MIN_SIZE`` whole columns of the tables vanish and dialogs are cut without any sign; one
clear line saying how big the window must be is better.  The app lays this notice over whatever
screen is active while the terminal is too small and removes it when it grows back.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

__all__ = ["MIN_SIZE", "TooSmallNotice", "too_small", "update_notice"]

MIN_SIZE = (60, 15)
"""Columns, lines: at 60x15 the users list still shows its key columns and seven rows."""


def too_small(width: int, height: int) -> bool:
    return width < MIN_SIZE[0] or height < MIN_SIZE[1]


class TooSmallNotice(Static):
    """ "Make the window at least 60×15", over the whole screen."""

    DEFAULT_CSS = """
    TooSmallNotice {
        overlay: screen;
        position: absolute;
        offset: 0 0;
        width: 100%;
        height: 100%;
        content-align: center middle;
        text-align: center;
        background: $background;
        color: $text;
    }
    """


def _message(width: int, height: int) -> Text:
    columns, lines = MIN_SIZE
    return Text(
        f"Make the window at least {columns}×{lines} (it is {width}×{height}). ctrl+q quits.",
        style="bold",
    )


def update_notice(screen: Screen[object], width: int, height: int) -> bool:
    """Show, refresh or remove the notice on ``screen`` for a ``width``×``height`` terminal.

    Returns True while the notice is (being) shown.
    """
    notices = list(screen.query(TooSmallNotice))
    if not too_small(width, height):
        for notice in notices:
            notice.remove()
        return False
    if notices:
        notices[0].update(_message(width, height))
    else:
        screen.mount(TooSmallNotice(_message(width, height)))
    return True
