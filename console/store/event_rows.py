"""Audit events as rows: the normalised event's columns, the query a pane asks, FTS input.

Kept apart from the store classes so the writer, the queries and the lazy row-id view share one
definition of a row and of a query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from console.store.values import dbstr, dumps_record
from console.timeutil import normalize_ts

__all__ = [
    "ANALYZE_EVERY",
    "CHUNK",
    "COUNT_AFTER",
    "EAGER_LIMIT",
    "EVENT_COLUMNS",
    "FTS_COLUMNS",
    "FTS_INDEX_AFTER",
    "INSERT_EVENT",
    "MAX_BIT",
    "EventQuery",
    "EventRows",
    "event_categories",
    "fts_query",
    "prepare_events",
    "search_text",
    "sql_order",
]

#: Columns of a stored event, in the order :meth:`EventStore.events_by_rids` returns them.
EVENT_COLUMNS: Final = (
    "rid",
    "scope",
    "id",
    "created_at",
    "author_id",
    "author_name",
    "entity_type",
    "entity_id",
    "entity_path",
    "event_name",
    "category",
    "cat_mask",
    "target_type",
    "target_id",
    "target_details",
    "ip_address",
    "summary",
    "details",
)

#: A row is :func:`prepare_events`' part, then the incident, the scope and the category mask
#: (added in the writer's transaction, which assigns category bits).
INSERT_EVENT: Final = (
    "INSERT INTO audit_events (id, created_at, author_id, author_name, entity_type, "
    "entity_id, entity_path, event_name, category, target_type, target_id, target_details, "
    "ip_address, summary, details, search_text, incident_id, scope, cat_mask) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (incident_id, scope, id) DO NOTHING"
)
#: What a search reads: the text columns, and the details' values that are in none of them
#: (:func:`search_text`). Indexing the details' JSON itself doubled the index (every key of
#: every event, every value a column already holds) and a third of the time a load took.
FTS_COLUMNS: Final = (
    "author_name, entity_path, event_name, target_details, ip_address, summary, search_text"
)
#: Index the rows inserted after row id ``?`` (the table's largest before the insert): new rows
#: always get a larger row id than any present, so this is exactly the transaction's new rows.
FTS_INDEX_AFTER: Final = (
    f"INSERT INTO audit_events_fts (rowid, {FTS_COLUMNS}) "  # noqa: S608
    f"SELECT rid, {FTS_COLUMNS} FROM audit_events WHERE rid > ?"
)
#: Add the rows inserted after row id ``?`` to the per-(incident, scope, mask) counts.
COUNT_AFTER: Final = (
    "INSERT INTO audit_event_counts (incident_id, scope, cat_mask, n) "
    "SELECT incident_id, scope, cat_mask, count(*) FROM audit_events WHERE rid > ? "
    "GROUP BY incident_id, scope, cat_mask "
    "ON CONFLICT (incident_id, scope, cat_mask) DO UPDATE SET n = n + excluded.n"
)
_SQLITE_INT_MAX: Final = 2**63 - 1
#: Longest search term handed to FTS5 (a pasted blob is searched by its first part).
_MAX_TERM: Final = 200
_TOKEN: Final = re.compile(r"\S+")
MAX_BIT: Final = 62
_CATEGORY: Final = re.compile(r"[A-Za-z0-9_]{1,40}\Z")
#: Rows written between ``PRAGMA optimize`` runs (keeps the planner's statistics current).
ANALYZE_EVERY: Final = 50_000
#: Result sets up to this size are read whole through their most selective index and sorted;
#: larger ones are read a chunk at a time in time order as the table scrolls.
EAGER_LIMIT: Final = 20_000
CHUNK: Final = 1_000


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events to show. Every field narrows; empty fields do not filter."""

    search: str = ""
    categories: frozenset[str] = frozenset()
    scope: str | None = None
    #: the author's numeric id, or a name matched case-insensitively
    author: str | None = None
    ip: str | None = None
    event_names: frozenset[str] = frozenset()
    #: ("Group", 12): events whose entity is that object
    entity: tuple[str, int] | None = None
    #: ("PersonalAccessToken", "55"): events whose target is that object
    target: tuple[str, str] | None = None
    since: str | None = None
    until: str | None = None
    #: events a user authored or that targeted the user
    user_id: int | None = None
    oldest_first: bool = False


