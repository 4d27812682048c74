"""Fetching audit events: ≤30-day slices, keyset pages, deduplicated by id.

Paging, retries and waits go through :mod:`console.api.pages`; a 403/404 on the first request is
the Free-tier (or not-admin) coverage gap, not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from console.api.pages import ReadCancelled, WaitCallback, iter_pages, status_of
from console.audit.model import AuditEvent, normalize_event
from console.audit.window import MAX_QUERY_DAYS, window_slices
from console.config import server_now
from console.errors import Problem, describe_error
from console.timeutil import format_iso

__all__ = [
    "FREE_TIER_DETAIL",
    "FREE_TIER_TITLE",
    "AuditFetch",
    "AuditProgress",
    "Scope",
    "fetch_audit_events",
    "free_tier_problem",
]

Scope = tuple[Literal["instance", "group", "project"], int | None]

FREE_TIER_TITLE = "Audit events need GitLab Premium or Ultimate"
FREE_TIER_DETAIL = (
    "Audit events need GitLab Premium or Ultimate; use contribution events and sign-in fields."
)


@dataclass(frozen=True, slots=True)
class AuditProgress:
    """Reported after every page: which slice, how many pages and events so far."""

    slice_index: int
    slice_count: int
    pages: int
    events: int


@dataclass(slots=True)
class AuditFetch:
    events: list[AuditEvent]
    problem: Problem | None
    slices: list[tuple[datetime, datetime]]
    complete: bool = True  # False when cancelled or stopped by an error part-way
    coverage_gap: bool = False  # True on Free tier / no audit API (not an error)


def _scope_path(scope: Scope) -> str:
    kind, ident = scope
    if kind == "instance":
        return "/audit_events"
    if ident is None:
        raise ValueError(f"{kind} audit events need an id")
    return f"/{kind}s/{ident}/audit_events"


def free_tier_problem(status: int | None = None) -> Problem:
    """The coverage note for "no audit API here": Free tier (404), or no licence/rights (403)."""
    detail = FREE_TIER_DETAIL
    if status == 403:
        detail += (
            " GitLab answered 403: on Premium or Ultimate this means the token is not an "
            "administrator (instance audit events are admin-only)."
        )
    return Problem(
        title=FREE_TIER_TITLE,
        detail=detail,
        next_step=(
            "Review contribution events and the users' sign-in fields in the dossier, "
            "and the credentials inventory."
        ),
        kind="coverage",
        status=status,
    )


def fetch_audit_events(
    gl_or_client: Any,
    scope: Scope = ("instance", None),
    window: tuple[datetime | str, datetime | str] | None = None,
    *,
    entity_type: str | None = None,
    entity_id: int | None = None,
    on_progress: Callable[[AuditProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_wait: WaitCallback | None = None,
    per_page: int = 100,
    max_days: int = MAX_QUERY_DAYS,
    now: datetime | None = None,
) -> AuditFetch:
    """Fetch every audit event of ``scope`` in ``window`` (newest first), slice by slice.

    Keyset pagination (``order_by=id&sort=desc``) per ≤30-day slice; events are deduplicated by
    id. A 403/404 on the first request means the instance (or token) has no audit API: the result
    carries the Free-tier coverage problem and no events. Any other failure keeps what was
    fetched so far and reports the problem. Waits (429, retries) are reported to ``on_wait`` and
    end when ``cancelled()`` turns true. Without a ``window``, the last ``max_days`` days up to
    ``now`` (by default the server's time as the client learned it: ``config.server_now``).
    """
    if window is None:
        end = now or server_now(gl_or_client)
        window = (end - timedelta(days=max_days), end)
    slices = window_slices(window[0], window[1], max_days)
    path = _scope_path(scope)
    seen: dict[int, AuditEvent] = {}
    pages = 0
    is_cancelled = cancelled or (lambda: False)
    for index, (lo, hi) in enumerate(slices):
        params: dict[str, Any] = {
            "created_after": format_iso(lo, "seconds"),
            "created_before": format_iso(hi, "seconds"),
            "pagination": "keyset",
            "order_by": "id",
            "sort": "desc",
            "per_page": per_page,
        }
        if entity_type and scope[0] == "instance":
            params["entity_type"] = entity_type
            if entity_id is not None:
                params["entity_id"] = entity_id
        try:
            for page in iter_pages(
                gl_or_client, path, params, cancelled=is_cancelled, on_wait=on_wait
            ):
                if is_cancelled():
                    return AuditFetch(_ordered(seen), None, slices, complete=False)
                pages += 1
                for raw in page:
                    if isinstance(raw, Mapping):
                        event = normalize_event(raw)
                        if event is not None:
                            seen.setdefault(event.id, event)
                if on_progress is not None:
                    on_progress(AuditProgress(index + 1, len(slices), pages, len(seen)))
        except ReadCancelled:
            return AuditFetch(_ordered(seen), None, slices, complete=False)
        except Exception as exc:
            status = status_of(exc)
            if status in (403, 404) and not seen and pages == 0:
                return AuditFetch([], free_tier_problem(status), slices, coverage_gap=True)
            return AuditFetch(_ordered(seen), describe_error(exc), slices, complete=False)
        if is_cancelled():
            return AuditFetch(_ordered(seen), None, slices, complete=False)
    return AuditFetch(_ordered(seen), None, slices)


def _ordered(seen: Mapping[int, AuditEvent]) -> list[AuditEvent]:
    return sorted(seen.values(), key=lambda e: (e.created_at, e.id), reverse=True)
