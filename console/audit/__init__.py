"""Audit events: categories, ≤30-day slicing, keyset fetching, normalising and filtering.

Headless (no Textual, no Rich). The REST API filters only by date (at most 30 days per query) and,
on the instance endpoint, by entity; everything else is classified and filtered here, on the
client. Text in the records is the server's raw text: it is sanitised when displayed, not here.
"""

from __future__ import annotations

from console.audit.categories import (
    AUDIT_CATEGORIES,
    AUDIT_SECONDARY,
    CATEGORY_LABELS,
    CATEGORY_ORDER,
    LEGACY_MESSAGE_PATTERNS,
    categories_of,
    categorize,
    event_name_of,
)
from console.audit.fetch import (
    FREE_TIER_DETAIL,
    FREE_TIER_TITLE,
    AuditFetch,
    AuditProgress,
    Scope,
    fetch_audit_events,
    free_tier_problem,
)
from console.audit.filter import (
    AuditFilter,
    category_counts,
    filter_events,
    involves_user,
    matches,
)
from console.audit.model import AuditEvent, normalize_event, summarize
from console.audit.window import (
    DEFAULT_WINDOW_DAYS,
    EVENTS_CACHE_PREFIX,
    MAX_QUERY_DAYS,
    events_cache_key,
    incident_window,
    window_slices,
)
from console.timeutil import parse_ts as parse_time  # the screens still import it from here

__all__ = [
    "AUDIT_CATEGORIES",
    "AUDIT_SECONDARY",
    "CATEGORY_LABELS",
    "CATEGORY_ORDER",
    "DEFAULT_WINDOW_DAYS",
    "EVENTS_CACHE_PREFIX",
    "FREE_TIER_DETAIL",
    "FREE_TIER_TITLE",
    "LEGACY_MESSAGE_PATTERNS",
    "MAX_QUERY_DAYS",
    "AuditEvent",
    "AuditFetch",
    "AuditFilter",
    "AuditProgress",
    "Scope",
    "categories_of",
    "categorize",
    "category_counts",
    "event_name_of",
    "events_cache_key",
    "fetch_audit_events",
    "filter_events",
    "free_tier_problem",
    "incident_window",
    "involves_user",
    "matches",
    "normalize_event",
    "parse_time",
    "summarize",
    "window_slices",
]
