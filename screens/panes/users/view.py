"""The users pane's view model: quick filters, sort order, search, and their saved form.

Kept apart from the widget so the key map, the one-line filter bar and the state round trip
(``UsersView.to_state`` / ``UsersView.from_state``) can be read and tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from rich.text import Text
from textual.binding import Binding

from console.store import UserQuery
from screens.safe import safe_text

__all__ = [
    "QUICK_FILTERS",
    "QUICK_FILTER_GROUP",
    "SORT_KEYS",
    "SORT_LABELS",
    "QuickFilter",
    "UsersView",
]


@dataclass(frozen=True, slots=True)
class QuickFilter:
    """One quick filter: its key, the store filter name, a short label and the help line."""

    key: str
    name: str
    label: str
    description: str


# Keys avoid the app's map (1/2/3 ? / escape enter space a q ctrl+p) and the review keys
# (c f n, and C F N with a note / backwards): upper-case letters keep them one keystroke away
# and hard to hit by accident.  L is "flagged" because F flags with a note.
QUICK_FILTERS: Final[tuple[QuickFilter, ...]] = (
    QuickFilter("A", "admins", "admins", "Only administrators"),
    QuickFilter("T", "no_2fa", "2FA off", "Only users with two-factor auth off"),
    QuickFilter("B", "bots", "bots", "Only bots and service accounts"),
    QuickFilter("K", "blocked", "blocked", "Only blocked, banned or deactivated users"),
    QuickFilter(
        "W", "created_in_window", "created in window", "Only users created in the incident window"
    ),
    QuickFilter(
        "I",
        "signed_in_in_window",
        "signed in in window",
        "Only users who signed in during the window",
    ),
    QuickFilter("U", "unreviewed", "unreviewed", "Only users without a review mark"),
    QuickFilter("L", "flagged", "flagged", "Only users flagged as suspicious"),
)
#: The help screen lists the quick filters as their own section under this title.
QUICK_FILTER_GROUP: Final = Binding.Group("quick filters (shift+letter toggles, X clears all)")

#: Sort keys in the order ``s`` cycles through them (the table's columns).
SORT_KEYS: Final[tuple[str, ...]] = (
    "id",
    "username",
    "name",
    "state",
    "is_admin",
    "two_factor",
    "kind",
    "created_at",
    "current_sign_in_at",
    "last_activity_on",
    "risk",
    "mark",
)
SORT_LABELS: Final[dict[str, str]] = {
    "id": "id",
    "username": "username",
    "name": "name",
    "state": "state",
    "is_admin": "admin",
    "two_factor": "2FA",
    "kind": "type",
    "created_at": "created",
    "current_sign_in_at": "last sign-in",
    "last_activity_on": "last activity",
    "risk": "risk",
    "mark": "review mark",
}
_FILTER_NAMES: Final = frozenset(f.name for f in QUICK_FILTERS)
_LABELS: Final = {f.name: f.label for f in QUICK_FILTERS}
_KEYS: Final = {f.name: f.key for f in QUICK_FILTERS}


@dataclass(frozen=True, slots=True)
class UsersView:
    """What the responder asked to see: search text, quick filters and sort order."""

    search: str = ""
    filters: frozenset[str] = field(default_factory=frozenset)
    sort: str = "id"
    descending: bool = False

    def query(self) -> UserQuery:
        return UserQuery(
            search=self.search.strip(),
            filters=self.filters,
            sort=self.sort,
            descending=self.descending,
        )

    def toggle(self, name: str) -> UsersView:
        filters = set(self.filters)
        filters.symmetric_difference_update({name})
        return replace(self, filters=frozenset(filters))

    def next_sort(self) -> UsersView:
        index = SORT_KEYS.index(self.sort) if self.sort in SORT_KEYS else -1
        sort = SORT_KEYS[(index + 1) % len(SORT_KEYS)]
        # Risk is only useful highest first; everything else starts ascending.
        return replace(self, sort=sort, descending=sort == "risk")

    def reversed(self) -> UsersView:
        return replace(self, descending=not self.descending)

    @property
    def is_narrowed(self) -> bool:
        return bool(self.filters or self.search.strip())

    def bar(self, selected: int = 0) -> Text:
        """The one-line summary under the table title: filters, search, sort, selection."""
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.filters:
            # Each active filter with the key that removes it: "admins (A) · 2FA off (T)".
            line.append("Filters: ", style="bold")
            names = [f.name for f in QUICK_FILTERS if f.name in self.filters]
            for n, name in enumerate(names):
                if n:
                    line.append(" · ")
                line.append(_LABELS[name], style="bold yellow")
                line.append(f" ({_KEYS[name]})", style="dim")
        else:
            line.append("All users", style="bold")
        if self.search.strip():
            line.append("  search ", style="bold")
            # The responder typed it, but it may be a pasted hostile name: never markup.
            line.append_text(safe_text(self.search.strip(), kind="line", max_cells=24))
        arrow = "▼" if self.descending else "▲"
        line.append(f"  sort {SORT_LABELS.get(self.sort, self.sort)}{arrow}", style="dim")
        if selected:
            line.append(f"  {selected} selected", style="bold cyan")
        # The hint goes last: on a narrow bar (progress showing) it is what gets cut.
        if self.filters or self.search.strip():
            line.append("  X clears", style="dim")
        else:
            line.append("  / search · ? lists the filter keys", style="dim")
        return line

    def to_state(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "filters": sorted(self.filters),
            "sort": self.sort,
            "descending": self.descending,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> UsersView:
        """Rebuild from saved state, ignoring anything unknown or malformed."""
        search = state.get("search")
        filters = state.get("filters")
        sort = state.get("sort")
        return cls(
            search=search if isinstance(search, str) else "",
            filters=frozenset(
                f for f in (filters if isinstance(filters, list) else []) if f in _FILTER_NAMES
            ),
            sort=sort if sort in SORT_KEYS else "id",
            descending=bool(state.get("descending", False)),
        )
