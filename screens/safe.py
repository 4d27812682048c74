"""The only bridge from :class:`console.sanitize.Clean` to Rich ``Text``.

Every server string that reaches a widget goes through :func:`safe_text` (free text, detail
views) or :func:`safe_cell` (one-line table cells).  Both build ``rich.text.Text`` with the plain
constructor, never ``Text.from_markup``, so ``[@click=app.quit]`` or ``bob[/b]`` is shown as typed
and can neither run an action nor crash the renderer.

When the sanitiser flagged a value, the visible stand-ins it inserted (``␛``, ``\\x9b``,
``⟨U+202E⟩``, ``⏎``…) are styled as warnings and a ``⚠`` marker is appended, so a responder sees at
a glance that a username or token name is hostile.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from rich.style import Style
from rich.text import Text

from console.sanitize import Clean, Kind, clean, flag_labels

__all__ = [
    "EMPTY",
    "FLAG_MARKER",
    "STANDIN_STYLE",
    "WARN_STYLE",
    "flag_summary",
    "safe_cell",
    "safe_clean",
    "safe_text",
]

FLAG_MARKER: Final = "⚠"
EMPTY: Final = "—"
WARN_STYLE: Final = Style(color="yellow", bold=True)
STANDIN_STYLE: Final = Style(color="black", bgcolor="yellow")
_EMPTY_STYLE: Final = Style(dim=True)

# The stand-ins console.sanitize inserts: control pictures (U+2400-U+2421), ⏎ and ⇥, the
# four-character ``\x9b`` form of C1 controls, ``⟨U+XXXX⟩`` code-point tokens and the
# ``⟨+N marks⟩`` zalgo token.
_STANDIN: Final = re.compile(
    r"[\u2400-\u2421\u23ce\u21e5]|\\x[0-9a-f]{2}|\u27e8(?:U\+[0-9A-F]{4,6}|\+\d+ marks)\u27e9"
)

# Last line of defence: anything a terminal would interpret must never reach a Strip, even if the
# sanitiser had a bug.  C0 except newline/tab, DEL, C1, bidi controls and zero-width characters.
_RESIDUAL: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def _residual_scrub(text: str) -> str:
    return _RESIDUAL.sub("\ufffd", text)


def safe_clean(
    c: Clean, *, style: str | Style = "", marker: Literal["end", "start"] | None = "end"
) -> Text:
    """Turn an already-cleaned value into ``Text`` (stand-ins highlighted, ``⚠`` if flagged).

    ``marker="start"`` puts the ``⚠`` first, so it survives when a table cell is cut short.
    """
    plain = _residual_scrub(c.text)
    text = Text(plain, style=style, no_wrap=False)
    if c.flagged:
        for match in _STANDIN.finditer(plain):
            text.stylize(STANDIN_STYLE, match.start(), match.end())
        if marker == "end":
            text.append(" " + FLAG_MARKER, style=WARN_STYLE)
        elif marker == "start":
            text = Text.assemble((FLAG_MARKER + " ", WARN_STYLE), text, style=style)
    return text


def safe_text(
    value: object,
    *,
    kind: Kind = "text",
    max_cells: int | None = None,
    style: str | Style = "",
    empty: str = EMPTY,
    marker: Literal["end", "start"] | None = "end",
) -> Text:
    """Sanitise ``value`` and return literal ``Text``; ``None``/``""`` becomes a dim ``—``."""
    if value is None or value == "":
        return Text(empty, style=_EMPTY_STYLE)
    return safe_clean(clean(value, kind=kind, max_cells=max_cells), style=style, marker=marker)


def safe_cell(
    value: object,
    *,
    kind: Kind = "line",
    max_cells: int | None = 64,
    style: str | Style = "",
    empty: str = EMPTY,
) -> Text:
    """A one-line table cell: single-line kind, capped width, no wrapping."""
    if kind == "text":
        kind = "line"
    cell = safe_text(
        value, kind=kind, max_cells=max_cells, style=style, empty=empty, marker="start"
    )
    cell.no_wrap = True
    cell.overflow = "ellipsis"
    return cell


def flag_summary(value: object, *, kind: Kind = "text") -> Text | None:
    """``⚠ bidi (text-reordering) characters, …`` for a detail view, or None if not flagged."""
    c = clean(value, kind=kind)
    if not c.flagged:
        return None
    labels = flag_labels(c.flags - {"truncated"})
    return Text(f"{FLAG_MARKER} " + ", ".join(labels), style=WARN_STYLE)
