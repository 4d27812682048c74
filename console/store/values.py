"""Python values → column values: JSON text, storable strings, optional ints and booleans."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dbstr", "dumps", "dumps_record", "loads_opt", "opt_bool", "opt_int"]


_COMPACT = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def dumps(value: object) -> str:
    """Compact ASCII JSON (values are stdlib types or JSON text, never pickle).

    One encoder for every call: ``json.dumps`` with options builds a new one each time.
    """
    return _COMPACT.encode(value)


def dumps_record(value: object) -> str:
    """Compact JSON of a server record kept verbatim (``user_raw``), about 15x faster.

    orjson writes UTF-8 rather than ASCII escapes (the column is TEXT, read back by
    ``json.loads``). It refuses numbers beyond 64 bits and lone surrogates: those records go
    through :func:`dumps`, so the store sees what it saw before (and the loader's retry for
    numbers SQLite cannot hold still works).
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return dumps(value)


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
