"""The Audit events pane: the incident's audit events from the local store, an investigation tool.

Rows come from SQLite through a lazy row-id sequence (``StoreEventSource``): no cap, filters and
search in SQL, the query in a thread worker (typing never waits: the search is debounced and an
older query's answer is dropped). ``r`` fetches only the windows the store does not hold
(``console.audit.load``), with progress and an estimate in the border title; ``x`` cancels.
Scopes (instance, group, project) and structured filters come from the ``:`` command line;
``H`` and ``P`` open the hunts and the pivots (two keystrokes each). Every server string reaches
the screen through ``screens.safe``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.worker import get_current_worker

from console.audit import CATEGORY_LABELS, AuditEvent
from console.audit.load import EventsLoadProgress
from console.audit.view import AuditView, scope_label
from console.context import AppContext
from console.problem import Problem
from console.store import EventRids, Incident
from screens.messages import AuditEventsCached
from screens.modals.detail import DetailModal
from screens.panes.audit import jobs
from screens.panes.audit.messages import (
    CountsComputed,
    EventsLoadFinished,
    EventsLoadProgressed,
    RowsQueried,
)
from screens.panes.audit.model import (
    CATEGORY_GROUP,
    CATEGORY_KEYS,
    COLUMNS,
    audit_detail_parts,
    coverage_problem,
    not_admin_refusal,
)
from screens.panes.audit.navigation import AuditNavigation
from screens.panes.audit.pivots import filter_bar_text
from screens.panes.audit.source import StoreEventSource
from screens.panes.base import detail_text
from screens.widgets.debounce import Debouncer
from screens.widgets.virtual_table import RowKey

__all__ = ["STATE_KEY", "AuditPane"]

STATE_KEY = "audit"
SEARCH_DEBOUNCE_S = 0.15
_PIVOT_GROUP = Binding.Group("hunts and pivots")


class AuditPane(AuditNavigation):
    """Audit events of the incident window in the store, with filters, hunts and pivots."""

    STATE_KEY = STATE_KEY
    PREFIX = "audit"
    TITLE = "Audit events"
    COLUMNS = COLUMNS
    SEARCH_PLACEHOLDER = "search events (enter keeps it, escape closes)"
    EMPTY_TEXT = "No audit events stored for this scope: r fetches them"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("r", "reload", "Fetch missing events"),
        Binding("x", "cancel_load", "Cancel loading", show=False),
        Binding("H", "hunts", "Hunts (then a key)", group=_PIVOT_GROUP),
        Binding(
            "P", "pivots", "Pivots from this event (then a key)", show=False, group=_PIVOT_GROUP
        ),
        Binding(
            "exclamation_mark",
            "contain_author",
            "Contain this event's author",
            show=False,
            group=_PIVOT_GROUP,
        ),
        Binding(
            "I", "pivot('i')", "Every event from this event's IP", show=False, group=_PIVOT_GROUP
        ),
        Binding("0", "clear_categories", "All categories", show=False, group=CATEGORY_GROUP),
        Binding(
            "plus",
            "add_next",
            "Add the next category key's category",
            show=False,
            group=CATEGORY_GROUP,
        ),
        *(
            Binding(
                key,
                f"category('{cat}')",
                f"Only {CATEGORY_LABELS[cat]} events",
                show=False,
                group=CATEGORY_GROUP,
            )
            for key, cat in CATEGORY_KEYS
        ),
    ]

    def __init__(
        self, ctx: AppContext, *, load_on_mount: bool = True, id: str | None = "audit-pane"
    ) -> None:
        self.events_source = StoreEventSource(ctx)
        super().__init__(ctx, self.events_source, AuditView(), id=id)
        self.load_on_mount = load_on_mount
        self.problem: Problem | None = None
        self.coverage_gap = False
        self.total = 0
        """Events stored for the current scope (the bar's "of N")."""
        self.counts: dict[str, int] = {}
        self.rids: EventRids | None = None
        self.progress_text = ""
        self.cancelled = False
        """The last load was cancelled (the title says r fetches the rest)."""
        self._generation = 0
        self.ip_users: list[tuple[int, str, str]] = []
        """The last "every user seen from this IP" answer (tests read it)."""
        self._adding = False
        self._target_fallback: str | None = None
        self._refresh_due = False
        self._search = Debouncer(self, SEARCH_DEBOUNCE_S, self._apply_search)

    # -- data views tests and the shell read -----------------------------------------------
    @property
    def filter(self) -> AuditView:
        return self.view

    @property
    def shown_count(self) -> int:
        return 0 if self.rids is None else len(self.rids)

    def shown_events(self, limit: int = 5_000) -> list[AuditEvent]:
        """The first ``limit`` matching events, newest first (store reads: tests, small sets)."""
        if self.rids is None:
            return []
        return self.events_source.events(self.rids[:limit])

    def on_mount(self) -> None:
        super().on_mount()
        # what the store holds at once (after mounting: refresh_rows needs is_mounted)
        self.call_after_refresh(self.refresh_rows)
        if self.load_on_mount:
            self.start()

    def start(self) -> None:
        """Show what is stored at once, then fetch what is missing (once the main screen lets
        it: ``fetch_first``); coverage gaps skip it."""
        cov = self.ctx.coverage
        if cov is not None and (cov.tier == "free" or cov.audit_events is False):
            self.coverage_gap = True
            self.problem = coverage_problem(cov)
            self.problem_box.show_problem(self.problem, coverage=True)
            self.set_title(None)
            return
        self.fetch_first()

    # -- loading ---------------------------------------------------------------------------
    def action_reload(self) -> None:
        """Fetch the scope's missing windows of the incident (replaces any running load)."""
        if self.coverage_gap:
            return
        self.loading = True
        self.cancelled = False
        self.progress_text = "checking what is stored…"
        self._show_progress()
        self._load(self.view.scope)

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _load(self, scope: str) -> None:
        worker = get_current_worker()

        def progressed(progress: EventsLoadProgress) -> None:
            self.post_message(EventsLoadProgressed(progress))

        result = jobs.load(
            self.ctx, scope, progressed, lambda: worker.is_cancelled, self.announce_wait
        )
        self.post_message(EventsLoadFinished(result))

    def action_cancel_load(self) -> None:
        """Stop the running load; what arrived so far stays (and only the rest is fetched
        next time)."""
        if self.loading:
            self.workers.cancel_group(self, "audit-load")
            self.loading = False
            self.cancelled = True
            self.progress_text = ""
            self.set_title(None)
            self.refresh_rows()

    def _show_progress(self) -> None:
        # literal Content, never markup (the markup-sink lint holds every border title to it)
        self.border_title = Content(f"{self.TITLE} — {self.progress_text} (x cancels)")

    @on(EventsLoadProgressed)
    def _progressed(self, message: EventsLoadProgressed) -> None:
        message.stop()
        if not self.loading:
            return
        p = message.progress
        eta = "" if p.eta_seconds is None else f", about {_duration(p.eta_seconds)} left"
        self.progress_text = (
            f"loading: {p.stored:,} new events, {p.pieces_done}/{p.pieces} windows{eta}"
        )
        self._show_progress()
        if not self._refresh_due:  # show arriving rows about once a second, not per page
            self._refresh_due = True
            self.set_timer(1.0, self._timed_refresh)

    def _timed_refresh(self) -> None:
        self._refresh_due = False
        if self.loading:
            self.refresh_rows()

    @on(EventsLoadFinished)
    def _load_finished(self, message: EventsLoadFinished) -> None:
        message.stop()
        result = message.result
        was_loading, self.loading = self.loading, False
        self.progress_text = ""
        self.problem = result.problem
        self.coverage_gap = result.coverage_gap
        self.problem_box.show_problem(result.problem, coverage=result.coverage_gap)
        self.cancelled = self.cancelled or result.cancelled or not was_loading
        self.set_title(None)
        self.refresh_rows()
        if result.stored:
            self.post_message(AuditEventsCached(result.stored))

    # -- querying --------------------------------------------------------------------------
    def refresh_rows(self) -> None:
        if not self.is_mounted:
            return
        self._generation += 1
        self._query(self.view, self._generation, self._pending_select or self.table.cursor_key)

    @work(thread=True, exclusive=True, group="audit-query", exit_on_error=False)
    def _query(self, view: AuditView, generation: int, cursor: RowKey | None) -> None:
        worker = get_current_worker()
        store, incident = self.ctx.store, self.ctx.incident_id
        rids = self.events_source.keys(view)
        if isinstance(cursor, int):
            rids.locate(cursor)  # so the cursor stays on its row without a UI-thread read
        total = store.count_events(incident, AuditView(scope=view.scope).query())
        if worker.is_cancelled:
            return
        self.post_message(RowsQueried(rids, total, generation))
        counts = store.event_category_counts(incident, view.query())
        if not worker.is_cancelled:
            self.post_message(CountsComputed(counts, generation))

    @on(RowsQueried)
    def _rows_queried(self, message: RowsQueried) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        fallback, self._target_fallback = self._target_fallback, None
        if fallback and self.view.target is not None and not message.rids:
            self.set_filter(
                replace(self.view, target=None, search=fallback),
                note="no event names this target: searching its name",
            )
            return
        self.rids, self.total = message.rids, message.total
        self.show_keys(message.rids)
        if self.loading:
            self._show_progress()

    @on(CountsComputed)
    def _counts_computed(self, message: CountsComputed) -> None:
        message.stop()
        if message.generation == self._generation:
            self.counts = message.counts
            self.render_bar()

    # -- filters ---------------------------------------------------------------------------
    def search_of(self, view: AuditView) -> str:
        return view.search

    def with_search(self, view: AuditView, text: str) -> AuditView:
        return replace(view, search=text)

    def is_filtered(self, view: AuditView) -> bool:
        return view.is_filtered

    def without_filters(self, view: AuditView) -> AuditView:
        return view.cleared()

    def source_has_rows(self) -> bool:
        return self.total > 0

    def search_typed(self, text: str) -> None:
        self._search.call()

    def _apply_search(self) -> None:
        value = self.search_box.value
        if value != self.view.search:
            self.set_view(self.with_search(self.view, value), save=False)

    def close_search(self) -> None:
        self._search.cancel()
        super().close_search()

    # -- rendering -------------------------------------------------------------------------
    def bar(self) -> Text:
        return filter_bar_text(self.view, self.shown_count, self.total, self.counts)

    def title_status(self) -> str:
        if self.coverage_gap:
            return (
                "not visible to this token"
                if not_admin_refusal(self.ctx.coverage)
                else "not available on this tier"
            )
        status = f"{self.total:,} events stored ({scope_label(self.view.scope)})"
        return status + (", load cancelled: r fetches the rest" if self.cancelled else "")

    def explain(self, key: RowKey) -> Text | None:
        e = self.events_source.event(key)
        if e is None:
            return None
        text = detail_text("Event", e.event_name or "(legacy)")
        if e.summary:
            text.append("  ")
            text.append(detail_text("Summary", e.summary))
        return text

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
        self.set_view(AuditView.from_dict(f) if isinstance(f, Mapping) else self.view, save=False)

    def incident_changed(self, incident: Incident) -> None:
        """The window may have moved: show what is stored and fetch what is missing."""
        self.events_source.forget()
        self.refresh_rows()
        if not self.coverage_gap:
            self.fetch_first()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"
