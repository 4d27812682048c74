"""Columns of the virtual table and how they fit a terminal's width.

On narrow terminals the columns with the highest ``priority`` number are hidden first, so the
table always fits (80 columns included); spare width goes to the flexible columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.style import Style
from rich.text import Span, Text

__all__ = ["Column", "fit_columns", "without_colour"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a :class:`VirtualTable`.

    Attributes:
        key: The column's key: the cell dict key and the sort key reported in messages.
        label: Header text (our own text, never server data).
        width: Preferred width in cells.
        priority: 0 = always shown; larger numbers are hidden first when the terminal is narrow.
        justify: Cell alignment.
        flex: Share of any spare width (0 = fixed width).
    """

    key: str
    label: str
    width: int
    priority: int = 0
    justify: Literal["left", "right"] = "left"
    flex: int = 0


def without_colour(text: Text) -> Text:
    """A copy of ``text`` keeping bold/dim/reverse/underline but no foreground or background.

    Under ``NO_COLOR`` Textual turns every colour into a grey of the same luminance: "bold red"
    (a high risk score, a blocked state, ADM) comes out as dark grey on a dark background and
    can hardly be read. Without its colours the cell is drawn in the text colour instead, and
    bold still marks what matters.
    """

    def strip(style: str | Style) -> Style:
        parsed = Style.parse(style) if isinstance(style, str) else style
        return parsed.without_color

    out = text.copy()
    out.style = strip(out.style)
    out.spans = [Span(span.start, span.end, strip(span.style)) for span in out.spans]
    return out


def fit_columns(
    columns: Sequence[Column], available: int, *, overhead: int = 1
) -> list[tuple[Column, int]]:
    """Choose and size the columns that fit ``available`` cells, in their original order.

    Each shown column costs its width plus ``overhead`` cells (a separator, or a ``DataTable``'s
    cell padding on both sides).  Columns are taken by ascending ``priority`` (ties: left to
    right) while they fit; spare cells go to the ``flex`` columns (or to the last column).

    Returns:
        ``(column, width)`` pairs, widths excluding the overhead.
    """
    order = sorted(range(len(columns)), key=lambda i: (columns[i].priority, i))
    chosen: set[int] = set()
    used = 0
    for index in order:
        need = columns[index].width + overhead
        if used + need <= available:
            chosen.add(index)
            used += need
    shown = [columns[i] for i in sorted(chosen)]
    widths = [column.width for column in shown]
    spare = available - used
    if spare > 0 and shown:
        flex_total = sum(column.flex for column in shown)
        if flex_total:
            flexed = [n for n, column in enumerate(shown) if column.flex]
            given = 0
            for rank, n in enumerate(flexed):
                share = (
                    spare - given
                    if rank == len(flexed) - 1
                    else spare * shown[n].flex // flex_total
                )
                widths[n] += share
                given += share
        else:
            widths[-1] += spare
    return list(zip(shown, widths, strict=True))
