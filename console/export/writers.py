"""CSV and JSON Lines writers for exported rows, safe to open in a terminal or a spreadsheet.

Every string goes through the token redactor and :func:`console.sanitize.safe` (no terminal
controls, bidi or invisible characters survive, and a token-shaped string becomes ``***``). In
CSV, a cell that starts with ``=``, ``+``, ``-`` or ``@`` is prefixed with ``'`` so that a
spreadsheet shows it as text instead of running it as a formula (a username such as
``=HYPERLINK(…)`` is an attack on whoever opens the export).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, Final

from console.logs import redact
from console.sanitize import safe

__all__ = ["clean_value", "csv_cell", "write_csv", "write_jsonl"]

_FORMULA_START: Final = ("=", "+", "-", "@")


def clean_value(value: Any) -> Any:
    """Strings redacted and sanitised (kept multi-line); lists and dicts cleaned inside."""
    if isinstance(value, str):
        return safe(redact(value), kind="text")
    if isinstance(value, Mapping):
        return {safe(str(k), kind="line"): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "; ".join(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(clean_value(value), ensure_ascii=False, sort_keys=True)
    return safe(redact(str(value)), kind="line")


def csv_cell(value: Any) -> str:
    """One CSV cell: one line, sanitised, formula-neutralised; None → empty."""
    text = _plain(value)
    if isinstance(value, str | list | tuple) and text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fh: IO[str]) -> int:
    """Write a header and one line per row; returns the number of rows."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        count += 1
    return count


def write_jsonl(rows: Iterable[Mapping[str, Any]], fh: IO[str], *, raw: bool = False) -> int:
    """One JSON object per line (ASCII, sorted keys); ``raw`` skips cleaning (hash-chained
    journal records, which must stay byte-exact and are ASCII JSON already)."""
    count = 0
    for row in rows:
        value = dict(row) if raw else clean_value(row)
        fh.write(json.dumps(value, ensure_ascii=True, sort_keys=True) + "\n")
        count += 1
    return count
