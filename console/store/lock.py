"""One writer per incident: an OS file lock next to the database.

The first console that opens an incident for writing holds ``<db>.incident-<id>.lock`` with
``fcntl.flock``; the kernel releases it when the process exits in any way (``kill -9``
included), so a crash never leaves a stale lock. The file holds the holder's PID, host and
start time (JSON) so a second console can say who has it; that console opens the incident
read-only and never re-checks or re-sends the writer's in-flight entries.

A process holds at most one lock per (database, incident): asking again returns the same handle
(``flock`` on a second descriptor would conflict with ourselves).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from console.store.errors import StoreError
from console.timeutil import utc_now

__all__ = [
    "IncidentLock",
    "LockHolder",
    "WriterElsewhere",
    "acquire_writer",
    "claim_writer",
    "held_here",
    "holder_of",
    "lock_path",
    "other_writer",
    "writer",
]


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds an incident for writing (as written in the lock file; PID and host are ours
    to trust only as far as the local file system is)."""

    pid: int
    host: str
    since: str

    def describe(self) -> str:
        return f"PID {self.pid} on {self.host}, since {self.since}"


class WriterElsewhere(StoreError):
    """Another console holds this incident for writing."""

    def __init__(self, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "another process"
        super().__init__(
            f"Another console ({who}) is acting on this incident: this one is read-only and "
            "sends nothing, not even a re-check of that console's actions in flight."
        )
        self.holder = holder


@dataclass
class IncidentLock:
    """A held lock; :meth:`release` (or process exit) frees it."""

    path: Path
    fd: int
    holder: LockHolder
    key: tuple[str, int]

    def release(self) -> None:
        with _registry_lock:
            if _held.get(self.key) is self:
                del _held[self.key]
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


_held: dict[tuple[str, int], IncidentLock] = {}
_registry_lock = threading.Lock()


def lock_path(db_path: Path | str, incident_id: int) -> Path:
    """``console.db`` → ``console.db.incident-7.lock`` in the same (private) directory."""
    db = Path(db_path)
    return db.with_name(f"{db.name}.incident-{int(incident_id)}.lock")


def _key(db_path: Path | str, incident_id: int) -> tuple[str, int]:
    return (str(Path(db_path).resolve()), int(incident_id))


def _open(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    st = os.fstat(fd)
    if st.st_uid != os.getuid():
        os.close(fd)
        raise StoreError(f"{path} is owned by uid {st.st_uid}, not by us; refusing to use it")
    return fd


def _read_holder(fd: int) -> LockHolder | None:
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw.decode("utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"])[:255], str(data["since"])[:40])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def held_here(db_path: Path | str, incident_id: int) -> IncidentLock | None:
    """This process's lock on the incident, if it holds one."""
    with _registry_lock:
        return _held.get(_key(db_path, incident_id))


def acquire_writer(db_path: Path | str, incident_id: int) -> IncidentLock:
    """Hold the incident for writing (non-blocking); raises :class:`WriterElsewhere`."""
    key = _key(db_path, incident_id)
    with _registry_lock:
        mine = _held.get(key)
        if mine is not None:
            return mine
        path = lock_path(db_path, incident_id)
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise WriterElsewhere(holder) from None
        holder = LockHolder(os.getpid(), socket.gethostname(), utc_now())
        payload = json.dumps(
            {"pid": holder.pid, "host": holder.host, "since": holder.since}
        ).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)
        os.fsync(fd)
        lock = IncidentLock(path, fd, holder, key)
        _held[key] = lock
        return lock


def holder_of(db_path: Path | str, incident_id: int) -> LockHolder | None:
    """Who holds the incident now: this process's holder, another's, or None when free."""
    mine = held_here(db_path, incident_id)
    if mine is not None:
        return mine.holder
    path = lock_path(db_path, incident_id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or LockHolder(0, "unknown host", "unknown time")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def writer(db_path: Path | str, incident_id: int) -> Iterator[IncidentLock]:
    """Hold the incident for the block; a lock this process already held is kept after it."""
    mine = held_here(db_path, incident_id)
    lock = mine or acquire_writer(db_path, incident_id)
    try:
        yield lock
    finally:
        if mine is None:
            lock.release()


def claim_writer(db_path: Path | str, incident_id: int) -> LockHolder | None:
    """Where the app opens an incident: hold it for writing if nobody else does.

    Locks this process holds on other incidents of the same database are released (one
    incident open at a time). Returns None when this console is the writer, else who is.
    """
    db_key = _key(db_path, incident_id)[0]
    with _registry_lock:
        others = [
            lock for key, lock in _held.items() if key[0] == db_key and key[1] != int(incident_id)
        ]
    for lock in others:
        lock.release()
    try:
        acquire_writer(db_path, incident_id)
    except WriterElsewhere as exc:
        return exc.holder or LockHolder(0, "unknown host", "unknown time")
    return None


def other_writer(db_path: Path | str, incident_id: int) -> LockHolder | None:
    """The holder of the incident if it is another process (this console is read-only)."""
    holder = holder_of(db_path, incident_id)
    if holder is None or held_here(db_path, incident_id) is not None:
        return None
    return holder
