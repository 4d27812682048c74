"""Where the console keeps its files, and process hardening.

Nothing is created at import time: every function computes a path, and only :func:`private_dir`
creates directories (mode 0700, also tightening an existing one).  A directory or file another
user owns, a symlink, or a file others can write is refused (:class:`UnsafePathError`) rather
than used: the console's profiles decide where the token is sent.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import stat
import sys
from pathlib import Path

import platformdirs

from console import APP_NAME
from console.problem import Problem, ProblemError
from console.sanitize import safe

__all__ = [
    "UnsafePathError",
    "cache_dir",
    "check_private_file",
    "config_dir",
    "data_dir",
    "harden_process",
    "log_dir",
    "open_private_file",
    "private_dir",
    "private_dirs",
    "read_private_file",
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


class UnsafePathError(ProblemError):
    """A local directory or file another user could control: refused, with the reason.

    It carries its own :class:`Problem` (naming the path and what is wrong with it), so every
    caller shows the same sentence.
    """

    def __init__(self, path: Path, problem: Problem) -> None:
        super().__init__(problem)
        self.path = path


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _my_uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def _unsafe_dir(path: Path, why: str, next_step: str) -> UnsafePathError:
    return UnsafePathError(
        path,
        Problem(
            "Unsafe local directory",
            f"{path} {why}; the console keeps its profiles, database and logs only in a "
            "directory that you alone own.",
            next_step,
            "unsafe_path",
        ),
    )


def _unsafe_file(path: Path, why: str, next_step: str) -> UnsafePathError:
    return UnsafePathError(
        path,
        Problem(
            "Unsafe local file",
            f"{path.name} in {path.parent} {why}; the console does not use a file that someone "
            "else could have written.",
            next_step,
            "unsafe_path",
        ),
    )


def private_dir(path: Path | str) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; tighten it if it already exists.

    Raises :class:`UnsafePathError` if ``path`` is a symlink, not a directory, or owned by
    another user, because a directory someone else controls cannot keep our state private.
    """
    p = Path(path)
    old = os.umask(0o077)
    try:
        with contextlib.suppress(FileExistsError):  # a symlink to a file, or a file: see below
            p.mkdir(mode=0o700, parents=True, exist_ok=True)
    finally:
        os.umask(old)
    st = os.lstat(p)
    if stat.S_ISLNK(st.st_mode):
        target = safe_target(p)
        raise _unsafe_dir(
            p,
            f"is a symbolic link (to {target})",
            f"Remove the link (rm {p}) and start again: the console then creates a private "
            "directory in its place.",
        )
    if not stat.S_ISDIR(st.st_mode):
        raise _unsafe_dir(p, "exists but is not a directory", f"Move {p} away and start again.")
    me = _my_uid()
    if me is not None and st.st_uid != me:
        raise _unsafe_dir(
            p,
            f"belongs to {_owner(st.st_uid)}, not to you ({_owner(me)})",
            f"If it is yours, take it back (chown -R {me} {p}); otherwise move it away and "
            "start again.",
        )
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(p, 0o700)
    return p


def private_dirs() -> list[Path]:
    """Create or tighten all four platform directories (config, data, state, cache) to 0700.

    Called once at start-up so that none of them stays world-readable because something else
    created it first; raises :class:`UnsafePathError` for a symlinked or foreign directory.
    """
    return [private_dir(fn()) for fn in (config_dir, data_dir, state_dir, cache_dir)]


def safe_target(path: Path) -> str:
    """Where a symlink points (for messages), or "somewhere unreadable"."""
    try:
        return safe(os.readlink(path), kind="line", max_cells=120)
    except OSError:
        return "somewhere unreadable"


def check_private_file(path: Path, st: os.stat_result) -> None:
    """Refuse a file (given its ``lstat``/``fstat``) that another user owns or could write.

    A symlink, a non-regular file, another owner, or write permission for group or others are
    refused with :class:`UnsafePathError`; read permission for others is only tightened by the
    caller (it leaks, but nobody could have tampered with the content).
    """
    if stat.S_ISLNK(st.st_mode):
        raise _unsafe_file(
            path,
            f"is a symbolic link (to {safe_target(path)})",
            "Replace the link with the real file (or remove it) and start again.",
        )
    if not stat.S_ISREG(st.st_mode):
        raise _unsafe_file(path, "is not a regular file", f"Move {path} away and start again.")
    me = _my_uid()
    if me is not None and st.st_uid != me:
        raise _unsafe_file(
            path,
            f"belongs to {_owner(st.st_uid)}, not to you ({_owner(me)})",
            f"Check who created it and what it says; if it is yours, chown {me} {path}; "
            "otherwise move it away and start again.",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        who = " and ".join(
            name for bit, name in ((0o020, "its group"), (0o002, "all users")) if mode & bit
        )
        raise _unsafe_file(
            path,
            f"is writable by {who} (mode {mode:04o})",
            f"Check that its content is yours, then chmod 600 {path} and start again.",
        )


def open_private_file(path: Path, flags: int, *, create: bool = False) -> int:
    """Open ``path`` without following a symlink, check it (:func:`check_private_file`) and
    tighten it to 0600; returns the file descriptor (the caller closes it)."""
    flags |= os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            check_private_file(path, os.lstat(path))
        raise
    try:
        st = os.fstat(fd)
        check_private_file(path, st)
        if stat.S_IMODE(st.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private_file(path: Path) -> bytes:
    """The content of a file we own that nobody else can write (see :func:`open_private_file`)."""
    fd = open_private_file(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


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
