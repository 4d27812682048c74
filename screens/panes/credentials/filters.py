"""The credentials pane's view changes: search, kind groups, urgency, review and cross-link
filters, sort. Each says in the filter bar what it did; the query runs in SQL (``loading``)."""

from __future__ import annotations

from dataclasses import replace

from screens.panes.base import RecordPane
from screens.panes.credentials.model import KIND_GROUPS, SORT_KEYS, CredentialsView

__all__ = ["CredentialsFilters"]


class CredentialsFilters(RecordPane[CredentialsView]):
    """Filter, search and sort actions of the credentials pane."""

    total: int

    def search_of(self, view: CredentialsView) -> str:
        return view.search

    def with_search(self, view: CredentialsView, text: str) -> CredentialsView:
        return replace(view, search=text)

    def is_filtered(self, view: CredentialsView) -> bool:
        return bool(
            view.groups
            or view.only_warnings
            or view.only_unreviewed
            or view.only_crosslinked
            or view.keys
        )

    def without_filters(self, view: CredentialsView) -> CredentialsView:
        return replace(
            view,
            groups=frozenset(),
            only_warnings=False,
            only_unreviewed=False,
            only_crosslinked=False,
            keys=frozenset(),
            keys_label="",
        )

    def source_has_rows(self) -> bool:
        return self.total > 0

    def action_toggle_group(self, group: str) -> None:
        sign = "−" if group in self.view.groups else "+"
        self.set_view(
            replace(self.view, groups=self.view.groups ^ {group}),
            note=f"{sign} {KIND_GROUPS[group][0]}",
        )

    def action_clear_kinds(self) -> None:
        self.set_view(replace(self.view, groups=frozenset()), note="all kinds")

    def action_toggle_warnings(self) -> None:
        on_now = not self.view.only_warnings
        self.set_view(
            replace(self.view, only_warnings=on_now),
            note="only urgent rows" if on_now else "urgent filter off",
        )

    def action_toggle_unreviewed(self) -> None:
        on_now = not self.view.only_unreviewed
        self.set_view(
            replace(self.view, only_unreviewed=on_now),
            note="only unreviewed rows" if on_now else "unreviewed filter off",
        )

    def action_toggle_crosslinked(self) -> None:
        on_now = not self.view.only_crosslinked
        self.set_view(
            replace(self.view, only_crosslinked=on_now),
            note="only cross-linked rows" if on_now else "cross-link filter off",
        )

    def action_cycle_sort(self) -> None:
        sort = SORT_KEYS[(SORT_KEYS.index(self.view.sort) + 1) % len(SORT_KEYS)]
        descending = sort in ("created", "last_used", "flags")
        self.set_view(
            replace(self.view, sort=sort, descending=descending), note=f"sorted by {sort}"
        )

    def action_reverse_sort(self) -> None:
        self.set_view(
            replace(self.view, descending=not self.view.descending), note="order reversed"
        )
