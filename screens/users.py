"""The user review pane: every account on the instance (root included), triage, review marks.

Data flow:

* A thread worker streams ``GET /users`` into the store (``console.loader``); each committed page
  posts ``UsersPageArrived`` and the pane re-queries the store (debounced) so the table grows
  while the load runs.  ``x`` cancels the load, ``r`` starts it again.
* The table (``VirtualTable``) holds only the ordered id list from ``Store.user_ids``; search,
  filters and sort are SQL in the store, run in an exclusive thread worker so typing never waits.
* After a full load: risk signals (worker), then ``GET /users/:id`` for admins and users who
  signed in during the window, to fill in their sign-in IPs (worker, bounded).
* ``c``/``f`` mark the user cleared/flagged (saved at once, then an optional note), ``n`` jumps to
  the next unreviewed user, ``enter`` opens the dossier.  Review progress is posted upwards as
  ``UsersPane.ReviewProgressChanged`` for the header.
* Search, filters, sort, the selected user and the scroll offset are saved (debounced, worker)
  under the ``users`` ui_state key and restored with :meth:`UsersPane.restore`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, ProgressBar, Static
from textual.worker import Worker, get_current_worker

from screens.note import NoteScreen
from screens.pane_state import SavesPaneState
from screens.safe import safe_cell
from screens.user_filters import QUICK_FILTER_GROUP, QUICK_FILTERS, UsersView
from screens.widgets.search_input import SearchInput
from screens.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from console.context import AppContext
    from console.store import ReviewProgress, UserRow

__all__ = ["USERS_STATE_KEY", "UsersPane", "user_cells"]

USERS_STATE_KEY: Final = "users"
#: Debounce for re-querying while pages stream in (the first page is shown at once).
LOAD_REFRESH_S: Final = 0.4
SEARCH_DEBOUNCE_S: Final = 0.15
#: At most this many users get a ``GET /users/:id`` for their sign-in IPs after a load.
ENRICH_LIMIT: Final = 500

COLUMNS: Final = (
    Column("id", "ID", 6, justify="right"),
    Column("username", "Username", 12, flex=3),
    Column("name", "Name", 10, priority=3, flex=2),
    Column("state", "State", 7, priority=1),
    Column("is_admin", "Adm", 3),
    Column("two_factor", "2FA", 3),
    Column("kind", "Typ", 3, priority=2),
    Column("created_at", "Created", 10, priority=5),
    Column("current_sign_in_at", "Sign-in", 10, priority=2),
    Column("last_activity_on", "Active", 10, priority=6),
    Column("risk", "Risk", 4, justify="right"),
    Column("mark", "Review", 7),
)

_STATE_SHORT: Final = {
    "active": "active",
    "blocked": "blocked",
    "banned": "banned",
    "deactivated": "deactiv",
    "ldap_blocked": "ldapblk",
    "blocked_pending_approval": "pending",
}
_KIND_SHORT: Final = {"human": "", "bot": "bot", "service": "svc"}


def _date(value: str | None) -> Text:
    if not value:
        return Text("—", style="dim")
    return safe_cell(value[:10], max_cells=10)


def _risk_cell(score: int) -> Text:
    if score <= 0:
        return Text("·", style="dim")
    style = "bold red" if score >= 50 else "yellow" if score >= 20 else ""
    return Text(str(score), style=style)


def _mark_cell(mark: str | None, note: str | None) -> Text:
    suffix = "✎" if note else ""
    if mark == "cleared":
        return Text(f"✓ clr{suffix}", style="green")
    if mark == "flagged":
        return Text(f"⚑ FLAG{suffix}", style="bold red")
    return Text("·", style="dim")


def user_cells(user: UserRow) -> dict[str, Text]:
    """Sanitised cells for one user row (every server string through ``safe_cell``)."""
    state = user.state or ""
    state_text = _STATE_SHORT.get(state)
    if state_text is None:
        state_cell = safe_cell(state, max_cells=7)
    else:
        state_cell = Text(state_text, style="" if state == "active" else "bold red")
    if user.two_factor is None:
        tfa = Text("?", style="dim")
    elif user.two_factor:
        tfa = Text("on", style="green")
    else:
        tfa = Text("off", style="yellow" if user.kind == "human" else "dim")
    return {
        "id": Text(str(user.id)),
        "username": safe_cell(user.username, kind="username"),
        "name": safe_cell(user.name, kind="name"),
        "state": state_cell,
        "is_admin": Text("ADM", style="bold magenta") if user.is_admin else Text(""),
        "two_factor": tfa,
        "kind": Text(_KIND_SHORT.get(user.kind, user.kind[:3]), style="cyan"),
        "created_at": _date(user.created_at),
        "current_sign_in_at": _date(user.current_sign_in_at or user.last_sign_in_at),
        "last_activity_on": _date(user.last_activity_on),
        "risk": _risk_cell(user.risk),
        "mark": _mark_cell(user.mark, user.note),
    }


def incident_window(ctx: AppContext) -> tuple[str, str]:
    """The incident window as two ISO strings (open ends become 30 days ago / now)."""
    start, end = ctx.incident.window
    now = datetime.now(UTC)
    return (
        start or (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        end or now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


class UsersTable(VirtualTable):
    """The users table: enter opens the dossier, space selects users for ``a`` (actions)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_row", "Dossier"),
        Binding("space", "toggle_selection", "Select user (c, f, a act on the selection)",
                show=False),
    ]


