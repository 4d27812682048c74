"""The user review pane: every account on the instance (root included), triage, review marks.

Data flow:

* A thread worker streams ``GET /users`` into the store; each committed page posts
  ``UsersPageArrived`` (coalescing) and the pane re-queries the store (debounced) so the table
  grows while the load runs.  ``x`` cancels the load, ``r`` starts it again.
* The table holds only the ordered id list of an SQL row source; search, filters and sort are
  SQL in the store, run in an exclusive thread worker so typing never waits (``querying.py``).
* After a full load: risk signals, then ``GET /users/:id`` for admins and users who signed in
  during the window, to fill in their sign-in IPs (workers, see ``jobs.py``).
* Review at speed: ``c``/``f`` mark the user cleared/flagged and move to the next unreviewed
  one; ``C``/``F`` mark and open the note box; ``n``/``N`` step through unreviewed users (or
  through the matches while a search is on); ``enter`` opens the dossier.
* Search, filters, sort, the selected user and the scroll offset are saved under ``users``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Final

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.widgets import Input, ProgressBar, Static
from textual.worker import Worker

from console.context import AppContext
from console.store import Incident
from screens.panes.sources import SqlUserSource
from screens.panes.users import messages
from screens.panes.users.cells import COLUMNS, risk_explanation, user_cells
from screens.panes.users.loading import LOAD_REFRESH_S, LoadingMixin
from screens.panes.users.querying import QueryingMixin
from screens.panes.users.review import ReviewMixin
from screens.panes.users.view import QUICK_FILTER_GROUP, QUICK_FILTERS, UsersView
from screens.widgets.debounce import Debouncer
from screens.widgets.virtual_table import RowKey, VirtualTable

__all__ = ["USERS_STATE_KEY", "UsersPane", "UsersTable"]

USERS_STATE_KEY: Final = "users"
SEARCH_DEBOUNCE_S: Final = 0.15


class UsersTable(VirtualTable):
    """The users table: enter opens the dossier, space selects users for ``a`` (actions)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_row", "Dossier"),
        Binding(
            "space", "toggle_selection", "Select user (c, f, a act on the selection)", show=False
        ),
    ]


