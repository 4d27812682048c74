"""Python values → column values: JSON text, storable strings, optional ints and booleans."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dbstr", "dumps", "loads_opt", "opt_bool", "opt_int"]


def dumps(value: object) -> str:
    """Compact ASCII JSON (values are stdlib types or JSON text, never pickle)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def loads_opt(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dbstr(value: object) -> str | None:
    """A string SQLite can store: lone surrogates (invalid UTF-8) become U+FFFD."""
    if value is None:
        return None
    s = value if isinstance(value, str) else str(value)
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return s


def opt_bool(value: object) -> int | None:
    if value is None:
        return None
    return 1 if value else 0


def opt_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None
