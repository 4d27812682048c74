"""``RecordPane``: the one shape of the users, audit and credentials panes.

Filter bar, search box, problem box, a ``VirtualTable`` over a :class:`RowSource`, and a detail
line under the table.  The base owns everything the three panes must do alike:

* search: ``/`` opens the box, typing narrows live, enter keeps the search and returns to the
  table;
* Escape is "back", in one order everywhere: close the search box, then clear the search text,
  then clear the filters, then drop the row selection;
* a filter key says what it did in the filter bar, and an empty result says "no match" there and
  in the table;
* the detail line shows the highlighted row's full explanation (event name, credential flags,
  risk reasons), so a cell cut at 80 columns can always be read whole;
* one handler turns a failed worker into a ``Problem`` in the problem box;
* resume: the view's saved form plus the cursor's key.

Subclasses give the columns, the row source, the view (a frozen dataclass) and a few hooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from console.context import AppContext
from console.problem import Problem
from console.sanitize import clean
from console.store import Incident
from console.timeutil import minute_text
from screens.messages import PaneRowsShown
from screens.panes.first_fetch import HeldFirstFetch
from screens.panes.sources import RowSource
from screens.panes.state import SavesPaneState
from screens.panes.waits import WaitCountdown
from screens.widgets.filter_bar import FilterBar
from screens.widgets.problem_box import ProblemBox
from screens.widgets.search_input import SearchInput
from screens.widgets.virtual_table import Column, RowKey, VirtualTable

if TYPE_CHECKING:
    from console.capabilities import Coverage

__all__ = ["DetailsTable", "Pane", "RecordPane", "detail_text"]

ViewT = TypeVar("ViewT")


@runtime_checkable
class Pane(Protocol):
    """What the main screen asks of any pane (a ``RecordPane``, or a stand-in in tests)."""

    def state(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...


class DetailsTable(VirtualTable):
    """A record table whose enter key opens the row's details (footer and help say so)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_row", "Details"),
        Binding("space", "toggle_selection", "Select row", show=False),
    ]


