"""Every user's SSH and GPG keys into the credentials inventory: two requests per user.

GitLab has no instance-wide key list, so the sweep asks ``/users/:id/keys`` and
``/users/:id/gpg_keys`` for each user, administrators and flagged users first, then by risk,
so the keys that matter most arrive first on a large instance. Reads go through the one
policy (:class:`~console.api.aio.AsyncGet`): a few requests at a time, 429 waits as GitLab
asks (the per-endpoint limits differ by instance). Users already swept are remembered in the
store, so a cancelled or interrupted sweep resumes where it stopped; progress carries a time
estimate. Key material is never stored: a fingerprint identifies each SSH key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from console.api.aio import AsyncGet, ReadCancelled, ReadFailed, WaitFn, json_list
from console.api.bridge import LoopCancelled, run_in_loop_thread
from console.config import ConnectionConfig, build_httpx
from console.errors import describe_error
from console.inventory.flags import credential_flags
from console.inventory.model import KIND_ORDER, ROTATE_HINTS, is_urgent
from console.problem import Problem, ProblemError
from console.secret import Secret
from console.store import UserQuery
from console.timeutil import parse_ts

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["KeySweepProgress", "KeySweepResult", "fingerprint", "key_rows", "sweep_keys_blocking"]

CONCURRENCY: Final = 4
#: Users written to the store per transaction.
_BATCH: Final = 50
SWEEP_CACHE: Final = "key_sweep"


@dataclass(frozen=True, slots=True)
class KeySweepProgress:
    users_done: int
    users: int
    keys: int
    eta_seconds: float | None


@dataclass(frozen=True, slots=True)
class KeySweepResult:
    users_done: int
    users: int
    keys: int
    seconds: float
    cancelled: bool = False
    problem: Problem | None = None


def fingerprint(public_key: object) -> str:
    """``SHA256:…`` as ``ssh-keygen -l`` prints it, or "" for text that is not a key."""
    parts = str(public_key or "").split()
    if len(parts) < 2:
        return ""
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (ValueError, TypeError):
        return ""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def key_rows(
    user: Mapping[str, Any],
    ssh: Sequence[Mapping[str, Any]],
    gpg: Sequence[Mapping[str, Any]],
    window: tuple[datetime, datetime] | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Inventory rows (``Credential.to_dict()`` shape plus rank/urgency) for one user's keys."""
    rows: list[dict[str, Any]] = []
    for kind, items in (("ssh_key", ssh), ("gpg_key", gpg)):
        for raw in items:
            if not isinstance(raw.get("id"), int):
                continue
            expires = raw.get("expires_at")
            until = parse_ts(expires)  # a real instant: offsets and fractions compare correctly
            expired = until is not None and until <= now
            state = "expired" if expired else "active"
            flags = credential_flags(
                kind=kind, created_at=raw.get("created_at"), last_used_at=raw.get("last_used_at"),
                expires_at=expires, scopes=(), state=state, window=window, now=now,
                expiry_applies=kind == "ssh_key", tracks_use=kind == "ssh_key",
            )  # fmt: skip
            extra = {"user_id": str(user.get("id"))}
            if kind == "ssh_key":
                extra["fingerprint"] = fingerprint(raw.get("key"))
                if raw.get("usage_type"):
                    extra["usage_type"] = str(raw["usage_type"])
            title = raw.get("title") if kind == "ssh_key" else f"GPG key {raw['id']}"
            rows.append(
                {
                    "kind": kind, "id": raw["id"], "name": str(title or ""),
                    "owner": str(user.get("username") or ""), "owner_type": "user",
                    "owner_id": user.get("id"), "scopes": [], "created_at": raw.get("created_at"),
                    "last_used_at": raw.get("last_used_at"), "expires_at": expires,
                    "state": state, "protected": None, "flags": flags, "extra": extra,
                    "rotate_hint": ROTATE_HINTS[kind],
                    "rank": KIND_ORDER.index(kind),
                    "urgency": sum(1 for f in flags if is_urgent(f)),
                }
            )  # fmt: skip
    return rows


