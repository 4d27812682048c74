"""The dossier's cells: every server value as sanitised ``Text``, never as markup.

Small formatters the section renderers in :mod:`screens.dossier_render` build their tables and
cards from (a value, a timestamp, an access level, a key/value table, a column getter).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from rich.table import Table
from rich.text import Text

from screens.safe import safe_text

__all__ = [
    "ACCESS_LEVELS",
    "LIST_LIMIT",
    "Getter",
    "access",
    "brief",
    "col",
    "kv",
    "source_type",
    "ts",
    "val",
    "when",
]

LIST_LIMIT: Final = 150
ACCESS_LEVELS: Final = {
    0: "none",
    5: "minimal",
    10: "guest",
    15: "planner",
    20: "reporter",
    30: "developer",
    40: "maintainer",
    50: "owner",
    60: "admin",
}


# --------------------------------------------------------------------------- value helpers


def val(value: Any, *, kind: Any = "line", max_cells: int | None = 80) -> Text:
    if isinstance(value, bool):
        return Text("yes" if value else "no", style="bold" if value else "")
    if isinstance(value, list | tuple):
        if not value:
            return Text("—", style="dim")
        parts = [safe_text(brief(v), kind=kind, max_cells=max_cells) for v in value]
        return Text(", ").join(parts)
    if isinstance(value, Mapping):
        return safe_text(brief(value), kind=kind, max_cells=max_cells)
    return safe_text(value, kind=kind, max_cells=max_cells)


ISO_TS: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def when(value: Any) -> Text:
    """``2024-05-20T10:00:44.000Z`` → ``2024-05-20 10:00`` (UTC as GitLab sends it)."""
    if isinstance(value, str):
        match = ISO_TS.match(value)
        if match:
            return Text(f"{match.group(1)} {match.group(2)}")
    return val(value, max_cells=30)


def brief(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(f"{k}={v}" for k, v in value.items() if v not in (None, "", [], {}))
    return "" if value is None else str(value)


def access(value: Any) -> Text:
    try:
        level = int(value)
    except (TypeError, ValueError):
        return val(value)
    name = ACCESS_LEVELS.get(level, str(level))
    return Text(name, style="bold red" if level >= 40 else "")


def kv(rows: Iterable[tuple[str, Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(Text(label), value)
    return grid


Getter = Callable[[Mapping[str, Any]], Text]


def col(key: str, *, kind: Any = "line", max_cells: int = 40) -> Getter:
    return lambda item: val(item.get(key), kind=kind, max_cells=max_cells)


def ts(key: str) -> Getter:
    return lambda item: when(item.get(key))


SOURCE_TYPES: Final = {"Namespace": "group", "Group": "group", "Project": "project"}


def source_type(item: Mapping[str, Any]) -> Text:
    value = item.get("source_type")
    short = SOURCE_TYPES.get(str(value)) if value is not None else None
    return Text(short) if short else val(value, max_cells=10)
