"""Opening the store read-only, for the headless commands (``export``, ``verify``, ``journal``).

A hand-off must never change the evidence it reads: the connection is opened with SQLite's
``mode=ro`` (every write fails) and nothing is migrated; a database older than this console is
refused with a clear message instead of being upgraded behind the responder's back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from console.store import SCHEMA_VERSION, Store, StoreCorruptError, StoreError

__all__ = ["ReadOnlyStore", "open_read_only"]


class ReadOnlyStore(Store):
    """A :class:`~console.store.Store` whose connections cannot write."""

    def _conn(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            return con
        if self._closed:
            raise StoreError("store is closed")
        con = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=5.0,
        )
        con.execute("PRAGMA busy_timeout = 5000")
        con.execute("PRAGMA query_only = ON")
        con.create_function(
            "py_casefold",
            1,
            lambda v: v.casefold() if isinstance(v, str) else v,
            deterministic=True,
        )
        self._local.con = con
        with self._lock:
            self._connections.append(con)
        return con


def open_read_only(path: Path | str) -> ReadOnlyStore:
    """Open an existing console database for reading only (StoreError if absent or too old)."""
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"no console database at {p}")
    store = ReadOnlyStore(p)
    try:
        version = store.schema_version
        if store._conn().execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise StoreCorruptError(f"{p}: database check failed")
    except sqlite3.DatabaseError as exc:
        store.close()
        raise StoreCorruptError(f"{p} is not a readable console database ({exc})") from None
    except BaseException:
        store.close()
        raise
    if version != SCHEMA_VERSION:
        store.close()
        newer = "newer" if version > SCHEMA_VERSION else "older"
        raise StoreError(
            f"{p} has schema version {version}, {newer} than this console's "
            f"{SCHEMA_VERSION}; open it once with the matching console (the interactive app "
            "upgrades it), then run this command again"
        )
    return store
