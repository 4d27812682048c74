"""Which user records of a page are stored, and a tally of those that are not.

No single odd record may abort a load. GitLab's ids are PostgreSQL ``bigint``; the store keeps
them as SQLite ``INTEGER``, signed 64-bit, so an id outside ``1 .. 2**63 - 1`` cannot be a real
GitLab user and cannot be stored: the record is skipped and counted. A record without an
integer id is skipped the same way. Any other top-level number beyond 64 bits (``sign_in_count``
and the like) makes the store refuse the batch (``OverflowError``); the batch is then written
again without such numbers, and the rest of each record is kept. Only that rare retry scans
every field, so a normal page costs one id check per record.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ID_MAX", "SkipTally", "screen_users", "store_trimmed", "user_id"]

#: The largest id SQLite's INTEGER (and GitLab's bigint) holds.
ID_MAX: Final = 2**63 - 1
_INT_MIN: Final = -(2**63)

NOT_AN_OBJECT: Final = "not a JSON object"
NO_ID: Final = "no integer id"
ID_OUT_OF_RANGE: Final = "id outside 1..2^63-1"
#: Not a skip: the record was stored without the field.
BIG_NUMBER: Final = "stored without a number beyond 64 bits"


def user_id(item: Mapping[str, Any]) -> int | None:
    """The record's id when it is one the store can hold, else None."""
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ID_MAX:
        return None
    return value


@dataclass(slots=True)
class SkipTally:
    """Records left out of a load (and records trimmed), by reason, each counted once.

    Overlapping slices and the two streams may see one record twice: a record is recognised
    again by its id, or by its JSON text when it has no usable id.
    """

    counts: Counter[str] = field(default_factory=Counter)
    seen: set[tuple[str, str]] = field(default_factory=set)
    #: the writer thread trims while the event loop screens
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def skipped(self) -> int:
        return sum(n for reason, n in self.counts.items() if reason != BIG_NUMBER)

    def reasons(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.counts.items()))

    def add(self, reason: str, record: object) -> None:
        key = (reason, repr(record))
        with self.lock:
            if key not in self.seen:
                self.seen.add(key)
                self.counts[reason] += 1


def _fits(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or _INT_MIN <= value <= ID_MAX


def screen_users(items: list[object], tally: SkipTally) -> list[dict[str, Any]]:
    """The records of one page the store can hold (in page order); the rest go to ``tally``."""
    kept: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            tally.add(NOT_AN_OBJECT, item)
            continue
        uid = user_id(item)
        if uid is None:
            raw = item.get("id")
            if isinstance(raw, int) and not isinstance(raw, bool):
                tally.add(ID_OUT_OF_RANGE, raw)
            else:
                tally.add(NO_ID, item)
            continue
        kept.append(item)
    return kept


def store_trimmed(
    write: Callable[[list[dict[str, Any]]], object],
    records: list[dict[str, Any]],
    tally: SkipTally,
) -> None:
    """``write(records)``; when the store refuses a number beyond 64 bits, write the records
    again without such top-level numbers (each trimmed record counted once)."""
    try:
        write(records)
        return
    except OverflowError:
        pass
    trimmed: list[dict[str, Any]] = []
    for item in records:
        if not all(_fits(v) for v in item.values()):
            item = {k: v for k, v in item.items() if _fits(v)}
            tally.add(BIG_NUMBER, item.get("id"))
        trimmed.append(item)
    write(trimmed)
