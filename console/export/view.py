"""Export one pane's current view (after its filters) as CSV or JSON Lines.

The file is created new (never over an existing one, never through a symlink) and private
(0600): a view of users holds emails and IP addresses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from console.export.writers import write_csv, write_jsonl

__all__ = ["VIEW_FORMATS", "export_view"]

ViewFormat = Literal["csv", "jsonl"]
VIEW_FORMATS: Final = ("csv", "jsonl")
#: Rows between two progress reports.
PROGRESS_EVERY: Final = 10_000


def _reporting(
    rows: Iterable[Mapping[str, Any]], progress: Callable[[int], None], every: int
) -> Iterator[Mapping[str, Any]]:
    count = 0
    for row in rows:
        yield row
        count += 1
        if count % every == 0:
            progress(count)


def export_view(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    path: Path,
    fmt: ViewFormat,
    *,
    progress: Callable[[int], None] | None = None,
    every: int = PROGRESS_EVERY,
) -> int:
    """Write ``rows`` (only ``columns``) to the new file ``path``; returns the row count.

    Rows are written one at a time as the iterable yields them, so a view read from the store a
    batch at a time is exported in flat memory; ``progress`` hears the count every ``every``
    rows.
    """
    if progress is not None:
        rows = _reporting(rows, progress, every)
    if fmt not in VIEW_FORMATS:
        raise ValueError(f"format must be one of {VIEW_FORMATS}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            return write_csv(rows, columns, fh)
        return write_jsonl(({c: r.get(c) for c in columns} for r in rows), fh)