class UsersPane(SavesPaneState, Vertical):
    """Every user of the instance, with triage signals and review marks."""

    STATE_KEY = USERS_STATE_KEY

    # The footer at 80 columns has room for enter and c/f/n (plus ? and q): everything else is
    # show=False and listed by the help screen (?), which reads these descriptions.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "mark('cleared')", "Mark cleared", tooltip="Mark the user reviewed, cleared"),
        Binding("f", "mark('flagged')", "Flag suspicious", tooltip="Flag the user as suspicious"),
        Binding("n", "next_unreviewed", "Next unreviewed user"),
        Binding("slash", "search", "Search username, name, email or IP", show=False),
        Binding("delete", "unmark", "Remove the review mark", show=False),
        Binding("asterisk", "select_all", "Select every user in this view (again: none)",
                show=False),
        Binding("s", "cycle_sort", "Sort by the next column", show=False),
        Binding("S", "reverse_sort", "Reverse the sort order", show=False),
        Binding("R", "sort_by_risk", "Sort by risk, highest first", show=False),
        *[
            Binding(f.key, f"toggle_filter('{f.name}')", f.description, show=False,
                    group=QUICK_FILTER_GROUP)
            for f in QUICK_FILTERS
        ],
        Binding("X", "clear_filters", "Clear all filters and the search", show=False),
        Binding("escape", "back", "Close search / clear selection", show=False),
        Binding("r", "reload", "Reload users from GitLab", show=False),
        Binding("x", "cancel_load", "Cancel loading", show=False),
    ]
    """Review keys c/f/n, search /, sort s/S, quick filters on upper-case letters."""

    # ------------------------------------------------------------------ messages

    @dataclass
    class ReviewProgressChanged(Message):
        """Review marks changed: ``reviewed`` of ``total`` users, and whether root was."""

        reviewed: int
        total: int
        root_reviewed: bool

    @dataclass
    class UsersPageArrived(Message):
        """A page of users was committed to the store (from the loader thread)."""

        loaded: int
        total: int | None
        pages: int
        done: bool

    @dataclass
    class UsersLoaded(Message):
        """The load finished, failed or was cancelled."""

        result: Any

    @dataclass
    class UsersQueried(Message):
        """Ordered ids for the current view, and the unfiltered total."""

        ids: list[int]
        total: int
        generation: int
        marks: dict[int, str] | None
        seconds: float

    @dataclass
    class BulkMarked(Message):
        """Marks for the selected users were saved (one worker for the whole selection)."""

        user_ids: list[int]
        mark: str | None
        progress: ReviewProgress | None
        problem: str | None

    @dataclass
    class MarkSaved(Message):
        user_id: int
        mark: str | None
        note: str | None
        progress: ReviewProgress | None
        problem: str | None
        ask_note: bool

    @dataclass
    class RiskComputed(Message):
        problem: str | None
        failed: bool = False
        final: bool = False

    @dataclass
    class UsersEnriched(Message):
        result: Any

    # ------------------------------------------------------------------ setup

    def __init__(
        self,
        ctx: AppContext,
        *,
        autoload: bool = True,
        name: str | None = None,
        id: str | None = "users-pane",
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.ctx = ctx
        self.autoload = autoload
        self.view = UsersView()
        self._generation = 0
        self._total = 0
        self._shown = 0
        self._marks: dict[int, str] = {}
        self._loading = False
        self._loaded_count = 0
        self._load_total: int | None = None
        self._load_started = 0.0
        self._load_worker: Worker[Any] | None = None
        self._refresh_timer: Timer | None = None
        self._search_timer: Timer | None = None
        self._pending_cursor: int | None = None
        self._pending_scroll: int | None = None
        self._first_query_done = False
        self._to_top = False
        self._load_finishing = False  # the query right after a load still keeps the top
        self._enriched = 0
        self.last_problem: str | None = None
        """The last load/risk/enrich problem, one line (also shown in the status bar)."""
        self.timings: dict[str, float] = {}
        """Measured durations (first rows, load, last query), for the bench and tests."""

    def compose(self) -> ComposeResult:
        yield SearchInput(placeholder="search username, name, email or IP", id="users-search")
        with Horizontal(id="users-bar"):
            yield Static(self.view.bar(), id="users-filters")
            yield ProgressBar(total=None, show_eta=False, id="users-progress")
        yield UsersTable(
            COLUMNS, self._provide_rows, empty_text="Loading users…", id="users-table"
        )
        yield Static("", id="users-status")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#users-table", VirtualTable)

    def on_mount(self) -> None:
        cov = self.ctx.coverage
        if cov is not None and getattr(cov, "is_admin", None) is False:
            # The coverage panel said it once at connect; the list itself must keep saying it.
            self.border_subtitle = "partial list: this token is not an administrator (v: coverage)"
        self.query_one("#users-search", Input).display = bool(self.view.search)
        self.query_one("#users-progress", ProgressBar).display = False
        self.table.set_sort(self.view.sort, self.view.descending)
        self._update_title()
        self._requery(with_marks=True)
        self.table.focus()

    # ------------------------------------------------------------------ public API

    def state(self) -> dict[str, Any]:
        """The pane's resumable state (JSON-able)."""
        table = self.table if self.is_mounted else None
        cursor = table.cursor_key if table is not None else self._pending_cursor
        scroll = int(table.scroll_y) if table is not None else self._pending_scroll
        return {**self.view.to_state(), "selected_id": cursor, "scroll": scroll or 0}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Apply a saved state (from ``state()``; a whole ui_state dict is accepted too)."""
        inner = state.get(USERS_STATE_KEY)
        if isinstance(inner, Mapping):
            state = inner
        self.view = UsersView.from_state(state)
        selected = state.get("selected_id")
        scroll = state.get("scroll")
        self._pending_cursor = selected if isinstance(selected, int) else None
        self._pending_scroll = scroll if isinstance(scroll, int) and scroll >= 0 else None
        if self.is_mounted:
            search = self.query_one("#users-search", Input)
            with search.prevent(Input.Changed):
                search.value = self.view.search
            search.display = bool(self.view.search)
            self.table.set_sort(self.view.sort, self.view.descending)
            self._update_bar()
            self._requery()

    def selected_ids(self) -> list[int]:
        """Users chosen with space, in table order; the cursor's user if none is selected."""
        table = self.table
        keys = [int(k) for k in table.selected_keys]  # type: ignore[call-overload]
        if keys:
            return keys
        current = table.cursor_key
        return [int(current)] if current is not None else []  # type: ignore[call-overload]

    @property
    def current_user_id(self) -> int | None:
        key = self.table.cursor_key
        return None if key is None else int(key)  # type: ignore[call-overload]

    def move_to_user(self, user_id: int) -> None:
        """Put the cursor on ``user_id`` if it is in the current view (the dossier's ``n``)."""
        self.table.move_to_key(user_id)

    def focus_search(self) -> None:
        self.action_search()

    # The app's generic keys (enter, space, escape) reach these through MainScreen.delegate
    # when the table itself does not have focus.
    def action_open(self) -> None:
        self.table.action_select_row()

    def action_toggle_selection(self) -> None:
        self.table.action_toggle_selection()

    def action_back(self) -> None:
        """Escape: close the search box, else drop the selection."""
        search = self.query_one("#users-search", Input)
        if search.has_focus:
            self._apply_search()
            self._leave_search()
        elif self.table.selected_keys:
            self.table.clear_selection()
        self.table.focus()

    def incident_changed(self, incident: Any) -> None:
        """The window may have moved: window filters and risk depend on it."""
        self._requery()

    # ------------------------------------------------------------------ rows

    def _provide_rows(self, keys: Sequence[object]) -> Mapping[object, Mapping[str, Text]]:
        # A primary-key lookup of one page in the local store: sub-millisecond, and the
        # loader's writes never block it (WAL).  See screens/widgets/virtual_table.py.
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        rows = self.ctx.store.users_by_ids(self.ctx.incident_id, ids)
        return {row.id: user_cells(row) for row in rows}

    # ------------------------------------------------------------------ querying

    def _requery(self, *, with_marks: bool = False, to_top: bool = False) -> None:
        self._generation += 1
        self._to_top = to_top or self._to_top
        self._query_worker(self.view, self._generation, with_marks)

    @work(thread=True, exclusive=True, group="users-query", exit_on_error=False)
    def _query_worker(self, view: UsersView, generation: int, with_marks: bool) -> None:
        worker = get_current_worker()
        started = time.perf_counter()
        store, incident_id = self.ctx.store, self.ctx.incident_id
        ids = store.user_ids(incident_id, view.query())
        total = store.count_users(incident_id) if view.is_narrowed else len(ids)
        marks: dict[int, str] | None = None
        if with_marks:
            marks = {
                int(k): m.mark
                for k, m in store.marks(incident_id, "user").items()
                if m.mark is not None
            }
        if not worker.is_cancelled:
            self.post_message(
                self.UsersQueried(ids, total, generation, marks, time.perf_counter() - started)
            )

    def on_users_pane_users_queried(self, message: UsersQueried) -> None:
        message.stop()
        if message.marks is not None:
            self._marks = message.marks
        if message.generation != self._generation:
            return
        self._total = message.total
        self._shown = len(message.ids)
        self.timings["query"] = message.seconds
        table = self.table
        if self._pending_cursor is not None and self._pending_cursor in set(message.ids):
            table.set_rows(
                message.ids, cursor_key=self._pending_cursor, scroll_y=self._pending_scroll
            )
            self._pending_cursor = self._pending_scroll = None
        elif self._to_top:
            # A new sort, filter or search: start at the top, as the responder expects.
            table.set_rows(message.ids, cursor_key=message.ids[0] if message.ids else None)
            table.move_cursor(0)
            self._to_top = False
        elif (
            (self._loading or self._load_finishing)
            and table.cursor_row == 0
            and int(table.scroll_y) == 0
        ):
            # Pages stream in from several id ranges at once: a cursor nobody moved stays on
            # the first row (root, in id order) instead of riding down with the first page.
            table.set_rows(message.ids, cursor_key=message.ids[0] if message.ids else None)
        else:
            table.set_rows(message.ids)  # streaming or a mark: the cursor keeps its user
        self._load_finishing = False
        if self._loading and message.ids and "first_rows" not in self.timings:
            self.timings["first_rows"] = time.perf_counter() - self._load_started
        table.empty_text = (
            "Loading users…"
            if self._loading
            else "No users match — X clears filters"
            if self.view.is_narrowed
            else "No users cached — r loads them"
        )
        self._update_title()
        if not self._first_query_done:
            self._first_query_done = True
            self._post_progress_soon()
            if self.autoload and self._total == 0 and not self._loading:
                self.action_reload()
            elif self._total and not self._loading:
                self._set_status(f"{self._total:,} users from the local cache; r reloads them")

    # ------------------------------------------------------------------ loading

    def action_reload(self) -> None:
        """(Re)load every user from the server into the store."""
        if self._loading:
            return
        self._loading = True
        self._loaded_count = 0
        self._load_total = None
        self._load_started = time.perf_counter()
        self.timings.pop("first_rows", None)
        self.last_problem = None
        bar = self.query_one("#users-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.table.empty_text = "Loading users…"
        self._set_status("Loading users… x cancels")
        self._update_title()
        self._load_worker = self._load(self.ctx)

    def action_cancel_load(self) -> None:
        if self._load_worker is not None and self._loading:
            self._load_worker.cancel()
            self._set_status("Cancelling…")

    @work(thread=True, exclusive=True, group="users-load", exit_on_error=False)
    def _load(self, ctx: AppContext) -> None:
        from console.users_load import load_users_blocking

        worker = get_current_worker()

        def progress(p: Any) -> None:
            self.post_message(self.UsersPageArrived(p.loaded, p.total, p.pages, p.done))

        result: Any
        try:
            result = load_users_blocking(
                ctx.connection.config,
                ctx.connection.token,
                ctx.store,
                ctx.incident_id,
                on_progress=progress,
                cancelled=lambda: worker.is_cancelled,
            )
        except Exception as exc:  # the loader reports problems; this is a last resort
            from console.errors import describe_error

            result = _Failed(describe_error(exc))
        self.post_message(self.UsersLoaded(result))

    def on_users_pane_users_page_arrived(self, message: UsersPageArrived) -> None:
        message.stop()
        if not self._loading:
            return
        self._loaded_count = message.loaded
        self._load_total = message.total
        if self._refresh_timer is None:
            # First rows as soon as they exist; after that, re-querying 100k ids costs tens of
            # milliseconds of the UI's share of the GIL, so the interval grows with the query
            # time (at most ~10% of the time goes on refreshes).
            delay = (
                0.01 if not self._shown else max(LOAD_REFRESH_S, 10 * self.timings["query"])
            )
            self._refresh_timer = self.set_timer(delay, self._timed_refresh)

    def _update_load_chrome(self) -> None:
        """Progress bar and title while loading (on a timer: pages can arrive every ms)."""
        if not self._loading:
            return
        bar = self.query_one("#users-progress", ProgressBar)
        bar.update(total=self._load_total, progress=self._loaded_count)
        self._update_title()

    def _timed_refresh(self) -> None:
        self._refresh_timer = None
        self._update_load_chrome()
        self._requery()
        self._post_progress_soon()  # the header's "reviewed x/total" grows with the load

    def on_users_pane_users_loaded(self, message: UsersLoaded) -> None:
        message.stop()
        result = message.result
        self._loading = False
        self._load_worker = None
        self.timings["load"] = time.perf_counter() - self._load_started
        self.query_one("#users-progress", ProgressBar).display = False
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        problem = getattr(result, "problem", None)
        cancelled = bool(getattr(result, "cancelled", False))
        loaded = int(getattr(result, "loaded", self._loaded_count) or 0)
        if problem is not None:
            self.last_problem = _problem_line(problem)
            self._set_status(f"Load stopped: {self.last_problem}  (r retries)", error=True)
        elif cancelled:
            self._set_status(f"Load cancelled after {loaded:,} users (r reloads)")
        else:
            seconds = getattr(result, "seconds", self.timings["load"])
            self._set_status(f"Loaded {loaded:,} users in {seconds:.1f}s; computing risk…")
            self._risk_worker(self.ctx)
        self._load_finishing = True
        self._requery()
        self._post_progress_soon()

    # ------------------------------------------------------------------ risk and enrichment

    @work(thread=True, exclusive=True, group="users-risk", exit_on_error=False)
    def _risk_worker(self, ctx: AppContext) -> None:
        from console.errors import describe_error
        from console.risk import TOKENS_CACHE_KEY, compute_and_store_risk
        from console.users_load import FetchError, fetch_tokens_blocking

        worker = get_current_worker()
        problem: str | None = None
        tokens: list[dict[str, Any]] | None = None
        try:
            # Token signals (created or used in the window) need every PAT: admin only.
            tokens = fetch_tokens_blocking(
                ctx.connection.config, ctx.connection.token, cancelled=lambda: worker.is_cancelled
            )
            ctx.store.cache_put(ctx.incident_id, TOKENS_CACHE_KEY, tokens)
        except FetchError as exc:
            problem = "token signals skipped: " + _problem_line(exc.problem or "cancelled")
        except Exception as exc:
            problem = "token signals skipped: " + _problem_line(describe_error(exc))
        failed = False
        try:
            # The incident's own window (open ends stay open): the risk module decides.
            compute_and_store_risk(ctx.store, ctx.incident_id, ctx.incident.window, tokens=tokens)
        except Exception as exc:
            problem, failed = _problem_line(describe_error(exc)), True
        self.post_message(self.RiskComputed(problem, failed))

    def on_users_pane_risk_computed(self, message: RiskComputed) -> None:
        message.stop()
        if message.failed:
            self.last_problem = message.problem
            self._set_status(f"Risk signals unavailable: {message.problem}", error=True)
        elif message.problem:
            self.last_problem = message.problem
            self._set_status(f"Risk computed ({message.problem}); fetching sign-in IPs…")
        elif message.final:
            self._set_status(
                f"{self._total:,} users loaded; risk rescored with "
                f"{self._enriched:,} admins'/active users' sign-in IPs"
            )
        else:
            self._set_status("Risk computed; fetching sign-in IPs for admins and active users…")
        self.table.invalidate()
        if self.view.sort == "risk":
            self._requery()
        if not message.final:
            self._enrich_worker(self.ctx)

    @work(thread=True, exclusive=True, group="users-enrich", exit_on_error=False)
    def _enrich_worker(self, ctx: AppContext) -> None:
        from console.store import UserQuery
        from console.users_load import EnrichResult, enrich_users_blocking

        worker = get_current_worker()
        store, incident_id = ctx.store, ctx.incident_id
        admins = store.user_ids(incident_id, UserQuery(filters=frozenset({"admins"})))
        active = store.user_ids(
            incident_id,
            UserQuery(filters=frozenset({"signed_in_in_window"}), sort="current_sign_in_at",
                      descending=True),
        )
        wanted = list(dict.fromkeys([*admins, *active]))[:ENRICH_LIMIT]
        started = time.perf_counter()
        try:
            result = enrich_users_blocking(
                ctx.connection.config,
                ctx.connection.token,
                store,
                incident_id,
                wanted,
                cancelled=lambda: worker.is_cancelled,
            )
        except Exception as exc:  # a store or client failure must not leave "fetching…" up
            from console.errors import describe_error

            result = EnrichResult(0, 0, time.perf_counter() - started, False, describe_error(exc))
        self.post_message(self.UsersEnriched(result))

    def on_users_pane_users_enriched(self, message: UsersEnriched) -> None:
        message.stop()
        result = message.result
        problem = getattr(result, "problem", None)
        self._enriched = int(getattr(result, "enriched", 0) or 0)
        if problem is not None:
            self._set_status(f"Sign-in IPs incomplete: {_problem_line(problem)}", error=True)
        self.table.invalidate()
        if self._enriched:
            self._rescore_worker(self.ctx)  # IP signals need the IPs just fetched

    def users_changed(self, user_ids: tuple[int, ...]) -> None:
        """Rows changed in the store (an action blocked someone): redraw and re-filter."""
        self.table.invalidate(list(user_ids))
        self._requery()

    def rescore(self) -> None:
        """Recompute risk from what the store holds now (e.g. audit events just arrived).

        While a load runs, nothing happens: scoring follows every completed load anyway.
        """
        if self._total and not self._loading:
            self._rescore_worker(self.ctx)

    @work(thread=True, exclusive=True, group="users-risk", exit_on_error=False)
    def _rescore_worker(self, ctx: AppContext) -> None:
        from console.errors import describe_error
        from console.risk import compute_and_store_risk

        problem: str | None = None
        failed = False
        try:
            compute_and_store_risk(ctx.store, ctx.incident_id, ctx.incident.window)
        except Exception as exc:
            problem, failed = _problem_line(describe_error(exc)), True
        self.post_message(self.RiskComputed(problem, failed, final=True))

    # ------------------------------------------------------------------ search, filters, sort

    def action_search(self) -> None:
        search = self.query_one("#users-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#users-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE_S, self._apply_search)

    def _apply_search(self) -> None:
        self._search_timer = None
        value = self.query_one("#users-search", Input).value
        if value != self.view.search:
            self.view = UsersView(value, self.view.filters, self.view.sort, self.view.descending)
            self._view_changed()

    @on(Input.Submitted, "#users-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_search()
        self._leave_search()

    def _leave_search(self) -> None:
        search = self.query_one("#users-search", Input)
        search.display = bool(search.value)
        self.table.focus()

    def action_toggle_filter(self, name: str) -> None:
        self.view = self.view.toggle(name)
        self._view_changed()

    def action_clear_filters(self) -> None:
        search = self.query_one("#users-search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        search.display = False
        self.view = UsersView(sort=self.view.sort, descending=self.view.descending)
        self._view_changed()

    def action_cycle_sort(self) -> None:
        self.view = self.view.next_sort()
        self._view_changed()

    def action_reverse_sort(self) -> None:
        self.view = self.view.reversed()
        self._view_changed()

    def action_sort_by_risk(self) -> None:
        """The triage order in one key (s would take ten presses to get there)."""
        self.view = replace(self.view, sort="risk", descending=True)
        self._view_changed()

    def _view_changed(self) -> None:
        self.table.set_sort(self.view.sort, self.view.descending)
        self._update_bar()
        self._requery(to_top=True)
        self._schedule_save()

    # ------------------------------------------------------------------ review marks

    def _row(self, user_id: int) -> UserRow | None:
        return self.ctx.store.get_user(self.ctx.incident_id, user_id)

    def action_mark(self, mark: str) -> None:
        """Mark the selected users (space) if any, else the highlighted one (then a note)."""
        selected = [int(k) for k in self.table.selected_keys]  # type: ignore[call-overload]
        if selected:
            self._bulk_mark_worker(selected, mark)
            return
        user_id = self.current_user_id
        if user_id is not None:
            self.mark_user(user_id, mark)

    def action_unmark(self) -> None:
        selected = [int(k) for k in self.table.selected_keys]  # type: ignore[call-overload]
        if selected:
            self._bulk_mark_worker(selected, None)
            return
        user_id = self.current_user_id
        if user_id is not None:
            self._mark_worker(user_id, None, None, ask_note=False)

    def action_select_all(self) -> None:
        """Select every user in the current view (filters and search apply); again: none."""
        table = self.table
        if table.row_count and len(table.selected_keys) == table.row_count:
            table.clear_selection()
        else:
            table.select_keys(table.keys)

    @work(thread=True, group="users-marks", exit_on_error=False)
    def _bulk_mark_worker(self, user_ids: list[int], mark: str | None) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        problem: str | None = None
        progress = None
        try:
            existing = store.marks(incident_id, "user")
            for user_id in user_ids:
                old = existing.get(user_id)
                # Keep each user's note; without a mark, the note goes too (like delete).
                note = old.note if old is not None and mark is not None else None
                store.set_mark(incident_id, "user", user_id, mark, note)
            progress = store.review_progress(incident_id)
        except Exception as exc:
            from console.errors import describe_error

            problem = _problem_line(describe_error(exc))
        self.post_message(self.BulkMarked(user_ids, mark, progress, problem))

    def on_users_pane_bulk_marked(self, message: BulkMarked) -> None:
        message.stop()
        if message.problem:
            self._set_status(f"Marks not saved: {message.problem}", error=True)
            return
        for user_id in message.user_ids:
            self._marks_local_set(user_id, message.mark)
        self.table.clear_selection()
        self.table.invalidate()
        if message.progress is not None:
            p = message.progress
            self.post_message(self.ReviewProgressChanged(p.reviewed, p.total, p.root_reviewed))
        if {"unreviewed", "flagged"} & self.view.filters:
            self._requery()
        n = len(message.user_ids)
        what = {"cleared": "marked cleared", "flagged": "flagged"}.get(
            message.mark or "", "unmarked")
        self._set_status(f"{n:,} selected user{'s' if n != 1 else ''} {what}.")

    def mark_user(self, user_id: int, mark: str | None, *, ask_note: bool = True) -> None:
        """Save ``mark`` for ``user_id`` now (worker), then offer the note dialog."""
        self._marks_local_set(user_id, mark)
        self._mark_worker(user_id, mark, None, ask_note=ask_note and mark is not None)

    def _marks_local_set(self, user_id: int, mark: str | None) -> None:
        if mark is None:
            self._marks.pop(user_id, None)
        else:
            self._marks[user_id] = mark

    @work(thread=True, group="users-marks", exit_on_error=False)
    def _mark_worker(
        self, user_id: int, mark: str | None, note: str | None, *, ask_note: bool
    ) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        problem: str | None = None
        progress = None
        try:
            if note is None and mark is not None:
                existing = store.marks(incident_id, "user").get(user_id)
                note = existing.note if existing is not None else None
            store.set_mark(incident_id, "user", user_id, mark, note)
            progress = store.review_progress(incident_id)
        except Exception as exc:
            from console.errors import describe_error

            problem = _problem_line(describe_error(exc))
        self.post_message(self.MarkSaved(user_id, mark, note, progress, problem, ask_note))

    def on_users_pane_mark_saved(self, message: MarkSaved) -> None:
        message.stop()
        if message.problem:
            self._set_status(f"Mark not saved: {message.problem}", error=True)
            return
        self._marks_local_set(message.user_id, message.mark)
        self.table.invalidate([message.user_id])
        # A dossier on top shows the mark and note: the note is saved after its dialog closed.
        mark_saved = getattr(self.app.screen, "mark_saved", None)
        if callable(mark_saved):
            mark_saved(message.user_id)
        if message.progress is not None:
            p = message.progress
            self.post_message(self.ReviewProgressChanged(p.reviewed, p.total, p.root_reviewed))
        if {"unreviewed", "flagged"} & self.view.filters:
            self._requery()
        if message.ask_note and message.mark is not None:
            row = self._row(message.user_id)

            def save_note(note: str | None) -> None:
                if note:
                    self._mark_worker(message.user_id, message.mark, note, ask_note=False)

            self.app.push_screen(
                NoteScreen(
                    message.mark,
                    row.username if row else None,
                    message.user_id,
                    message.note,
                ),
                save_note,
            )

    def next_unreviewed_after(self, user_id: int | None) -> int | None:
        """The next user in table order, after ``user_id``, with no review mark (wraps)."""
        keys = self.table.keys
        n = len(keys)
        if not n:
            return None
        start = 0
        if user_id is not None:
            try:
                start = list(keys).index(user_id) + 1
            except ValueError:
                start = self.table.cursor_row + 1
        marks = self._marks
        for offset in range(n):
            key = keys[(start + offset) % n]
            if key not in marks:
                return int(key)  # type: ignore[call-overload]
        return None

    def action_next_unreviewed(self) -> None:
        target = self.next_unreviewed_after(self.current_user_id)
        if target is None:
            self._set_status("Every user in this view has a review mark.")
            return
        self.table.move_to_key(target)

    def _post_progress_soon(self) -> None:
        self._progress_worker()

    @work(thread=True, exclusive=True, group="users-progress", exit_on_error=False)
    def _progress_worker(self) -> None:
        p = self.ctx.store.review_progress(self.ctx.incident_id)
        self.post_message(self.ReviewProgressChanged(p.reviewed, p.total, p.root_reviewed))

    # ------------------------------------------------------------------ dossier

    @on(VirtualTable.RowSelected, "#users-table")
    def _open_dossier(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        from screens.dossier import DossierScreen

        self.app.push_screen(DossierScreen(self.ctx, int(event.row_key), reviewer=self))  # type: ignore[call-overload]

    @on(VirtualTable.RowHighlighted, "#users-table")
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        if self._first_query_done and self._pending_cursor is None:
            self._schedule_save()

    @on(VirtualTable.SelectionChanged, "#users-table")
    def _selection_changed(self, event: VirtualTable.SelectionChanged) -> None:
        event.stop()
        self._update_bar()

    # ------------------------------------------------------------------ persistence

    # ------------------------------------------------------------------ chrome

    def _update_bar(self) -> None:
        selected = len(self.table.selected_keys) if self.is_mounted else 0
        self.query_one("#users-filters", Static).update(self.view.bar(selected))

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


@dataclass(frozen=True)
class _Failed:
    problem: Any
    loaded: int = 0
    cancelled: bool = False


def _problem_line(problem: Any) -> str:
    """A Problem as one display-safe line (error bodies are server text)."""
    from console.sanitize import safe

    line = problem.one_line() if hasattr(problem, "one_line") else str(problem)
    return safe(line, kind="line", max_cells=200)