def fts_query(text: str) -> str | None:
    """A user's search text as an FTS5 query: every word must match as a prefix.

    Each word is quoted (FTS5 syntax in the input is never interpreted, so a ``"`` or ``NEAR``
    typed or pasted is just text) and gets a prefix ``*``. None when nothing is left.
    """
    terms = []
    for word in _TOKEN.findall(text[: _MAX_TERM * 4]):
        word = word[:_MAX_TERM].replace('"', '""')
        if any(ch.isalnum() for ch in word):
            terms.append(f'"{word}"*')
    return " ".join(terms) if terms else None


def _as_int(value: object) -> int | None:
    if type(value) is int and -_SQLITE_INT_MAX <= value <= _SQLITE_INT_MAX:  # the usual case
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        else:
            return None
    return value if -_SQLITE_INT_MAX <= value <= _SQLITE_INT_MAX else None


def _text(value: object) -> str:
    if type(value) is str and value.isascii():  # the usual case, first
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return dbstr(value) or ""
    if isinstance(value, int | float | bool):
        return str(value)
    return dbstr(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)) or ""


def event_categories(event: Mapping[str, Any]) -> list[str]:
    value = event.get("categories") or ()
    if isinstance(value, str):
        value = (value,)
    names = [c for c in value if isinstance(c, str) and _CATEGORY.match(c)]
    primary = event.get("category")
    if isinstance(primary, str) and _CATEGORY.match(primary) and primary not in names:
        names.append(primary)
    return names


class EventRows(NamedTuple):
    """Events made into rows before the transaction (:func:`prepare_events`), so a loader can
    do it on another thread while the writer's transaction runs."""

    #: each row without its incident, scope and category mask (see :data:`INSERT_EVENT`)
    rows: list[tuple[Any, ...]]
    #: the category names of each row
    categories: list[tuple[str, ...]]


def prepare_events(events: Iterable[Mapping[str, Any]]) -> EventRows:
    """Normalised events (``AuditEvent.to_dict()`` shape) as rows; records without an id or a
    time are left out."""
    out = EventRows([], [])
    for event in events:
        row = _event_row(event)
        if row is not None:
            out.rows.append(row)
            out.categories.append(tuple(event_categories(event)))
    return out


def _event_row(event: Mapping[str, Any]) -> tuple[Any, ...] | None:
    event_id = _as_int(event.get("id"))
    created = normalize_ts(event.get("created_at"))
    if event_id is None or not created:
        return None
    details = event.get("details")
    if not isinstance(details, Mapping):
        details = {}
    columns = (
        _text(event.get("author_name")),
        _text(event.get("entity_path")),
        _text(event.get("event_name")),
        _text(event.get("target_details")),
        _text(event.get("ip_address")),
        _text(event.get("summary")),
    )
    author, path, name, target_details, ip, summary = columns
    return (
        event_id,
        created,
        _as_int(event.get("author_id")),
        author,
        _text(event.get("entity_type")),
        _as_int(event.get("entity_id")),
        path,
        name,
        _text(event.get("category")),
        _text(event.get("target_type")),
        _text(event.get("target_id")),
        target_details,
        ip,
        summary,
        dbstr(dumps_record(details)) or "{}",
        search_text(details, columns),
    )


def search_text(details: object, columns: tuple[str, ...]) -> str:
    """The details' values a search must find that ``columns`` (the other indexed text) lack.

    Every string and number at any depth, once, in order; a value equal to a column's, and
    the custom message (the summary starts with it), are left out. Keys are not indexed: every
    event has the same few, and a search for one would match everything.
    """
    seen = set(columns)
    message = details.get("custom_message") if isinstance(details, Mapping) else None
    if isinstance(message, str) and columns and message in columns[-1]:
        seen.add(message)
    out: list[str] = []

    def walk(values: Iterable[object]) -> None:
        for value in values:
            kind = type(value)
            text: str
            if isinstance(value, str) and kind is str:  # the usual case, first, no ABC checks
                text = value
            elif kind is bool or value is None:
                continue
            elif kind is int or kind is float:
                text = str(value)
            elif isinstance(value, Mapping):
                walk(value.values())
                continue
            elif isinstance(value, list | tuple):
                walk(value)
                continue
            elif isinstance(value, str | int | float) and not isinstance(value, bool):
                text = str(value)
            else:
                continue
            if text and text not in seen:
                seen.add(text)
                out.append(text)

    if isinstance(details, Mapping):
        walk(details.values())
    elif isinstance(details, list | tuple):
        walk(details)
    else:
        walk((details,))
    return dbstr(" ".join(out)) or ""


def sql_order(q: EventQuery) -> str:
    return "ASC" if q.oldest_first else "DESC"
