"""Moving around the audit log: filters set from elsewhere, category keys, hunts and pivots.

The base of :class:`~screens.panes.audit.pane.AuditPane` (which loads, queries and renders):
everything here changes *which* events are shown, from a key in the pane (categories, ``H``
hunts, ``P`` pivots, ``!`` contain the author), from the ``:`` command line, or from another
pane (a user's events, a credential's events, a group's or project's scope).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work

from console.audit import CATEGORY_LABELS, AuditEvent
from console.audit.hunts import HUNTS, hunt_by_key
from console.audit.view import AuditView, parse_filter_command, scope_label
from screens.contain import open_contain
from screens.modals.choice import ChoiceModal
from screens.modals.detail import DetailModal, field_line
from screens.panes.audit import jobs
from screens.panes.audit.messages import IpUsersFound, ShowCredentialFor, ShowUserDossier
from screens.panes.audit.model import HUNT_LETTERS
from screens.panes.audit.pivots import pivot_choices
from screens.panes.audit.source import StoreEventSource
from screens.panes.base import RecordPane

__all__ = ["AuditNavigation"]


class AuditNavigation(RecordPane[AuditView]):
    """Filters, hunts and pivots over the stored events; the subclass sets these attributes."""

    events_source: StoreEventSource
    ip_users: list[tuple[int, str, str]]
    _target_fallback: str | None
    _adding: bool

    def set_filter(self, view: AuditView, *, note: str | None = None) -> None:
        self.set_view(view, note=note)

    def show_for_user(self, user_id: int, username: str | None = None) -> None:
        """Only events by or about ``user_id`` (escape clears it)."""
        self.set_filter(
            replace(self.view.cleared(), scope="instance", user_id=user_id, username=username),
            note="this user's events",
        )

    def show_target(self, target_type: str, target_id: str, label: str = "") -> None:
        """Only events whose target is this object (a credential's events). GitLab names some
        credentials only in the text (a token's creation targets its user), so when no stored
        event has this target, the object's name is searched instead."""
        self._target_fallback = label or target_id
        self.set_filter(
            replace(self.view.cleared(), scope="instance", target=(target_type, target_id)),
            note=f"events about {label or target_type}",
        )

    def show_scope(self, scope: str) -> None:
        """Switch to a scope (``instance``, ``group:12``, ``project:7``) and fetch what is
        missing for it."""
        self.set_filter(
            replace(self.view.cleared(), scope=scope), note=f"scope: {scope_label(scope)}"
        )
        self.action_reload()

    def run_command(self, word: str, value: str) -> str | None:
        """``:word value`` from the command line; returns why it failed, or None."""
        new = parse_filter_command(self.view, word, value)
        if isinstance(new, str):
            return new
        if new.scope != self.view.scope:
            self.show_scope(new.scope)
        else:
            self.set_filter(new, note=f"{word}: {value.strip() or 'cleared'}")
        return None

    def action_add_next(self) -> None:
        """``+`` then a category key adds that category to those shown."""
        self._adding = True
        self.filter_bar.note = "+ add which category? (a category key)"

    def action_category(self, category: str) -> None:
        """A category key shows only that category (again: all); after ``+`` it adds it."""
        label = CATEGORY_LABELS.get(category, category)
        cats = set(self.view.categories)
        if self._adding:
            self._adding = False
            cats.symmetric_difference_update({category})
            note = f"+ {label} events" if category in cats else f"− {label} events"
        elif cats == {category}:
            cats, note = set(), "all categories"
        else:
            cats, note = {category}, f"only {label} events"
        self.set_filter(replace(self.view, categories=frozenset(cats), hunt=None), note=note)

    def action_clear_categories(self) -> None:
        self._adding = False
        self.set_filter(
            replace(self.view, categories=frozenset(), hunt=None), note="all categories"
        )

    # -- hunts and pivots ------------------------------------------------------------------
    def action_hunts(self) -> None:
        """``H`` then a key: one of the named persistence hunts."""
        choices = [(HUNT_LETTERS[h.key], h.title, h.why) for h in HUNTS]
        self.app.push_screen(
            ChoiceModal("Hunts: footholds in the audit log", choices), self._hunt_chosen
        )

    def _hunt_chosen(self, letter: str | None) -> None:
        key = next((k for k, v in HUNT_LETTERS.items() if v == letter), None)
        hunt = hunt_by_key(key) if key else None
        if hunt is not None:
            self.set_filter(
                replace(self.view, hunt=hunt.key, categories=frozenset()), note=hunt.why
            )

    def action_pivots(self) -> None:
        """``P`` then a key: from the highlighted event to its author, IP, target or scope."""
        ev = self.selected_event()
        if ev is None:
            return
        choices = pivot_choices(ev)
        self.app.push_screen(ChoiceModal("Pivot from this event", choices), self.action_pivot)

    def action_contain_author(self) -> None:
        """``!``: the Contain playbook for the highlighted event's author."""
        ev = self.selected_event()
        open_contain(self.app, self.ctx, ev.author_id if ev is not None else None)

    def action_pivot(self, key: str | None) -> None:
        ev = self.selected_event()
        if ev is None or key is None:
            return
        if key == "a" and ev.author_id is not None:
            self.post_message(ShowUserDossier(ev.author_id))
        elif key == "i" and ev.ip_address:
            self.set_filter(
                replace(self.view.cleared(), ip=ev.ip_address),
                note=f"every event from {ev.ip_address}",
            )
        elif key == "u" and ev.ip_address:
            self._find_ip_users(ev.ip_address)
        elif key == "t" and ev.target_type:
            self.show_target(ev.target_type, ev.target_id, ev.target_details)
        elif key == "c" and ev.target_type:
            self.post_message(ShowCredentialFor(ev.target_details or ev.target_id))
        elif key == "s" and ev.entity_id is not None:
            self.show_scope(f"{ev.entity_type.lower()}:{ev.entity_id}")
        elif key == "e" and ev.author_id is not None:
            self.show_for_user(ev.author_id, ev.author_name)

    @work(thread=True, group="audit-ip-users", exit_on_error=False)
    def _find_ip_users(self, ip: str) -> None:
        self.post_message(IpUsersFound(ip, jobs.ip_users(self.ctx, ip)))

    @on(IpUsersFound)
    def _ip_users_found(self, message: IpUsersFound) -> None:
        message.stop()
        self.ip_users = message.users
        parts: list[Any] = [field_line("IP address", message.ip), Text("")]
        if not message.users:
            parts.append(Text("No stored user or event ties a user to this IP."))
        for uid, name, why in message.users:
            parts.append(field_line(f"@{name} (#{uid})", why))
        self.app.push_screen(DetailModal(f"Users seen from {message.ip}", parts))

    # -- selection and detail --------------------------------------------------------------
    def selected_id(self) -> int | None:
        key = self.table.cursor_key
        return key if isinstance(key, int) else None

    def selected_event(self) -> AuditEvent | None:
        return self.events_source.event(self.selected_id())
