"""``fetch_dossier``: every section of one user's dossier, fetched in parallel."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import gitlab

from console.api.pages import CancelledFn, WaitCallback
from console.config import server_now
from console.dossier.blast import blast_radius
from console.dossier.model import MAX_WORKERS, Dossier, Window, guarded
from console.dossier.reads import Reader
from console.timeutil import format_iso

__all__ = ["fetch_dossier"]


def fetch_dossier(
    gl: gitlab.Gitlab,
    user_id: int,
    window: Window,
    *,
    cancelled: CancelledFn | None = None,
    on_wait: WaitCallback | None = None,
    now: datetime | None = None,
) -> Dossier:
    """Fetch the dossier for ``user_id`` over the incident ``window`` (ISO start, ISO end).

    Blocking; run it in a thread worker. Per-section failures become ``Section.problem``
    (a long rate-limit wait, an unsafe next link and a cancelled wait included); waits are
    reported to ``on_wait`` and end when ``cancelled()`` turns true. ``fetched_at`` is ``now``,
    by default the server's time as ``gl``'s replies taught it (:func:`console.config.server_now`).
    """
    started = time.monotonic()
    fetched_at = format_iso(now or server_now(gl), "seconds")
    fetch = Reader(gl, user_id, window, cancelled, on_wait)
    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="dossier") as pool:
        simple = {
            name: pool.submit(guarded, name, getattr(fetch, name))
            for name in (
                "profile",
                "memberships",
                "emails",
                "tokens",
                "impersonation_tokens",
                "ssh_keys",
                "gpg_keys",
                "events",
            )
        }

        def admin_view() -> bool:
            profile = simple["profile"].result()
            return isinstance(profile.items, dict) and "is_admin" in profile.items

        audit = pool.submit(guarded, "audit_events", lambda: fetch.audit_events(admin_view))
        memberships = simple["memberships"].result()
        blast = blast_radius(pool, fetch, memberships)
        results = {name: future.result() for name, future in simple.items()}
        results["audit_events"] = audit.result()
    results["blast_radius"] = blast
    return Dossier(
        user_id=int(user_id),
        window=window,
        fetched_at=fetched_at,
        seconds=time.monotonic() - started,
        **results,
    )