def priority_user_ids(store: Store, incident_id: int) -> list[int]:
    """Administrators first, then flagged users, then everyone else by risk."""
    first = store.user_ids(incident_id, UserQuery(filters=frozenset({"admins"})))
    flagged = store.user_ids(incident_id, UserQuery(filters=frozenset({"flagged"})))
    rest = store.user_ids(incident_id, UserQuery(sort="risk", descending=True))
    seen: set[int] = set()
    ordered = []
    for uid in (*first, *flagged, *rest):
        if uid not in seen:
            seen.add(uid)
            ordered.append(uid)
    return ordered


def sweep_keys_blocking(
    config: ConnectionConfig,
    token: Secret,
    store: Store,
    incident_id: int,
    *,
    window: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
    on_progress: Callable[[KeySweepProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_wait: WaitFn | None = None,
    concurrency: int = CONCURRENCY,
) -> KeySweepResult:
    """Fetch the keys of every user not swept yet; blocking (call from a thread worker)."""
    started = time.monotonic()
    now = now or config.clock.now()  # the server's time, learned from its replies
    is_cancelled = cancelled or (lambda: False)
    cached = store.cache_get(incident_id, SWEEP_CACHE)
    done: set[int] = set(cached[0]) if cached else set()
    todo = [uid for uid in priority_user_ids(store, incident_id) if uid not in done]
    total = len(todo) + len(done)
    keys = 0
    finished_now = 0

    def flush(batch: list[tuple[int, list[dict[str, Any]]]]) -> None:
        nonlocal keys, finished_now
        rows = [row for _, user_rows in batch for row in user_rows]
        store.upsert_credentials(incident_id, rows)
        done.update(uid for uid, _ in batch)
        store.cache_put(incident_id, SWEEP_CACHE, sorted(done))
        keys += len(rows)
        finished_now += len(batch)
        if on_progress is not None:
            rate = finished_now / max(time.monotonic() - started, 1e-6)
            left = total - len(done)
            eta = left / rate if finished_now >= 10 else None
            on_progress(KeySweepProgress(len(done), total, keys, eta))

    async def run() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for uid in todo:
            queue.put_nowait(uid)
        batch: list[tuple[int, list[dict[str, Any]]]] = []
        async with build_httpx(config, token, max_connections=concurrency) as client:
            http = AsyncGet(client, explain=describe_error, cancelled=is_cancelled, on_wait=on_wait)

            async def one(uid: int) -> None:
                user = store.user_raw(incident_id, uid) or {"id": uid}
                ssh, _ = json_list(await http.get(f"users/{uid}/keys", {"per_page": 100}))
                gpg, _ = json_list(await http.get(f"users/{uid}/gpg_keys", {"per_page": 100}))
                batch.append((uid, key_rows(user, ssh, gpg, window, now)))
                if len(batch) >= _BATCH:
                    ready = batch[:]
                    batch.clear()
                    await asyncio.to_thread(flush, ready)

            async def worker() -> None:
                while not queue.empty():
                    uid = queue.get_nowait()
                    try:
                        await one(uid)
                    except ReadFailed as exc:
                        if exc.status != 404:  # deleted since the list was read: nothing to do
                            raise
                        batch.append((uid, []))

            try:
                await asyncio.gather(*(worker() for _ in range(concurrency)))
            finally:
                if batch:
                    await asyncio.to_thread(flush, batch[:])

    problem: Problem | None = None
    was_cancelled = False
    try:
        run_in_loop_thread(run, is_cancelled)
    except (LoopCancelled, ReadCancelled):
        was_cancelled = True
    except ProblemError as exc:
        problem = exc.problem
    except Exception as exc:  # a store failure: explained, the swept users are kept
        problem = describe_error(exc)
    return KeySweepResult(
        len(done), total, keys, time.monotonic() - started, was_cancelled, problem
    )
