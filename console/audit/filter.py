"""Client-side audit filtering: the REST API filters only by date (and instance entity)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from console.audit.categories import CATEGORY_ORDER
from console.audit.model import AuditEvent, as_int
from console.timeutil import parse_ts

__all__ = ["AuditFilter", "category_counts", "filter_events", "involves_user", "matches"]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Client-side filter. Empty fields match everything.

    ``user_id`` matches events by the user (author) or about the user (target, or a User entity),
    because a token event's entity is its author and the victim is only in the target.
    """

    search: str = ""
    categories: frozenset[str] = frozenset()
    author_id: int | None = None
    entity: tuple[str, int] | None = None
    user_id: int | None = None
    since: str | None = None
    until: str | None = None
    username: str | None = None  # with user_id: also match unauthenticated attempts on it

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "categories": sorted(self.categories),
            "author_id": self.author_id,
            "entity": list(self.entity) if self.entity else None,
            "user_id": self.user_id,
            "since": self.since,
            "until": self.until,
            "username": self.username,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditFilter:
        entity = data.get("entity")
        return cls(
            search=str(data.get("search") or ""),
            categories=frozenset(str(c) for c in data.get("categories") or ()),
            author_id=as_int(data.get("author_id")),
            entity=(str(entity[0]), int(entity[1])) if entity else None,
            user_id=as_int(data.get("user_id")),
            since=data.get("since") or None,
            until=data.get("until") or None,
            username=str(data["username"]) if data.get("username") else None,
        )


def involves_user(event: AuditEvent, user_id: int, username: str | None = None) -> bool:
    """True when the user is the author, the target, or the User entity of the event.

    With ``username``, failed sign-ins by an unauthenticated author (whose ``author_name`` is the
    login that was typed) against that username count too: they are attacks on the account.
    """
    if (
        event.author_id == user_id
        or event.target_user_id == user_id
        or (event.entity_type == "User" and event.entity_id == user_id)
    ):
        return True
    if username and (event.author_id is None or event.author_id < 0):
        typed = event.author_name.strip().casefold()
        return typed in (username.casefold(), "@" + username.casefold())
    return False


def _haystack(event: AuditEvent) -> str:
    return " ".join(
        (
            event.event_name,
            event.category,
            event.author_name,
            event.entity_path,
            event.target_type,
            event.target_details,
            event.target_id,
            event.ip_address,
            event.summary,
            event.entity_type,
            str(event.id),
            str(event.author_id or ""),
        )
    ).casefold()


def matches(event: AuditEvent, f: AuditFilter) -> bool:
    if f.categories and not (set(event.categories or (event.category,)) & f.categories):
        return False
    if f.author_id is not None and event.author_id != f.author_id:
        return False
    if f.entity is not None and (event.entity_type, event.entity_id) != f.entity:
        return False
    if f.user_id is not None and not involves_user(event, f.user_id, f.username):
        return False
    when = parse_ts(event.created_at)
    since, until = parse_ts(f.since), parse_ts(f.until)
    if since is not None and (when is None or when < since):
        return False
    if until is not None and (when is None or when > until):
        return False
    if f.search:
        hay = _haystack(event)
        if not all(term in hay for term in f.search.casefold().split()):
            return False
    return True


def filter_events(events: Iterable[AuditEvent], f: AuditFilter) -> list[AuditEvent]:
    """The events that match ``f``, in their original order."""
    return [e for e in events if matches(e, f)]


def category_counts(events: Sequence[AuditEvent]) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORY_ORDER, 0)
    for e in events:
        for c in e.categories or (e.category,):
            counts[c] = counts.get(c, 0) + 1
    return counts
