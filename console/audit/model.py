"""The normalised audit event: one flat record per REST event, whatever its vintage.

Strings are the server's raw text: they are sanitised when displayed, not here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from console.audit.categories import (
    AUDIT_SECONDARY,
    CATEGORY_ORDER,
    categorize_named,
    event_name_of,
    message_text,
)

__all__ = ["AuditEvent", "as_int", "as_str", "event_fields", "normalize_event", "summarize"]


def as_int(value: object) -> int | None:
    if type(value) is int:  # the usual case, first
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def as_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit event, flattened. Strings are raw server text (sanitise before display)."""

    id: int
    created_at: str
    author_id: int | None
    author_name: str
    entity_type: str
    entity_id: int | None
    entity_path: str
    event_name: str
    category: str
    target_type: str
    target_id: str  # an integer or a path string on the server; kept as text
    target_details: str
    ip_address: str
    summary: str
    categories: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target_user_id(self) -> int | None:
        """The affected user's id when the target is a user."""
        if self.target_type == "User":
            return as_int(self.target_id)
        return None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``details`` copied, nested values too, like ``asdict``).

        Built by hand: ``dataclasses.asdict`` recursed through every field and deep-copied
        each value, about two thirds of the CPU an event cost between the page and the store.
        """
        data = {name: getattr(self, name) for name in _FIELDS}
        data["categories"] = list(self.categories)
        data["details"] = {k: _plain_copy(v) for k, v in self.details.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["categories"] = tuple(values.get("categories") or ())
        values["details"] = dict(values.get("details") or {})
        return cls(**values)


_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AuditEvent))


def _plain_copy(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts, lists, tuples); other values are immutable here."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain_copy(v) for v in value)
    return value


def summarize(details: Mapping[str, Any]) -> str:
    """A one-line plain-text summary from ``custom_message``, change from/to and add/remove."""
    parts: list[str] = []
    message = message_text(details.get("custom_message"))
    if message:
        parts.append(message)
    change = details.get("change")
    if change:
        frm, to = as_str(details.get("from")), as_str(details.get("to"))
        parts.append(f"{as_str(change)}: {frm or '(empty)'} → {to or '(empty)'}")
    if details.get("add"):
        text = f"added {as_str(details['add'])}"
        if details.get("as"):
            text += f" as {as_str(details['as'])}"
        parts.append(text)
    if details.get("remove"):
        parts.append(f"removed {as_str(details['remove'])}")
    if details.get("with") and not message:
        parts.append(f"signed in with {as_str(details['with'])}")
    if details.get("failed_login") and not message:
        parts.append(f"failed {as_str(details['failed_login'])} login")
    if details.get("impersonated_by"):
        parts.append(f"(impersonated by {as_str(details['impersonated_by'])})")
    return "; ".join(parts)


def event_fields(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """Flatten one REST event into :meth:`AuditEvent.to_dict`'s shape; None without an id.

    The bulk loader's path: no dataclass and no copies in between (a decoded page is owned by
    its reader, so ``details`` is the page's own mapping). About a third of the CPU the
    dataclass and its ``to_dict`` cost for the same event.
    """
    event_id = as_int(raw.get("id"))
    if event_id is None:
        return None
    details = raw.get("details")
    if not isinstance(details, Mapping):
        details = {}
    name = event_name_of(raw)
    primary = categorize_named(name, details)
    return {
        "id": event_id,
        "created_at": _str(raw.get("created_at")),
        "author_id": as_int(raw.get("author_id")),
        "author_name": _str(_pick(raw, details, "author_name")),
        "entity_type": _str(raw.get("entity_type")),
        "entity_id": as_int(raw.get("entity_id")),
        "entity_path": _str(_pick(raw, details, "entity_path")),
        "event_name": name,
        "category": primary,
        "target_type": _str(_pick(raw, details, "target_type")),
        "target_id": _str(_pick(raw, details, "target_id")),
        "target_details": _str(_pick(raw, details, "target_details")),
        "ip_address": _str(_pick(raw, details, "ip_address")),
        "summary": summarize(details),
        "categories": list(_categories(primary, name)),
        "details": details,
    }


def normalize_event(raw: Mapping[str, Any]) -> AuditEvent | None:
    """Flatten one REST event; None when it has no usable id."""
    fields_ = event_fields(raw)
    if fields_ is None:
        return None
    fields_["categories"] = tuple(fields_["categories"])
    fields_["details"] = dict(fields_["details"])
    return AuditEvent(**fields_)


def _pick(raw: Mapping[str, Any], details: Mapping[str, Any], key: str) -> object:
    """The top-level value, else the one in ``details`` (older events kept them there)."""
    top = raw.get(key)
    return top if top not in (None, "") else details.get(key)


def _str(value: object) -> str:
    return value if type(value) is str else as_str(value)


@functools.lru_cache(maxsize=1024)
def _categories(primary: str, name: str) -> tuple[str, ...]:
    """The primary category and the catalogue's secondary ones, in display order."""
    return tuple(sorted({primary} | AUDIT_SECONDARY.get(name, frozenset()), key=_category_rank))


_RANK: dict[str, int] = {c: i for i, c in enumerate(CATEGORY_ORDER)}


def _category_rank(category: str) -> int:
    return _RANK.get(category, len(CATEGORY_ORDER))
