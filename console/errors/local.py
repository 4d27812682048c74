"""Local failures explained: the OS keyring, the SQLite store, files on this machine.

Each message names the real file and directory and says what happened: a full disk is "disk
full", never "damaged", and only damage tells the responder to move the database away.
"""

from __future__ import annotations

import errno
import sqlite3
import sys
from pathlib import Path

from console.problem import Problem, TokenStorageUnavailable
from console.redact import redact_tokens
from console.sanitize import safe
from console.store.errors import StoreCorruptError, StoreError, StoreFullError


def _keyring_failure(exc: BaseException) -> Problem | None:
    """The keyring's failures; ``None`` for anything else. keyring is consulted only once
    loaded (its errors exist only then), so importing this module does not load it."""
    if isinstance(exc, TokenStorageUnavailable):
        return _keyring_problem(exc, locked=False, unavailable=True)
    if "keyring" not in sys.modules:
        return None
    import keyring.errors

    if not isinstance(exc, keyring.errors.KeyringError):
        return None
    return _keyring_problem(
        exc,
        locked=isinstance(exc, keyring.errors.KeyringLocked),
        unavailable=isinstance(exc, keyring.errors.NoKeyringError),
    )


def _keyring_problem(exc: BaseException, *, locked: bool, unavailable: bool) -> Problem:
    detail = safe(redact_tokens(str(exc)), kind="line", max_cells=200) or type(exc).__name__
    if locked:
        reason = "the OS keyring is locked and cannot be unlocked without a graphical prompt."
    elif unavailable:
        reason = "no usable OS keyring is available."
    else:
        reason = f"the OS keyring failed ({detail})."
    return Problem(
        "Keyring unavailable",
        f"Token storage: {reason} The token stays in memory for this session only.",
        "Run `incident-console diagnose` to see why, or start the console inside an unlocked "
        "keyring session (dbus-run-session -- bash; gnome-keyring-daemon --unlock).",
        "keyring",
    )


def _where(path: object) -> tuple[str, str] | None:
    """(file name, directory) for a message, or ``None`` when the path is unknown."""
    if not path:
        return None
    p = Path(str(path))
    return (
        safe(p.name, kind="line", max_cells=80),
        safe(str(p.parent), kind="line", max_cells=160),
    )


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, StoreFullError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code == sqlite3.SQLITE_FULL:
        return True
    return "disk is full" in str(exc).lower()  # SQLite's text, also when a StoreError quotes it


def _store_problem(exc: BaseException) -> Problem | None:
    """The local SQLite store (and any local write) failing: full disk, lock, damage."""
    if not isinstance(exc, OSError | sqlite3.Error | StoreError):
        return None
    where = _where(exc.path if isinstance(exc, StoreError) else getattr(exc, "filename", None))
    if _is_full(exc):
        what = f"write {where[0]} in {where[1]}" if where else "save its local state"
        df = f" (df -h {where[1]})" if where else ""
        return Problem(
            "Disk full",
            f"The console could not {what}: the disk (or your quota) is full.",
            f"Free space on this machine{df}, then retry; nothing saved before is damaged.",
            "disk_full",
        )
    if isinstance(exc, OSError):
        return None  # other local file errors: see _file_problem
    detail = safe(redact_tokens(str(exc)), kind="line", max_cells=200) or type(exc).__name__
    low = detail.lower()
    if "database is locked" in low or "database table is locked" in low:
        return Problem(
            "Local database busy",
            "Another process is holding the console's local database"
            + (f" ({where[0]} in {where[1]})." if where else "."),
            "Close the other console (or wait a moment), then retry.",
            "store_busy",
        )
    damaged = ("malformed", "not a database", "not a readable", "database check failed")
    if isinstance(exc, StoreCorruptError) or any(m in low for m in damaged):
        if where:
            said = f"{where[0]} in {where[1]} is damaged and cannot be used: {detail}."
            step = f"Move {where[0]} out of {where[1]} (keep it for the record) and start again"
        else:
            said = f"The console's local database is damaged and cannot be used: {detail}."
            step = "Move the database file out of the console's data directory (keep it)"
        return Problem(
            "Local database damaged",
            said,
            f"{step}; GitLab itself is not affected.",
            "store_corrupt",
        )
    return Problem(
        "Local state problem",
        "The console's local database"
        + (f" ({where[0]} in {where[1]})" if where else "")
        + f" failed: {detail}",
        "Check that directory's free space and permissions, then retry.",
        "store",
    )


def _file_problem(exc: BaseException) -> Problem | None:
    """A local file that is missing, unreadable or a directory, named with its directory."""
    if not isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return None
    name = safe(str(getattr(exc, "filename", None) or ""), kind="line", max_cells=200)
    if isinstance(exc, FileNotFoundError):
        why = "does not exist"
    elif isinstance(exc, IsADirectoryError):
        why = "is a directory, not a file"
    else:
        why = "cannot be read or written (permission denied)"
    return Problem(
        "File problem",
        f"The file {name} {why}." if name else f"A local file {why}.",
        "Check the path and its permissions.",
        "file",
    )
