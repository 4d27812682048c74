"""The users pane's querying: the table holds only the ordered id list the store returns.

Search, filters and sort are SQL in the store, run in an exclusive thread worker so typing never
waits; each answer (``UsersQueried``) carries a generation so a stale one is dropped. The first
answer decides whether the pane loads from GitLab or shows the local cache; while pages stream
in, a cursor nobody moved stays on the first row.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.worker import get_current_worker

from screens.panes.base import RecordPane
from screens.panes.users import jobs, messages
from screens.panes.users.view import UsersView
from screens.widgets.virtual_table import RowKey, VirtualTable

__all__ = ["QueryingMixin"]


class QueryingMixin(RecordPane[UsersView]):
    """The querying part of the users pane (the pane supplies the counts, title and status)."""

    autoload: bool
    timings: dict[str, float]
    _generation: int
    _total: int
    _shown: int
    _marks: dict[int, str]
    _loading: bool
    _load_started: float
    _load_finishing: bool
    _pending_scroll: int | None
    _first_query_done: bool
    _to_top: bool

    if TYPE_CHECKING:  # provided by the pane and the loading mixin; never defined here

        def _load_shown(self) -> None: ...
        def _update_title(self) -> None: ...
        def _post_progress_soon(self) -> None: ...
        def _set_status(self, text: str, *, error: bool = False) -> None: ...

    def _requery(self, *, with_marks: bool = False, to_top: bool = False) -> None:
        self._generation += 1
        self._to_top = to_top or self._to_top
        self._query_worker(self.view, self._generation, with_marks)

    @work(thread=True, exclusive=True, group="users-query", exit_on_error=False)
    def _query_worker(self, view: UsersView, generation: int, with_marks: bool) -> None:
        worker = get_current_worker()
        started = time.perf_counter()
        ids, total, marks = jobs.query(self.ctx, view, with_marks=with_marks)
        if not worker.is_cancelled:
            self.post_message(
                messages.UsersQueried(ids, total, generation, marks, time.perf_counter() - started)
            )

    def on_users_pane_users_queried(self, message: messages.UsersQueried) -> None:
        message.stop()
        if message.marks is not None:
            self._marks = message.marks
        if message.generation != self._generation:
            return
        self._total = message.total
        self._shown = len(message.ids)
        self.timings["query"] = message.seconds
        self._show_ids(message.ids)
        if self._load_finishing:
            self._load_shown()
        if self._loading and message.ids and "first_rows" not in self.timings:
            self.timings["first_rows"] = time.perf_counter() - self._load_started
        table = self.table
        table.empty_text = (
            "Loading users…"
            if self._loading
            else "No match: escape clears the search, then the filters"
            if self.view.is_narrowed
            else "No users cached — r loads them"
        )
        self.render_bar()
        self._update_title()
        self._show_detail(table.cursor_key)
        if not self._first_query_done:
            self._first_query_done = True
            self._post_progress_soon()
            if self.autoload and self._total == 0 and not self._loading:
                self.action_reload()
            elif not self._loading:
                self.post_message(messages.UsersCacheShown(self._total))
                if self._total:
                    self._set_status(f"{self._total:,} users from the local cache; r reloads them")

    def _show_ids(self, ids: list[int]) -> None:
        table = self.table
        pending = self._pending_select
        if pending is not None and pending in set(ids):
            table.set_rows(ids, cursor_key=pending, scroll_y=self._pending_scroll)
            self._pending_select = self._pending_scroll = None
        elif self._to_top:
            table.set_rows(ids, cursor_key=ids[0] if ids else None)
            table.move_cursor(0)
            self._to_top = False
        elif (
            (self._loading or self._load_finishing)
            and table.cursor_row == 0
            and int(table.scroll_y) == 0
        ):
            # Pages stream in from several id ranges at once: a cursor nobody moved stays on
            # the first row (root, in id order) instead of riding down with the first page.
            table.set_rows(ids, cursor_key=ids[0] if ids else None)
        else:
            table.set_rows(ids)  # streaming or a mark: the cursor keeps its user

    def row_highlighted(self, key: RowKey | None) -> None:
        if self._first_query_done and self._pending_select is None:
            self._schedule_save()

    @on(VirtualTable.SelectionChanged)
    def _selection_changed(self, event: VirtualTable.SelectionChanged) -> None:
        event.stop()
        self.render_bar()