class UsersPane(QueryingMixin, LoadingMixin, ReviewMixin):
    """Every user of the instance, with triage signals and review marks."""

    STATE_KEY = USERS_STATE_KEY
    PREFIX = "users"
    TITLE = "Users"
    COLUMNS = COLUMNS
    SEARCH_PLACEHOLDER = "search username, name, email or IP"
    EMPTY_TEXT = "Loading users…"

    # The footer at 80 columns has room for enter and c/f/n (plus ? and q): everything else is
    # show=False and listed by the help screen (?), which reads these descriptions.
    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer's words are short; the tooltip says the rest (help shows both).
        Binding(
            "c",
            "mark('cleared')",
            "Mark cleared",
            tooltip="then on to the next unreviewed user; C adds a note",
        ),
        Binding(
            "f",
            "mark('flagged')",
            "Flag suspicious",
            tooltip="then on to the next unreviewed user; F adds a note",
        ),
        Binding("n", "next", "Next unreviewed user", tooltip="next match while a search is on"),
        Binding(
            "N",
            "previous",
            "Previous unreviewed user",
            tooltip="previous match while a search is on",
            show=False,
        ),
        Binding("C", "mark_with_note('cleared')", "Mark cleared and write a note", show=False),
        Binding("F", "mark_with_note('flagged')", "Flag suspicious and write a note", show=False),
        Binding("delete", "unmark", "Remove the review mark", show=False),
        Binding(
            "exclamation_mark",
            "contain",
            "Contain this user: block and remove every foothold",
            show=False,
        ),
        Binding(
            "asterisk", "select_all", "Select every user in this view (again: none)", show=False
        ),
        Binding("s", "cycle_sort", "Sort by the next column", show=False),
        Binding("S", "reverse_sort", "Reverse the sort order", show=False),
        Binding("R", "sort_by_risk", "Sort by risk, highest first", show=False),
        *[
            Binding(
                f.key,
                f"toggle_filter('{f.name}')",
                f.description,
                show=False,
                group=QUICK_FILTER_GROUP,
            )
            for f in QUICK_FILTERS
        ],
        Binding("X", "clear_filters", "Clear all filters and the search", show=False),
        Binding("r", "reload", "Reload users from GitLab", show=False),
        Binding("x", "cancel_load", "Cancel loading", show=False),
    ]
    """Review keys c/f/n, search /, sort s/S, quick filters on upper-case letters."""

    # The messages, under the names the rest of the app knows them by.
    ReviewProgressChanged = messages.ReviewProgressChanged
    UsersPageArrived = messages.UsersPageArrived
    UsersLoaded = messages.UsersLoaded
    UsersQueried = messages.UsersQueried
    BulkMarked = messages.BulkMarked
    MarkSaved = messages.MarkSaved
    RiskComputed = messages.RiskComputed
    UsersEnriched = messages.UsersEnriched

    def __init__(
        self, ctx: AppContext, *, autoload: bool = True, id: str | None = "users-pane"
    ) -> None:
        super().__init__(ctx, SqlUserSource(ctx, user_cells), UsersView(), id=id)
        self.autoload = autoload
        self.mark_saved: Signal[int] = Signal(self, "mark-saved")
        """Published with the user id after a mark or note was saved (the dossier listens)."""
        self._generation = 0
        self._total = 0
        self._shown = 0
        self._marks: dict[int, str] = {}
        self._loading = False
        self._loaded_count = 0
        self._load_total: int | None = None
        self._load_started = 0.0
        self._load_worker: Worker[None] | None = None
        self._refresh = Debouncer(self, LOAD_REFRESH_S, self._timed_refresh)
        self._search = Debouncer(self, SEARCH_DEBOUNCE_S, self._apply_search)
        self._pending_scroll: int | None = None
        self._first_query_done = False
        self._to_top = False
        self._load_finishing = False  # the query right after a load still keeps the top
        self._enriched = 0
        self.last_problem: str | None = None
        """The last load/risk/enrich problem, one line (also shown in the status bar)."""
        self.timings: dict[str, float] = {}
        """Measured durations (first rows, load, last query), for the bench and tests."""

    def make_table(self) -> VirtualTable:
        return UsersTable(COLUMNS, self.source.cells, empty_text=self.EMPTY_TEXT, id="users-table")

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="users-progress")
        yield Static("", id="users-status", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.restore_subtitle()
        self.query_one("#users-progress", ProgressBar).display = False
        self.table.set_sort(self.view.sort, self.view.descending)
        if self.autoload and self.ctx.new_incident:
            # Created by this start: nothing is cached or marked, so no first query has to say
            # so; the load starts now and its first page brings the first query.
            self.action_reload()
        else:
            self._requery(with_marks=True)
        self.call_later(self._focus_if_shown)

    def _focus_if_shown(self) -> None:
        """Focus the list unless the pane was hidden meanwhile (the main screen restored another
        pane): keys must never act on rows nobody sees."""
        if all(a.display for a in self.ancestors_with_self if a is not self.screen):
            self.screen.set_focus(self.table)  # now: a deferred focus() could land later

    # ------------------------------------------------------------------ public API

    def state(self) -> dict[str, Any]:
        """The pane's resumable state (JSON-able)."""
        table = self.table
        pending = self._pending_select
        cursor = table.cursor_key if table.is_mounted or pending is None else pending
        scroll = int(table.scroll_y) if table.is_mounted else self._pending_scroll
        return {**self.view.to_state(), "selected_id": cursor, "scroll": scroll or 0}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Apply a saved state (from ``state()``; a whole ui_state dict is accepted too)."""
        inner = state.get(USERS_STATE_KEY)
        if isinstance(inner, Mapping):
            state = inner
        view = UsersView.from_state(state)
        selected = state.get("selected_id")
        scroll = state.get("scroll")
        self._pending_select = selected if isinstance(selected, int) else None
        self._pending_scroll = scroll if isinstance(scroll, int) and scroll >= 0 else None
        if not self.is_mounted:
            self.view = view
            return
        search = self.search_box
        with search.prevent(Input.Changed):
            search.value = view.search
        search.display = bool(view.search)
        self.view = view
        self.table.set_sort(view.sort, view.descending)
        self.render_bar()
        self._requery()

    def action_contain(self) -> None:
        """``!``: the Contain playbook for the highlighted user (plan shown before anything)."""
        from screens.contain import open_contain  # the actions load when first asked for

        open_contain(self.app, self.ctx, self.current_user_id)

    @property
    def current_user_id(self) -> int | None:
        key = self.table.cursor_key
        return key if isinstance(key, int) else None

    def selected_ids(self) -> list[int]:
        """Users chosen with space, in table order; the cursor's user if none is selected."""
        keys = [k for k in self.table.selected_keys if isinstance(k, int)]
        if keys:
            return keys
        current = self.current_user_id
        return [current] if current is not None else []

    def action_toggle_selection(self) -> None:
        self.table.action_toggle_selection()

    def incident_changed(self, incident: Incident) -> None:
        """The window may have moved: window filters and risk depend on it."""
        self.table.invalidate()
        self.rescore()
        self._requery()

    def users_changed(self, user_ids: tuple[int, ...]) -> None:
        """Rows changed in the store (an action blocked someone): redraw and re-filter."""
        self.table.invalidate(list(user_ids))
        self._requery()

    def watch_coverage(self) -> None:
        """The capability check answered (at start, or late beside a resume's cached rows)."""
        self.restore_subtitle()

    def restore_subtitle(self) -> None:
        """The stale label when offline, else the partial-list note for a non-admin token."""
        cov = self.coverage
        if self.stale or cov is None or cov.is_admin:
            super().restore_subtitle()
            return
        # The coverage panel said it once at connect; the list itself must keep saying it.
        self.border_subtitle = "partial list: this token is not an administrator (v: coverage)"

    def went_offline(self) -> None:
        """Offline: the rows are as of the newest user fetch (read in a worker)."""
        self.set_stale(True)
        self._read_fetched_at()

    @work(thread=True, group="users-stale", exit_on_error=False)
    def _read_fetched_at(self) -> None:
        fetched_at = self.ctx.store.users_fetched_at(self.ctx.incident_id)
        self.post_message(messages.UsersFetchedAtRead(fetched_at))

    def on_users_pane_users_fetched_at_read(self, message: messages.UsersFetchedAtRead) -> None:
        message.stop()
        if self.stale:
            self.set_stale(True, message.fetched_at)

    # ------------------------------------------------------------------ view (RecordPane)

    def search_of(self, view: UsersView) -> str:
        return view.search

    def with_search(self, view: UsersView, text: str) -> UsersView:
        return replace(view, search=text)

    def is_filtered(self, view: UsersView) -> bool:
        return bool(view.filters)

    def without_filters(self, view: UsersView) -> UsersView:
        return replace(view, filters=frozenset())

    def source_has_rows(self) -> bool:
        return self._total > 0

    def bar(self) -> Text:
        return self.view.bar(len(self.table.selected_keys))

    def explain(self, key: RowKey) -> Text | None:
        row = self.ctx.store.get_user(self.ctx.incident_id, key) if isinstance(key, int) else None
        return None if row is None else risk_explanation(row)

    def set_view(self, view: UsersView, *, note: str | None = None, save: bool = True) -> None:
        self._to_top = True  # a new sort, filter or search starts at the top
        self.table.set_sort(view.sort, view.descending)
        super().set_view(view, note=note, save=save)

    def refresh_rows(self) -> None:
        if self.is_mounted:
            self._requery()

    def search_typed(self, text: str) -> None:
        self._search.call()

    def _apply_search(self) -> None:
        value = self.search_box.value
        if value != self.view.search:
            self.set_view(self.with_search(self.view, value))

    def close_search(self) -> None:
        self._search.cancel()
        super().close_search()

    def action_toggle_filter(self, name: str) -> None:
        on_now = name not in self.view.filters
        label = next((f.label for f in QUICK_FILTERS if f.name == name), name)
        self.set_view(self.view.toggle(name), note=f"+ {label}" if on_now else f"− {label}")

    def action_clear_filters(self) -> None:
        box = self.search_box
        with box.prevent(Input.Changed):
            box.value = ""
        box.display = False
        # No note: the bar's "All users" says it.
        self.set_view(UsersView(sort=self.view.sort, descending=self.view.descending))

    def action_cycle_sort(self) -> None:
        self.set_view(self.view.next_sort(), note="sorted")

    def action_reverse_sort(self) -> None:
        self.set_view(self.view.reversed(), note="order reversed")

    def action_sort_by_risk(self) -> None:
        """The triage order in one key (s would take ten presses to get there)."""
        self.set_view(replace(self.view, sort="risk", descending=True), note="riskiest first")

    # ------------------------------------------------------------------ chrome

    def set_title(self, status: str | None) -> None:
        if self.is_mounted:
            self._update_title()

    def _update_title(self) -> None:
        # Numbers only: border titles are parsed as markup, so no server text goes here.
        if self._loading:
            count = max(self._loaded_count, self._total)
            of = f" of {self._load_total:,}" if self._load_total else ""
            self.border_title = f"Users {count:,}{of} loading…"
        elif self.view.is_narrowed:
            self.border_title = f"Users {self._shown:,} of {self._total:,}"
        else:
            self.border_title = f"Users {self._total:,}"

    def _set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#users-status", Static)
        status.update(Text(text, style="bold red" if error else "dim", no_wrap=True))

    def _post_progress_soon(self) -> None:
        self._progress_worker()

    @work(thread=True, exclusive=True, group="users-progress", exit_on_error=False)
    def _progress_worker(self) -> None:
        p = self.ctx.store.review_progress(self.ctx.incident_id)
        self.post_message(messages.ReviewProgressChanged.of(p))

    def _selected_keys(self) -> Sequence[int]:
        return [k for k in self.table.selected_keys if isinstance(k, int)]