class RecordPane(HeldFirstFetch, WaitCountdown, SavesPaneState, Vertical, Generic[ViewT]):
    """A pane of records: see the module docstring for what every pane shares."""

    PREFIX: ClassVar[str]
    """Widget ids: ``{PREFIX}-filterbar``, ``-search``, ``-message``, ``-table``, ``-detail``."""
    TITLE: ClassVar[str]
    COLUMNS: ClassVar[tuple[Column, ...]]
    SEARCH_PLACEHOLDER: ClassVar[str] = "search (enter keeps it, escape closes)"
    EMPTY_TEXT: ClassVar[str] = "No rows"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", show=False),
        Binding("escape", "back", "Back: close search, clear search, then filters", show=False),
    ]

    coverage: reactive[Coverage | None] = reactive(None, init=False)
    """What the capability check found (None until it has answered). Set from the context at
    construction; a resume's check answers after the pane mounted, and the screen sets it then."""

    class CacheMissed(Message):
        """The local cache had nothing for this view: fetch from GitLab (posted by a worker)."""

    def __init__(
        self, ctx: AppContext, source: RowSource[ViewT], view: ViewT, *, id: str | None = None
    ) -> None:
        super().__init__(id=id, classes="pane")
        self.ctx = ctx
        self.source = source
        self.view = view
        self.loading = False
        self.stale = False
        self.stale_as_of: str | None = None
        self.set_reactive(RecordPane.coverage, ctx.coverage)
        self._pending_select: RowKey | None = None
        self._rows_shown = False
        self._table: VirtualTable = self.make_table()

    # -- hooks -----------------------------------------------------------------------------
    def search_of(self, view: ViewT) -> str:
        """The view's search text."""
        raise NotImplementedError

    def with_search(self, view: ViewT, text: str) -> ViewT:
        raise NotImplementedError

    def is_filtered(self, view: ViewT) -> bool:
        """True if filters other than the search narrow the view."""
        raise NotImplementedError

    def without_filters(self, view: ViewT) -> ViewT:
        """The view with every filter but the search (and the sort) cleared."""
        raise NotImplementedError

    def bar(self) -> Text:
        """The filter bar's text: counts and active filters."""
        raise NotImplementedError

    def explain(self, key: RowKey) -> Text | None:
        """The highlighted row's full explanation for the detail line (``None``: nothing)."""
        return None

    def title_status(self) -> str:
        """What the border title says after the pane's name when no load runs."""
        return ""

    def action_open(self) -> None:
        """Open the highlighted row's details."""

    def incident_changed(self, incident: Incident) -> None:
        """The incident's title, kind or window changed (panes whose data depends on it)."""

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        p = self.PREFIX
        yield FilterBar(id=f"{p}-filterbar", classes="filterbar")
        yield SearchInput(
            placeholder=self.SEARCH_PLACEHOLDER, id=f"{p}-search", classes="pane-search"
        )
        yield ProblemBox(id=f"{p}-message", classes="pane-message")
        yield self._table
        yield Static("", id=f"{p}-detail", classes="pane-detail", markup=False)

    def make_table(self) -> VirtualTable:
        return DetailsTable(
            self.COLUMNS, self.source.cells, empty_text=self.EMPTY_TEXT, id=f"{self.PREFIX}-table"
        )

    @property
    def table(self) -> VirtualTable:
        """The pane's table (kept: ``state()`` reads its cursor while the pane unmounts)."""
        return self._table

    @property
    def search_box(self) -> SearchInput:
        return self.query_one(f"#{self.PREFIX}-search", SearchInput)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(f"#{self.PREFIX}-filterbar", FilterBar)

    @property
    def problem_box(self) -> ProblemBox:
        return self.query_one(f"#{self.PREFIX}-message", ProblemBox)

    @property
    def detail_line(self) -> Static:
        return self.query_one(f"#{self.PREFIX}-detail", Static)

    def on_mount(self) -> None:
        # A view restored before mounting keeps its search in the box too: a box left empty
        # would send "" back as the search on its next change and undo the restore.
        box, search = self.search_box, self.search_of(self.view)
        with box.prevent(Input.Changed):
            box.value = search
        box.display = bool(search)
        self.set_title(None)
        self.render_bar()

    # -- view ------------------------------------------------------------------------------
    def set_view(self, view: ViewT, *, note: str | None = None, save: bool = True) -> None:
        """Show ``view``; ``note`` says in the filter bar what the key that changed it did."""
        self.view = view
        if self.is_mounted:
            self.filter_bar.note = note
        self.refresh_rows()
        if save:
            self._schedule_save()

    def refresh_rows(self) -> None:
        """Ask the source for the view's keys and show them (list sources answer at once)."""
        if not self.is_mounted:
            return
        keys = self.source.keys(self.view)
        self.show_keys(keys)

    def show_keys(self, keys: Sequence[RowKey]) -> None:
        table = self.table
        pending = self._pending_select
        if pending is not None and pending in keys:
            table.set_rows(keys, cursor_key=pending)
            self._pending_select = None
        else:
            table.set_rows(keys)
        table.invalidate()
        narrowed = bool(self.search_of(self.view)) or self.is_filtered(self.view)
        table.empty_text = (
            "No match: escape clears the search, then the filters" if narrowed else self.EMPTY_TEXT
        )
        self.render_bar()
        self.set_title(None)
        self._show_detail(table.cursor_key)

    def render_bar(self) -> None:
        if not self.is_mounted:
            return
        narrowed = bool(self.search_of(self.view)) or self.is_filtered(self.view)
        matched = self.table.row_count if narrowed and self.source_has_rows() else None
        self.filter_bar.show(self.bar(), matched=matched)

    def source_has_rows(self) -> bool:
        """Whether there is anything to filter (no "no match" before data arrived)."""
        return True

    def set_title(self, status: str | None) -> None:
        """``TITLE — status`` (our words and numbers only; literal ``Content``, never markup)."""
        if status is None:
            if self.loading:
                return
            status = self.title_status()
        self.border_title = Content(f"{self.TITLE} — {status}" if status else self.TITLE)

    # -- search ----------------------------------------------------------------------------
    def action_search(self) -> None:
        box = self.search_box
        box.display = True
        with box.prevent(Input.Changed):
            box.value = self.search_of(self.view)
        box.focus()

    def focus_search(self) -> None:
        self.action_search()

    def search_typed(self, text: str) -> None:
        """Typing in the box narrows at once (list sources); the users pane debounces."""
        self.set_view(self.with_search(self.view, text), save=False)

    @on(Input.Changed)
    def _search_changed(self, event: Input.Changed) -> None:
        if event.input is not self.search_box:
            return
        event.stop()
        self.search_typed(event.value)

    @on(Input.Submitted)
    def _search_submitted(self, event: Input.Submitted) -> None:
        if event.input is not self.search_box:
            return
        event.stop()
        self.close_search()

    @on(SearchInput.Closed)
    def _search_closed(self, event: SearchInput.Closed) -> None:
        event.stop()
        self.close_search()

    def close_search(self) -> None:
        """Keep what was typed as the search, hide the box, back to the table."""
        box = self.search_box
        text = box.value
        if text != self.search_of(self.view):
            self.set_view(self.with_search(self.view, text))
        else:
            self._schedule_save()
        box.display = bool(text)  # a kept search stays visible above the table
        self.table.focus()

    # -- back ------------------------------------------------------------------------------
    def action_back(self) -> None:
        """Escape: close the search box, else clear the search, else the filters, else the
        row selection."""
        box = self.search_box
        if box.has_focus:
            self.close_search()
            return
        if self.search_of(self.view):
            with box.prevent(Input.Changed):
                box.value = ""
            box.display = False
            self.set_view(self.with_search(self.view, ""))  # the bar shows what is left
        elif self.is_filtered(self.view):
            self.set_view(self.without_filters(self.view))
        elif self.table.selected_keys:
            self.table.clear_selection()
        self.table.focus()

    # -- rows ------------------------------------------------------------------------------
    @on(VirtualTable.RowSelected)
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(VirtualTable.RowHighlighted)
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None and not self._rows_shown:
            self._rows_shown = True
            self.post_message(PaneRowsShown(self))
        self._show_detail(event.row_key)
        self.row_highlighted(event.row_key)

    def row_highlighted(self, key: RowKey | None) -> None:
        """The cursor moved (or the rows changed under it): save where it is."""
        if self._pending_select is None:
            self._schedule_save()

    def _show_detail(self, key: RowKey | None) -> None:
        if not self.is_mounted:
            return
        line = self.detail_line
        text = None if key is None else self.explain(key)
        line.update(text if text is not None else "")

    # -- failures --------------------------------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """One place for worker failures: a ``Problem`` in the problem box, never a crash."""
        if event.state is not WorkerState.ERROR:
            return
        event.stop()
        from console.errors import describe_error

        error = event.worker.error
        problem = (
            describe_error(error)
            if isinstance(error, BaseException)
            else Problem("Background task failed", "", "", "internal")
        )
        self.worker_failed(event.worker, problem)

    def worker_failed(self, worker: Worker[Any], problem: Problem) -> None:
        self.loading = False
        self.problem_box.show_problem(problem)
        self.set_title(None)

    @on(CacheMissed)
    def _cache_missed(self, event: CacheMissed) -> None:
        event.stop()
        self.fetch_first()  # now, or once the users load ends or the pane is opened

    def action_reload(self) -> None:
        """Fetch from GitLab."""

    # -- stale (offline) -------------------------------------------------------------------
    def went_offline(self) -> None:
        """The incident opened from the cache with GitLab unreachable: say the rows are stale.

        Panes that know when their rows were fetched override this and call :meth:`set_stale`
        with that time (from a worker's result).
        """
        self.set_stale(True)

    def set_stale(self, stale: bool, as_of: str | None = None) -> None:
        """Mark the pane's rows as not fresh from GitLab (``as_of``: when they were fetched).

        Shown on the pane's bottom border: ``STALE: data of 2024-06-01 12:00 UTC``.
        """
        self.stale, self.stale_as_of = stale, as_of
        self.restore_subtitle()

    def restore_subtitle(self) -> None:
        """The bottom border when no wait is counting down: the stale label, or nothing."""
        stale, as_of = self.stale, self.stale_as_of
        if not stale:
            self.border_subtitle = ""
            return
        when = minute_text(as_of)
        self.border_subtitle = Content(
            f"STALE: data of {when} UTC" if when else "STALE: GitLab unreachable, cached data"
        )

    # -- resume ----------------------------------------------------------------------------
    def restore_cursor(self, saved: Mapping[str, Any], field: str) -> None:
        value = saved.get(field)
        self._pending_select = value if isinstance(value, int | str) else None


def detail_text(label: str, value: str) -> Text:
    """``label: value`` for the detail line, the value sanitised to one line."""
    text = Text(f"{label}: ", style="bold", end="")
    text.append(clean(value, kind="line").text)
    return text
