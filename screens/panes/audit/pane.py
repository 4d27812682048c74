"""The Audit events pane: the incident window's instance audit events, filterable.

Events load in a thread worker (slice by slice, progress in the border title, ``x`` cancels) and
are cached in the store so a resumed incident shows them at once.  Every matching event is in
the table (a ``VirtualTable`` over a list source: cells are built only for the rows painted).
Every server string reaches the table through :func:`screens.safe.safe_cell`; the detail modal
shows the full details JSON with every string sanitised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.worker import get_current_worker

from console.audit import (
    CATEGORY_LABELS,
    CATEGORY_ORDER,
    AuditEvent,
    AuditFetch,
    AuditFilter,
    AuditProgress,
    events_cache_key,
    fetch_audit_events,
    incident_window,
)
from console.context import AppContext
from console.problem import Problem
from console.store import Incident
from screens.messages import AuditEventsCached
from screens.modals.detail import DetailModal
from screens.panes.audit.model import (
    CATEGORY_GROUP,
    CATEGORY_KEYS,
    COLUMNS,
    audit_detail_parts,
    coverage_problem,
    event_cells,
    not_admin_refusal,
    select_events,
    short_time,
)
from screens.panes.base import RecordPane, detail_text
from screens.panes.sources import ListSource
from screens.safe import safe_cell
from screens.widgets.virtual_table import RowKey

__all__ = ["STATE_KEY", "AuditPane"]

STATE_KEY = "audit"


class AuditPane(RecordPane[AuditFilter]):
    """Instance audit events for the incident window, with search and category filters."""

    STATE_KEY = STATE_KEY
    PREFIX = "audit"
    TITLE = "Audit events"
    COLUMNS = COLUMNS
    SEARCH_PLACEHOLDER = "search events (enter keeps it, escape closes)"
    EMPTY_TEXT = "No audit events in the window"

    # Footer: enter (details), / and r, plus the app's ? and q. The help lists the rest.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("r", "reload", "Reload events"),
        Binding("x", "cancel_load", "Cancel loading", show=False),
        Binding("0", "clear_categories", "All categories", show=False, group=CATEGORY_GROUP),
        *(
            Binding(key, f"toggle_category('{cat}')", f"Only {CATEGORY_LABELS[cat]} events",
                    show=False, group=CATEGORY_GROUP)
            for key, cat in CATEGORY_KEYS
        ),
    ]

    class LoadProgressed(Message):
        """A slice page arrived (coalesces: only the newest matters)."""

        def __init__(self, progress: AuditProgress) -> None:
            super().__init__()
            self.progress = progress

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, AuditPane.LoadProgressed)

    class EventsLoaded(Message):
        """Events arrived from GitLab or the cache."""

        def __init__(self, fetch: AuditFetch, fetched_at: str | None, from_cache: bool) -> None:
            super().__init__()
            self.fetch = fetch
            self.fetched_at = fetched_at
            self.from_cache = from_cache

    class UsernameFound(Message):
        """The user filter's username was read from the store."""

        def __init__(self, user_id: int, username: str) -> None:
            super().__init__()
            self.user_id = user_id
            self.username = username

    def __init__(self, ctx: AppContext, *, load_on_mount: bool = True,
                 id: str | None = "audit-pane") -> None:
        self.events_source: ListSource[AuditEvent, AuditFilter] = ListSource(
            lambda e: e.id, event_cells, select_events)
        super().__init__(ctx, self.events_source, AuditFilter(), id=id)
        self.load_on_mount = load_on_mount
        self.problem: Problem | None = None
        self.coverage_gap = False
        self.fetched_at: str | None = None
        self.complete = True
        self._user_names: dict[int, str] = {}

    # -- data views tests and the shell read -----------------------------------------------
    @property
    def events(self) -> list[AuditEvent]:
        return self.events_source.items

    @property
    def shown(self) -> list[AuditEvent]:
        """The events matching the filter, newest first (every one is in the table)."""
        return self.events_source.matched

    @property
    def filter(self) -> AuditFilter:
        return self.view

    def on_mount(self) -> None:
        super().on_mount()
        if self.load_on_mount:
            self.start()

    def start(self) -> None:
        """Show cached events (if any) or begin loading; coverage gaps skip the request."""
        cov = self.ctx.coverage
        if cov is not None and (cov.tier == "free" or cov.audit_events is False):
            self._apply_fetch(AuditFetch([], coverage_problem(cov), [], coverage_gap=True),
                              None)
            return
        self._load_cached_or_fetch()

    # -- loading ---------------------------------------------------------------------------
    def window(self) -> tuple[datetime, datetime]:
        inc = self.ctx.incident
        return incident_window(inc.window_start, inc.window_end)

    def _cache_key(self) -> str:
        inc = self.ctx.incident
        return events_cache_key(inc.window_start, inc.window_end)

    @work(thread=True, group="audit-cache", exit_on_error=False)
    def _load_cached_or_fetch(self) -> None:
        cached = self.ctx.store.cache_get(self.ctx.incident_id, self._cache_key())
        if cached is not None and isinstance(cached[0], Mapping):
            value, fetched_at = cached
            events = [AuditEvent.from_dict(e) for e in value.get("events", [])
                      if isinstance(e, Mapping)]
            fetch = AuditFetch(events, None, [], complete=bool(value.get("complete", True)))
            self.post_message(self.EventsLoaded(fetch, fetched_at, from_cache=True))
            return
        self.post_message(self.CacheMissed())

    def action_reload(self) -> None:
        """Fetch the window's events from GitLab (replaces any running load)."""
        if self.coverage_gap:
            return
        self.loading = True
        self.set_title("loading…")
        self._fetch(self.window())

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _fetch(self, window: tuple[datetime, datetime]) -> None:
        worker = get_current_worker()

        def progressed(p: AuditProgress) -> None:
            self.post_message(self.LoadProgressed(p))

        # Building the client can raise (config, TLS): the pane's worker handler shows it.
        result = fetch_audit_events(
            self.ctx.gitlab(), ("instance", None), window,
            on_progress=progressed, cancelled=lambda: worker.is_cancelled,
        )
        fetched_at = None
        if result.problem is None or result.events:
            try:
                fetched_at = self.ctx.store.cache_put(
                    self.ctx.incident_id, self._cache_key(),
                    {"events": [e.to_dict() for e in result.events], "complete": result.complete},
                )
            except Exception as exc:  # keep what arrived; a silent failure left "loading…"
                from console.errors import describe_error

                result.problem = result.problem or describe_error(exc)
        if not worker.is_cancelled or result.events:
            self.post_message(self.EventsLoaded(result, fetched_at, from_cache=False))
        if fetched_at is not None:
            self.post_message(AuditEventsCached(len(result.events)))

    def action_cancel_load(self) -> None:
        """Stop the running load; what arrived so far stays."""
        if self.loading:
            self.workers.cancel_group(self, "audit-load")
            self.loading = False
            self.set_title(f"{len(self.events)} events (load cancelled, r reloads)")

    @on(LoadProgressed)
    def _progressed(self, message: LoadProgressed) -> None:
        p = message.progress
        self.set_title(f"loading slice {p.slice_index}/{p.slice_count}, {p.pages} pages, "
                       f"{p.events} events (x cancels)")

    @on(EventsLoaded)
    def _loaded(self, message: EventsLoaded) -> None:
        self._apply_fetch(message.fetch, message.fetched_at)

    def _apply_fetch(self, fetch: AuditFetch, fetched_at: str | None) -> None:
        self.loading = False
        self.problem = fetch.problem
        self.coverage_gap = fetch.coverage_gap
        self.complete = fetch.complete
        if fetch.events or not fetch.problem:
            self.events_source.replace(fetch.events)
            self.fetched_at = fetched_at
        self.problem_box.show_problem(fetch.problem, coverage=fetch.coverage_gap)
        self.refresh_rows()

    # -- filters ---------------------------------------------------------------------------
    def search_of(self, view: AuditFilter) -> str:
        return view.search

    def with_search(self, view: AuditFilter, text: str) -> AuditFilter:
        return replace(view, search=text)

    def is_filtered(self, view: AuditFilter) -> bool:
        return view.user_id is not None or bool(view.categories)

    def without_filters(self, view: AuditFilter) -> AuditFilter:
        return replace(view, user_id=None, username=None, categories=frozenset())

    def source_has_rows(self) -> bool:
        return bool(self.events)

    def set_filter(self, f: AuditFilter, *, note: str | None = None) -> None:
        self.set_view(f, note=note)

    def show_for_user(self, user_id: int, username: str | None = None) -> None:
        """Show only events by or about ``user_id`` (escape clears it)."""
        if username:
            self._user_names[user_id] = username
        elif user_id not in self._user_names:
            self._lookup_username(user_id)
        self.set_filter(replace(self.view, user_id=user_id,
                                username=self._user_names.get(user_id)))

    @work(thread=True, group="audit-user", exit_on_error=False)
    def _lookup_username(self, user_id: int) -> None:
        row = self.ctx.store.get_user(self.ctx.incident_id, user_id)
        if row is not None:
            self.post_message(self.UsernameFound(user_id, row.username))

    @on(UsernameFound)
    def _username_found(self, message: UsernameFound) -> None:
        user_id, username = message.user_id, message.username
        self._user_names[user_id] = username
        if self.view.user_id == user_id and self.view.username != username:
            self.set_filter(replace(self.view, username=username))
        else:
            self.render_bar()

    def action_toggle_category(self, category: str) -> None:
        cats = set(self.view.categories)
        on_now = category not in cats
        cats.symmetric_difference_update({category})
        label = CATEGORY_LABELS.get(category, category)
        note = f"+ {label} events" if on_now else f"− {label} events"
        self.set_filter(replace(self.view, categories=frozenset(cats)), note=note)

    def action_clear_categories(self) -> None:
        self.set_filter(replace(self.view, categories=frozenset()), note="all categories")

    # -- rendering -------------------------------------------------------------------------
    def bar(self) -> Text:
        f = self.view
        bar = Text(end="")
        bar.append(f"{len(self.shown):,} of {len(self.events):,} events", style="bold")
        if f.user_id is not None:
            bar.append("  user: ", style="bold")
            name = self._user_names.get(f.user_id) or f.username
            bar.append_text(safe_cell(f"@{name} (#{f.user_id})" if name else f"#{f.user_id}"))
            bar.append(" (esc clears)", style="dim")
        if f.categories:
            bar.append("  categories: ", style="bold")
            bar.append(", ".join(c for c in CATEGORY_ORDER if c in f.categories))
        if f.search:
            bar.append("  search: ", style="bold")
            bar.append_text(safe_cell(f.search, max_cells=30))
        if not (f.user_id is not None or f.categories or f.search):
            bar.append("  / search · ? lists the category keys", style="dim")
        return bar

    def title_status(self) -> str:
        if self.coverage_gap:
            return ("not visible to this token" if not_admin_refusal(self.ctx.coverage)
                    else "not available on this tier")
        status = f"{len(self.events)} events"
        if self.fetched_at:
            status += f", fetched {short_time(self.fetched_at)}"
            if not self.complete:
                status += " (partial)"
        return status

    def explain(self, key: RowKey) -> Text | None:
        e = self.events_source.item(key)
        if e is None:
            return None
        text = detail_text("Event", e.event_name or "(legacy)")
        if e.summary:
            text.append("  ")
            text.append(detail_text("Summary", e.summary))
        return text

    # -- selection and detail --------------------------------------------------------------
    def selected_id(self) -> int | None:
        key = self.table.cursor_key
        return key if isinstance(key, int) else None

    def selected_event(self) -> AuditEvent | None:
        return self.events_source.item(self.selected_id())

    def action_open(self) -> None:
        """Open the highlighted event's full details."""
        ev = self.selected_event()
        if ev is not None:
            self.app.push_screen(DetailModal(f"Audit event {ev.id}", audit_detail_parts(ev)))

    # -- resume ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"filter": self.view.to_dict(), "selected": self.selected_id()}

    def restore(self, state: Mapping[str, Any]) -> None:
        f = state.get("filter")
        self.restore_cursor(state, "selected")
        self.set_view(AuditFilter.from_dict(f) if isinstance(f, Mapping) else self.view,
                      save=False)

    def incident_changed(self, incident: Incident) -> None:
        """The window may have moved: show what is cached for the new one, or fetch it."""
        self.events_source.replace([])
        self.refresh_rows()
        if not self.coverage_gap:
            self._load_cached_or_fetch()
