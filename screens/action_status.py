"""What the actions screens show about the incident's state: who is acting on it, what a crash
or a halt left to finish, and which account the console acts as. Small store reads only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actions import plan_views
from console.sanitize import safe
from console.store.lock import LockHolder, other_writer

if TYPE_CHECKING:
    from console.context import AppContext

__all__ = ["actor_id", "not_started", "other_console", "pending_count", "writer_notice"]


def actor_id(ctx: AppContext) -> int | None:
    """The acting account's id, if the capability check has found it (the engine re-checks)."""
    cov = ctx.coverage
    return cov.user_id if cov is not None else None


def pending_count(ctx: AppContext) -> int:
    try:
        return len(ctx.store.journal_pending(ctx.incident_id))
    except Exception:
        return 0


def not_started(ctx: AppContext) -> int:
    """Steps of open plans that never reached the wire (a kill, a halt, a cancel)."""
    try:
        return sum(v.not_started for v in plan_views(ctx.store, ctx.incident_id))
    except Exception:
        return 0


def other_console(ctx: AppContext) -> LockHolder | None:
    """Another console holding this incident for writing (then this one only reads)."""
    try:
        return other_writer(ctx.store.path, ctx.incident_id)
    except Exception:
        return None


def writer_notice(holder: LockHolder) -> str:
    """One sentence: who holds the incident, and what that means here."""
    who = safe(
        f"PID {holder.pid} on {holder.host}, since {holder.since}", kind="line", max_cells=120
    )
    return (
        f"Another console ({who}) is acting on this incident: this one is read-only, "
        "sends nothing and leaves that console's actions in flight alone. Press d for a "
        "dry run."
    )
