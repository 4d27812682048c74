"""Where the console keeps its files, and process hardening.

Nothing is created at import time: every function computes a path, and only :func:`private_dir`
creates directories (mode 0700, also tightening an existing one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import stat
import sys
from pathlib import Path

import platformdirs

from console import APP_NAME

__all__ = [
    "cache_dir",
    "config_dir",
    "data_dir",
    "harden_process",
    "log_dir",
    "private_dir",
    "state_dir",
]


def config_dir() -> Path:
    """Profiles (TOML)."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    """Durable data that is not state (exports)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    """The SQLite store: incidents, marks, journal."""
    return platformdirs.user_state_path(APP_NAME, appauthor=False)


def cache_dir() -> Path:
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def private_dir(path: Path | str) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; tighten it if it already exists.

    Raises ``PermissionError`` if ``path`` is a symlink or is owned by another user, because a
    directory someone else controls cannot keep our state private.
    """
    p = Path(path)
    old = os.umask(0o077)
    try:
        p.mkdir(mode=0o700, parents=True, exist_ok=True)
    finally:
        os.umask(old)
    st = os.lstat(p)
    if stat.S_ISLNK(st.st_mode):
        raise PermissionError(f"{p} is a symlink; refusing to keep private state there")
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{p} is not a directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise PermissionError(f"{p} is owned by uid {st.st_uid}, not by us")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(p, 0o700)
    return p


_PR_SET_DUMPABLE = 4


def harden_process() -> list[str]:
    """Best-effort hardening; returns what was applied (for ``diagnose``).

    * ``umask 077``: new files are private;
    * ``RLIMIT_CORE=0``: no core files written by the kernel;
    * ``prctl(PR_SET_DUMPABLE, 0)`` (Linux): no core dumps at all, even through piped
      handlers, and same-uid processes cannot ptrace us or read ``/proc/PID/environ``.
    """
    applied: list[str] = []
    os.umask(0o077)
    applied.append("umask 077")
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        applied.append("core dumps off (RLIMIT_CORE=0)")
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0:
                applied.append("not dumpable (PR_SET_DUMPABLE=0)")
        except (OSError, AttributeError):
            pass
    return applied
