"""Opening the database safely, and one connection per thread.

* one connection per thread, opened lazily (``threading.local``); never share one across threads
  or across ``fork()``;
* ``journal_mode=WAL``, ``synchronous=FULL`` (a commit survives power loss), ``foreign_keys=ON``,
  ``busy_timeout=10000`` (a bulk audit load commits up to 5,000 events at a time, and another
  writer waits for it rather than failing); ``PRAGMA quick_check`` when the store is opened;
* the directory is 0700 (``paths.private_dir``) and the database, ``-wal`` and ``-shm`` are 0600.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Self

from console.paths import check_private_file, open_private_file, private_dir, state_dir
from console.store.errors import StoreCorruptError, StoreError, StoreFullError
from console.store.schema import migrate

__all__ = ["DB_FILENAME", "StoreBase"]

DB_FILENAME: Final = "console.db"
_PAGE_SIZE: Final = 16_384


class StoreBase:
    """Lifecycle and connections; every per-area part of ``console.store.Store`` builds on it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None) -> Self:
        """Open (creating if needed) the store at ``path`` (default: ``state_dir()/console.db``).

        Creates the parent directory 0700 and the file 0600, migrates the schema and runs
        ``PRAGMA quick_check``.  Raises :class:`StoreCorruptError` (damage),
        :class:`StoreFullError` (no space: damage is never assumed from a full disk),
        :class:`StoreError`, or :class:`console.paths.UnsafePathError`.
        """
        p = Path(path) if path is not None else state_dir() / DB_FILENAME
        private_dir(p.parent)
        try:
            _ensure_private_file(p)
        except OSError as exc:
            if _disk_full(exc, p):
                raise _full(p, exc) from None
            raise
        store = cls(p)
        try:
            con = store._conn()
            result = con.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:  # "file is not a database", a damaged header…
            store.close()
            if _disk_full(exc, p):
                raise _full(p, exc) from None
            raise StoreCorruptError(
                f"{p} is not a readable console database ({exc})", path=p
            ) from None
        if not result or result[0] != "ok":
            store.close()
            first = str(result[0]).splitlines()[0] if result and result[0] else "?"
            raise StoreCorruptError(f"database check failed: {first}", path=p)
        try:
            migrate(con, store.path)
        except sqlite3.Error as exc:
            store.close()
            if _disk_full(exc, p):
                raise _full(p, exc) from None
            raise
        except BaseException:
            store.close()
            raise
        store._tighten_sidecars()
        return store

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for con in conns:
            with contextlib.suppress(sqlite3.Error):
                con.close()
        self._local = threading.local()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            return con
        if self._closed:
            raise StoreError("store is closed")
        con = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        try:
            con.execute("PRAGMA busy_timeout = 10000")
            # A new database gets 16 KiB pages (before WAL fixes the size; a no-op later):
            # bulk loads grow seven indexes at once, and at 4 KiB a 100,000-event load spent
            # a seventh more time splitting and writing pages.
            con.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                raise StoreError(f"cannot enable WAL on {self.path} (got {mode})", path=self.path)
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA foreign_keys = ON")
            # SQLite's lower() is ASCII-only; the users cache's search text is str.casefold()ed.
            con.create_function("py_casefold", 1, _casefold, deterministic=True)
        except BaseException:
            con.close()  # a full disk fails here: never leave the file open behind the error
            raise
        self._local.con = con
        with self._lock:
            self._connections.append(con)
        return con

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction on this thread's connection."""
        con = self._conn()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (deferred constraint, SQLITE_BUSY/FULL) leaves the transaction
            # open, which would wedge this thread's connection ("cannot start a transaction
            # within a transaction") forever; SQLite may also have rolled back on its own, and
            # a second ROLLBACK must not replace the real error.
            if con.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
            raise

    def _tighten_sidecars(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(f"{self.path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
                    os.chmod(p, 0o600)

    @property
    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])


def _casefold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def _ensure_private_file(path: Path) -> None:
    """Create the database file 0600 (never through a symlink), or check and tighten an
    existing one: another owner, a symlink or write access for others is refused.  Its -wal
    and -journal sidecars are replayed into the database on open, so they are checked too."""
    os.close(open_private_file(path, os.O_RDWR, create=True))
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            check_private_file(side, os.lstat(side))


# Free space below this makes an I/O error at open time a full disk, not damage: SQLite needs a
# few pages for the -wal and -shm files and reports their failed allocation as "disk I/O error".
_LOW_SPACE_BYTES: Final = 1 << 20


def _disk_full(exc: BaseException, path: Path) -> bool:
    """Whether ``exc`` (an OSError or a SQLite error) means the disk or quota is full."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    if "disk is full" in str(exc).lower():
        return True
    if "disk i/o error" in str(exc).lower():
        try:
            vfs = os.statvfs(path.parent)
        except OSError:
            return False
        return vfs.f_bavail * vfs.f_frsize < _LOW_SPACE_BYTES
    return False


def _full(path: Path, exc: BaseException) -> StoreFullError:
    return StoreFullError(f"{path}: the disk is full ({exc})", path=path)
