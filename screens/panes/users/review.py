"""Review marks in the users pane: mark and move on, notes on their own key, next/previous.

``c``/``f`` save the mark at once (worker) and put the cursor on the next unreviewed user, so
``c c c f c`` reviews five users in five keystrokes; ``C``/``F`` mark and then open the note
box.  With a selection (space), every key acts on all selected users and asks no note.
The dossier drives the same methods through its ``Reviewer`` protocol.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.signal import Signal

from console.context import AppContext
from screens.panes.base import RecordPane
from screens.panes.users import jobs
from screens.panes.users.messages import BulkMarked, MarkSaved, ReviewProgressChanged
from screens.panes.users.view import UsersView
from screens.widgets.virtual_table import RowKey

__all__ = ["ReviewMixin"]

_DONE: dict[str | None, str] = {"cleared": "marked cleared", "flagged": "flagged"}


class ReviewMixin(RecordPane[UsersView]):
    """The review half of the users pane (the pane supplies the table, marks and status)."""

    STATE_KEY: ClassVar[str]
    ctx: AppContext
    mark_saved: Signal[int]
    _marks: dict[int, str]

    def _set_status(self, text: str, *, error: bool = False) -> None:
        raise NotImplementedError

    def _requery(self, *, with_marks: bool = False, to_top: bool = False) -> None:
        raise NotImplementedError

    @property
    def current_user_id(self) -> int | None:
        raise NotImplementedError

    # ------------------------------------------------------------------ keys

    def action_mark(self, mark: str) -> None:
        """Mark the selected users (space), else the highlighted one and move to the next."""
        selected = [k for k in self.table.selected_keys if isinstance(k, int)]
        if selected:
            self._bulk_mark_worker(selected, mark)
            return
        user_id = self.current_user_id
        if user_id is None:
            return
        self.mark_user(user_id, mark, ask_note=False)
        target = self.next_unreviewed_after(user_id)
        if target is not None:
            self.table.move_to_key(target)
        else:
            self._set_status("Every user in this view has a review mark.")

    def action_mark_with_note(self, mark: str) -> None:
        """Mark the highlighted user, then write a note about it (the cursor stays)."""
        user_id = self.current_user_id
        if user_id is not None:
            self.mark_user(user_id, mark, ask_note=True)

    def action_unmark(self) -> None:
        selected = [k for k in self.table.selected_keys if isinstance(k, int)]
        if selected:
            self._bulk_mark_worker(selected, None)
            return
        user_id = self.current_user_id
        if user_id is not None:
            self.mark_user(user_id, None, ask_note=False)

    def action_select_all(self) -> None:
        """Select every user in the current view (filters and search apply); again: none."""
        table = self.table
        if table.row_count and len(table.selected_keys) == table.row_count:
            table.clear_selection()
        else:
            table.select_keys(table.keys)

    def action_next(self) -> None:
        """``n``: the next match while a search is on, else the next unreviewed user."""
        self._step(+1)

    def action_previous(self) -> None:
        """``N``: the previous match while a search is on, else the previous unreviewed user."""
        self._step(-1)

    def _step(self, direction: int) -> None:
        table = self.table
        if self.view.search.strip():
            # Every row is a match (the search filters the table): step one, wrapping.
            if table.row_count:
                table.move_cursor((table.cursor_row + direction) % table.row_count)
            return
        target = self._unreviewed_from(self.current_user_id, direction)
        if target is None:
            self._set_status("Every user in this view has a review mark.")
            return
        table.move_to_key(target)

    # ------------------------------------------------------------------ Reviewer protocol

    def next_unreviewed_after(self, user_id: int | None) -> int | None:
        """The next user in table order, after ``user_id``, with no review mark (wraps)."""
        return self._unreviewed_from(user_id, +1)

    def _unreviewed_from(self, user_id: int | None, direction: int) -> int | None:
        keys = self.table.keys
        n = len(keys)
        if not n:
            return None
        start = 0 if direction > 0 else n - 1
        if user_id is not None:
            try:
                start = list(keys).index(user_id) + direction
            except ValueError:
                start = self.table.cursor_row + direction
        for offset in range(n):
            key: RowKey = keys[(start + direction * offset) % n]
            if key not in self._marks and isinstance(key, int):
                return key
        return None

    def move_to_user(self, user_id: int) -> None:
        """Put the cursor on ``user_id`` if it is in the current view (the dossier's ``n``)."""
        self.table.move_to_key(user_id)

    def mark_user(self, user_id: int, mark: str | None, *, ask_note: bool = False) -> None:
        """Save ``mark`` for ``user_id`` now (worker); ``ask_note`` opens the note box after."""
        self._marks_local_set(user_id, mark)
        self.table.invalidate([user_id])
        self._mark_worker(user_id, mark, None, ask_note=ask_note and mark is not None)

    def _marks_local_set(self, user_id: int, mark: str | None) -> None:
        if mark is None:
            self._marks.pop(user_id, None)
        else:
            self._marks[user_id] = mark

    # ------------------------------------------------------------------ workers

    @work(thread=True, group="users-marks", exit_on_error=False)
    def _bulk_mark_worker(self, user_ids: list[int], mark: str | None) -> None:
        problem: str | None = None
        progress = None
        try:
            progress = jobs.save_marks(self.ctx, user_ids, mark)
        except Exception as exc:
            from console.errors import describe_error

            problem = jobs.problem_line(describe_error(exc))
        self.post_message(BulkMarked(user_ids, mark, progress, problem))

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
            self.post_message(ReviewProgressChanged.of(message.progress))
        if {"unreviewed", "flagged"} & self.view.filters:
            self._requery()
        n = len(message.user_ids)
        what = _DONE.get(message.mark, "unmarked")
        self._set_status(f"{n:,} selected user{'s' if n != 1 else ''} {what}.")

    @work(thread=True, group="users-marks", exit_on_error=False)
    def _mark_worker(
        self, user_id: int, mark: str | None, note: str | None, *, ask_note: bool
    ) -> None:
        problem: str | None = None
        progress = None
        try:
            note, progress = jobs.save_mark(self.ctx, user_id, mark, note)
        except Exception as exc:
            from console.errors import describe_error

            problem = jobs.problem_line(describe_error(exc))
        self.post_message(MarkSaved(user_id, mark, note, progress, problem, ask_note))

    def on_users_pane_mark_saved(self, message: MarkSaved) -> None:
        message.stop()
        if message.problem:
            self._set_status(f"Mark not saved: {message.problem}", error=True)
            return
        self._marks_local_set(message.user_id, message.mark)
        self.table.invalidate([message.user_id])
        self.mark_saved.publish(message.user_id)  # a dossier on top shows the mark and note
        if message.progress is not None:
            self.post_message(ReviewProgressChanged.of(message.progress))
        if {"unreviewed", "flagged"} & self.view.filters:
            self._requery()
        if message.ask_note and message.mark is not None:
            self._ask_note(message.user_id, message.mark, message.note)

    def _ask_note(self, user_id: int, mark: str, note: str | None) -> None:
        from screens.note import NoteScreen  # loaded when first asked for

        row = self.ctx.store.get_user(self.ctx.incident_id, user_id)

        def save_note(text: str | None) -> None:
            if text:
                self._mark_worker(user_id, mark, text, ask_note=False)

        self.app.push_screen(
            NoteScreen(mark, row.username if row else None, user_id, note), save_note
        )

    # ------------------------------------------------------------------ dossier

    def action_open(self) -> None:
        """Open the highlighted user's dossier."""
        from screens.dossier import DossierScreen

        user_id = self.current_user_id
        if user_id is not None:
            self.app.push_screen(DossierScreen(self.ctx, user_id, reviewer=self))
