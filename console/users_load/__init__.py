"""Loading an incident's users: every user into the store, their detail, and every PAT.

``plan`` cuts an admin's instance into creation-time slices, ``partitions`` reads them
concurrently, ``streams`` holds the load's state and the two id streams every other token uses,
``records`` decides which records can be stored, ``core`` runs a load, ``writer`` overlaps it
with batched store writes for a worker thread, ``enrich`` fetches per-user detail and ``pat``
the token list. All HTTP goes through :mod:`console.api` (pinned links, one retry policy); the
``*_blocking`` entry points run on :mod:`console.api.bridge`, so call them from a thread worker,
never the UI loop.
"""

from __future__ import annotations

from console.users_load.core import MAX_PER_PAGE, LoadProgress, LoadResult, load_users
from console.users_load.enrich import EnrichResult, enrich_users, enrich_users_blocking
from console.users_load.pat import FetchError, fetch_tokens, fetch_tokens_blocking
from console.users_load.plan import PARTITION_CONCURRENCY, PARTITIONS
from console.users_load.records import ID_MAX
from console.users_load.writer import WRITE_AHEAD_PAGES, WRITE_BATCH_USERS, load_users_blocking

__all__ = [
    "ID_MAX",
    "MAX_PER_PAGE",
    "PARTITIONS",
    "PARTITION_CONCURRENCY",
    "WRITE_AHEAD_PAGES",
    "WRITE_BATCH_USERS",
    "EnrichResult",
    "FetchError",
    "LoadProgress",
    "LoadResult",
    "enrich_users",
    "enrich_users_blocking",
    "fetch_tokens",
    "fetch_tokens_blocking",
    "load_users",
    "load_users_blocking",
]
