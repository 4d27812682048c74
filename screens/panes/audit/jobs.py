"""The audit pane's blocking work (thread workers call these): load, query, counts, IP users.

Each returns its result or raises; the pane's one worker handler turns a raise into a Problem.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from console.audit import Scope, incident_window
from console.audit.load import EventsLoadProgress, EventsLoadResult, load_events_blocking
from console.context import AppContext
from console.store import EventQuery

__all__ = ["as_scope", "ip_users", "load", "window"]


def as_scope(scope: str) -> Scope:
    """``group:12`` → ``("group", 12)``; anything else is the instance."""
    kind, _, ident = scope.partition(":")
    if kind == "group" and ident.isdigit():
        return ("group", int(ident))
    if kind == "project" and ident.isdigit():
        return ("project", int(ident))
    return ("instance", None)


def window(ctx: AppContext) -> tuple[datetime, datetime]:
    """The incident window; an open end is GitLab's "now" (the server clock), not this host's."""
    inc = ctx.incident
    start, end = incident_window(inc.window_start, inc.window_end)
    if not inc.window_end:
        end = ctx.clock.now()
    return start, end


def load(
    ctx: AppContext,
    scope: str,
    on_progress: Callable[[EventsLoadProgress], None],
    cancelled: Callable[[], bool],
    on_wait: Callable[[float, str], None] | None = None,
) -> EventsLoadResult:
    """Fetch the windows of ``scope`` the store does not hold yet (blocking)."""
    conn = ctx.connection
    return load_events_blocking(
        conn.config, conn.token, ctx.store, ctx.incident_id, window(ctx),
        scope=as_scope(scope), now=ctx.clock.now(), on_progress=on_progress,
        cancelled=cancelled, on_wait=on_wait,
    )  # fmt: skip


def ip_users(ctx: AppContext, ip: str) -> list[tuple[int, str, str]]:
    """Every user tied to ``ip``: signed in from it (current or last sign-in IP), the author of
    an audit event from it, or the account a failed sign-in from it named. ``(id, username,
    why)``, sorted by username."""
    store, incident = ctx.store, ctx.incident_id
    why: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for author, count in store.event_authors(incident, EventQuery(ip=ip)).items():
        if author > 0:
            why[author] = [f"{count} audit event{'s' if count != 1 else ''} from it"]
    tried = _failed_sign_in_names(ctx, ip)
    for user in store.iter_users(incident):
        reasons = why.get(user.id, [])
        if user.current_sign_in_ip == ip:
            reasons.append("current sign-in IP")
        if user.last_sign_in_ip == ip:
            reasons.append("last sign-in IP")
        if user.username.lower() in tried and user.id not in why:
            reasons.append("failed sign-ins on this account")
        if reasons:
            why[user.id] = reasons
            names[user.id] = user.username
    rows = [(uid, names.get(uid, f"#{uid}"), ", ".join(r)) for uid, r in why.items()]
    return sorted(rows, key=lambda r: r[1].lower())


def _failed_sign_in_names(ctx: AppContext, ip: str) -> set[str]:
    """Account names failed sign-ins from ``ip`` tried (they carry no author id)."""
    store, incident = ctx.store, ctx.incident_id
    rids = store.event_rids(
        incident, EventQuery(ip=ip, categories=frozenset({"SIGNIN"})), limit=2_000
    )
    return {
        str(event.get("author_name") or "").lower()
        for event in store.events_by_rids(incident, rids)
        if not isinstance(event.get("author_id"), int) or event["author_id"] <= 0
    } - {""}
