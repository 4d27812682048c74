"""What the audit pane shows: one frozen view turned into a store query, saved on resume.

Every field narrows and combines with the others and the search; ``hunt`` names one of
:data:`console.audit.hunts.HUNTS` and replaces the category filter while it is on.
``parse_filter_command`` reads the ``:author x``/``:ip x``/``:scope group 12``… command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from console.audit.hunts import hunt_by_key
from console.audit.model import as_int
from console.store import EventQuery
from console.timeutil import format_iso, parse_ts

__all__ = ["FILTER_COMMANDS", "AuditView", "parse_filter_command", "scope_label"]

#: ``:word value`` commands that set one field of the view (an empty value clears it).
FILTER_COMMANDS: Final = ("scope", "author", "ip", "event", "entity", "target", "since", "until")
_ENTITY_TYPES: Final = {"user": "User", "group": "Group", "project": "Project"}


@dataclass(frozen=True, slots=True)
class AuditView:
    """The audit pane's filters. Empty fields do not narrow."""

    search: str = ""
    categories: frozenset[str] = frozenset()
    scope: str = "instance"
    author: str | None = None
    ip: str | None = None
    event_name: str | None = None
    entity: tuple[str, int] | None = None
    target: tuple[str, str] | None = None
    since: str | None = None
    until: str | None = None
    user_id: int | None = None
    username: str | None = None
    hunt: str | None = None

    def query(self) -> EventQuery:
        q = EventQuery(
            search=self.search, categories=self.categories, scope=self.scope,
            author=self.author, ip=self.ip,
            event_names=frozenset({self.event_name}) if self.event_name else frozenset(),
            entity=self.entity, target=self.target, since=self.since, until=self.until,
            user_id=self.user_id,
        )  # fmt: skip
        hunt = hunt_by_key(self.hunt) if self.hunt else None
        return hunt.query(q) if hunt is not None else q

    @property
    def is_filtered(self) -> bool:
        """Narrowed by anything but the search and the scope."""
        return bool(
            self.categories
            or self.author
            or self.ip
            or self.event_name
            or self.entity
            or self.target
            or self.since
            or self.until
            or self.user_id is not None
            or self.hunt
        )

    def cleared(self) -> AuditView:
        """Every filter off; the search and the scope stay."""
        return AuditView(search=self.search, scope=self.scope)

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search, "categories": sorted(self.categories), "scope": self.scope,
            "author": self.author, "ip": self.ip, "event_name": self.event_name,
            "entity": list(self.entity) if self.entity else None,
            "target": list(self.target) if self.target else None,
            "since": self.since, "until": self.until, "user_id": self.user_id,
            "username": self.username, "hunt": self.hunt,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditView:
        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if isinstance(value, str | int) and str(value) else None

        entity, target = data.get("entity"), data.get("target")
        entity_id = as_int(entity[1]) if isinstance(entity, list) and len(entity) == 2 else None
        hunt = text("hunt")
        return cls(
            search=str(data.get("search") or ""),
            categories=frozenset(str(c) for c in data.get("categories") or ()),
            scope=text("scope") or "instance",
            author=text("author"), ip=text("ip"), event_name=text("event_name"),
            entity=(str(entity[0]), entity_id) if entity_id is not None and entity else None,
            target=(str(target[0]), str(target[1]))
            if isinstance(target, list) and len(target) == 2 else None,
            since=text("since"), until=text("until"), user_id=as_int(data.get("user_id")),
            username=text("username"),
            hunt=hunt if hunt and hunt_by_key(hunt) else None,
        )  # fmt: skip


def scope_label(scope: str) -> str:
    kind, _, ident = scope.partition(":")
    return "instance" if kind == "instance" else f"{kind} #{ident}"


def _parse_scope(value: str) -> str | None:
    words = value.lower().split()
    if not words or words == ["instance"]:
        return "instance"
    if len(words) == 2 and words[0] in ("group", "project") and words[1].isdigit():
        return f"{words[0]}:{int(words[1])}"
    return None


def parse_filter_command(view: AuditView, word: str, value: str) -> AuditView | str:
    """``view`` with ``:word value`` applied, or a sentence saying why it cannot be."""
    value = value.strip()
    if word == "scope":
        scope = _parse_scope(value)
        if scope is None:
            return "scope: instance, group <id> or project <id>"
        return replace(view, scope=scope)
    if word == "author":
        return replace(view, author=value or None)
    if word == "ip":
        return replace(view, ip=value or None)
    if word == "event":
        return replace(view, event_name=value or None)
    if word in ("entity", "target"):
        if not value:
            return replace(view, entity=None) if word == "entity" else replace(view, target=None)
        kind, _, ident = value.partition(" ")
        if word == "entity":
            type_name = _ENTITY_TYPES.get(kind.lower())
            ident_n = as_int(ident.strip())
            if type_name is None or ident_n is None:
                return "entity: user <id>, group <id> or project <id>"
            return replace(view, entity=(type_name, ident_n))
        if not ident.strip():
            return "target: <type> <id>, e.g. PersonalAccessToken 55"
        return replace(view, target=(kind, ident.strip()))
    if word in ("since", "until"):
        moment = parse_ts(value) if value else None
        if value and moment is None:
            return f"{word}: a date or time such as 2025-05-01 or 2025-05-01T10:00Z"
        when = format_iso(moment, "seconds") if moment is not None else None
        return replace(view, since=when) if word == "since" else replace(view, until=when)
    return f"unknown filter {word}"
