"""Which user records of a page are stored, and a tally of those that are not.

No single odd record may abort a load. GitLab's ids are PostgreSQL ``bigint``; the store keeps
them as SQLite ``INTEGER``, signed 64-bit, so an id outside ``1 .. 2**63 - 1`` cannot be a real
GitLab user and cannot be stored: the record is skipped and counted. A record without an
integer id is skipped the same way. Any other top-level number beyond 64 bits (``sign_in_count``
and the like) is left out of the stored copy; the rest of the record is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ID_MAX", "SkipTally", "screen_users", "user_id"]

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
    """Records left out of a load (and records trimmed), by reason.

    Out-of-range ids are counted once each although overlapping slices and streams may see
    them twice; records with no id at all cannot be told apart and count per sighting.
    """

    counts: Counter[str] = field(default_factory=Counter)
    bad_ids: set[object] = field(default_factory=set)

    @property
    def skipped(self) -> int:
        return sum(n for reason, n in self.counts.items() if reason != BIG_NUMBER)

    def reasons(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.counts.items()))

    def add(self, reason: str, count: int = 1) -> None:
        if count:
            self.counts[reason] += count


def _fits(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or _INT_MIN <= value <= ID_MAX


def screen_users(items: list[dict[str, Any]], tally: SkipTally) -> list[dict[str, Any]]:
    """The records of one page the store can hold (in page order); the rest go to ``tally``."""
    kept: list[dict[str, Any]] = []
    for item in items:
        if user_id(item) is None:
            raw = item.get("id")
            if isinstance(raw, int) and not isinstance(raw, bool):
                if raw not in tally.bad_ids:
                    tally.bad_ids.add(raw)
                    tally.add(ID_OUT_OF_RANGE)
            else:
                tally.add(NO_ID)
            continue
        if not all(_fits(v) for v in item.values()):
            item = {k: v for k, v in item.items() if _fits(v)}
            tally.add(BIG_NUMBER)
        kept.append(item)
    return kept
