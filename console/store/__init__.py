"""The SQLite facade: incidents, the users cache, review marks, UI state, cached data, journal.

:class:`Store` is composed of one part per area, each in its own module:

* :mod:`~console.store.connection`: opening safely, one connection per thread, write transactions
  (WAL, ``synchronous=FULL``, files 0600 in a 0700 directory);
* :mod:`~console.store.schema`: the DDL and ``PRAGMA user_version`` migrations;
* :mod:`~console.store.incidents`, :mod:`~console.store.users` (row and query types),
  :mod:`~console.store.user_cache`, :mod:`~console.store.user_queries`,
  :mod:`~console.store.marks`, :mod:`~console.store.ui_state`, :mod:`~console.store.cache`,
  :mod:`~console.store.notes` (responder notes), :mod:`~console.store.runbook_ticks` (hand ticks);
* :mod:`~console.store.timeline_queries` and :mod:`~console.store.timeline_keys`: events, journal
  entries and notes on one time axis, read a window at a time;
* :mod:`~console.store.journal` and :mod:`~console.store.chain`: the response-action journal and
  its hash chain;
* :mod:`~console.store.values`: column values (timestamps: :mod:`console.timeutil`).

Values are stdlib types or JSON text, never pickle.  Import everything from ``console.store``.
"""

from __future__ import annotations

from console.store.cache import CacheStore
from console.store.chain import ZERO_HASH, canonical_json
from console.store.connection import DB_FILENAME
from console.store.credentials import CREDENTIAL_SORTS, CredentialQuery, CredentialStore
from console.store.errors import StoreCorruptError, StoreError, StoreFullError
from console.store.event_counts import EventCounts
from console.store.event_rows import EventRows, prepare_events
from console.store.events import EVENT_COLUMNS, EventQuery, EventRids, EventStore, fts_query
from console.store.incidents import INCIDENT_KINDS, INCIDENT_STATUSES, Incident
from console.store.journal import (
    JOURNAL_PENDING_STATES,
    JOURNAL_STATES,
    JournalEntry,
    JournalStore,
)
from console.store.marks import MARKS, Mark, MarkStore, ReviewProgress
from console.store.notes import NOTE_OBJECTS, Note, NoteStore
from console.store.runbook_ticks import RunbookTick, RunbookTickStore
from console.store.schema import SCHEMA_VERSION
from console.store.timeline_keys import TimelineKeys
from console.store.timeline_queries import (
    TIMELINE_KINDS,
    TimelineKey,
    TimelineQuery,
    TimelineQueryStore,
    TimelineRow,
)
from console.store.ui_state import UiStateStore
from console.store.user_cache import UserCacheStore
from console.store.user_queries import UserQueryStore
from console.store.users import (
    BLOCKED_STATES,
    BOT_USER_TYPES,
    FILTERS,
    SORT_KEYS,
    USER_COLUMNS,
    UserQuery,
    UserRow,
    user_kind,
)
from console.store.users import USER_SELECT as _USER_SELECT  # noqa: F401 (query-plan test)

__all__ = [
    "BLOCKED_STATES",
    "BOT_USER_TYPES",
    "CREDENTIAL_SORTS",
    "DB_FILENAME",
    "EVENT_COLUMNS",
    "FILTERS",
    "INCIDENT_KINDS",
    "INCIDENT_STATUSES",
    "JOURNAL_PENDING_STATES",
    "JOURNAL_STATES",
    "MARKS",
    "NOTE_OBJECTS",
    "SCHEMA_VERSION",
    "SORT_KEYS",
    "TIMELINE_KINDS",
    "USER_COLUMNS",
    "ZERO_HASH",
    "CredentialQuery",
    "EventCounts",
    "EventQuery",
    "EventRids",
    "EventRows",
    "Incident",
    "JournalEntry",
    "Mark",
    "Note",
    "ReviewProgress",
    "RunbookTick",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "TimelineKey",
    "TimelineKeys",
    "TimelineQuery",
    "TimelineRow",
    "UserQuery",
    "UserRow",
    "canonical_json",
    "fts_query",
    "prepare_events",
    "user_kind",
]


class Store(
    UserQueryStore,
    UserCacheStore,
    MarkStore,
    UiStateStore,
    CacheStore,
    JournalStore,
    NoteStore,
    RunbookTickStore,
    EventStore,
    CredentialStore,
    TimelineQueryStore,
):
    """Thread-safe facade over one SQLite file (one connection per thread)."""
