"""What the main screen does when it opens an incident: the saved view, the writer lock, and
actions a crash left unfinished.

A thread worker reads the incident's saved UI state, its review progress and who holds it for
writing (claiming it when this console may write), and whether journaled actions are waiting;
each answer comes back as a message. The saved view is restored pane by pane, typed keys wait
for it (``typeahead``, see ``screens.key_gate``), and the active pane is saved again (debounced)
whenever it changes. Mixed into :class:`screens.main.MainScreen`, which provides the pane
registry, ``ctx``, ``pane``, ``show_pane`` and the header; handlers are named ``on_…`` because
Textual collects ``@on`` decorators only on message pumps, not on mixins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.message import Message

from console.store.lock import claim_writer, other_writer
from console.store.resumable import resumable_count
from screens.header import ConsoleHeader
from screens.messages import InterruptedActionsFound, ReviewProgressLoaded, UiStateLoaded
from screens.panes.base import Pane, RecordPane
from screens.widgets.debounce import Debouncer

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen
    from textual.widget import Widget

    from console.context import AppContext

__all__ = ["ACTIVE_PANE_KEY", "RESTORE_WAIT", "ResumeMixin", "WriterElsewhereFound"]

ACTIVE_PANE_KEY = "active_pane"
RESTORE_WAIT = 3.0  # seconds: the longest typed keys wait for the saved view and first rows
SAVE_DELAY = 0.5  # seconds: coalesces quick 1-2-3 presses into one small write


@dataclass
class WriterElsewhereFound(Message):
    """Another console holds this incident for writing (this one only reads)."""

    holder: str


class ResumeMixin:
    """Saved view, writer lock and interrupted actions for :class:`screens.main.MainScreen`."""

    ctx: AppContext
    app: App[Any]
    _panes: dict[str, Widget]
    _factories: dict[str, Any]
    active_pane: str

    if TYPE_CHECKING:  # provided by MainScreen; never defined here (it would shadow them)

        def pane(self, key: str | None = None) -> Widget: ...
        def mounted_panes(self) -> dict[str, Widget]: ...
        async def ready_pane(self, key: str) -> Widget | None: ...
        def show_pane(self, key: str, *, save: bool = True, focus: bool = True) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saver = Debouncer(self._screen(), SAVE_DELAY, self._save_active_pane)
        self._restored = False
        self._waited = False
        self._saved_views: dict[str, Any] | None = None
        self._restored_panes: set[str] = set()

    def _screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def open_saved_state(self) -> None:
        """Read what the incident left (in a worker); typed keys wait at most ``RESTORE_WAIT``."""
        self._load_saved_state()
        # If the saved state cannot be read, typed keys must not wait for it forever.
        self._screen().set_timer(RESTORE_WAIT, self._stop_holding_keys)

    def typeahead(self) -> str:
        """Keys typed before the list appears wait (``screens.key_gate``), then all arrive.

        Ready means the saved view is restored and the active pane shows rows (a ``c`` typed
        at an empty, still loading list would mark nobody), or ``RESTORE_WAIT`` has passed.
        """
        if self._waited:
            return "accept"
        if not self._restored:
            return "hold"
        pane = self.pane()
        empty = isinstance(pane, RecordPane) and pane.table.row_count == 0
        return "hold" if empty else "accept"

    def _stop_holding_keys(self) -> None:
        self._waited = True

    @work(thread=True, group="ui-state", exit_on_error=False)
    def _load_saved_state(self) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        self._screen().post_message(UiStateLoaded(dict(store.load_ui_state(incident_id) or {})))
        progress = store.review_progress(incident_id)
        self._screen().post_message(
            ReviewProgressLoaded(progress.reviewed, progress.total, bool(progress.root_reviewed))
        )
        # A writable context holds the incident for writing, as a normal start does (claiming
        # again is a no-op), also when it comes from ``:reconnect`` after an offline resume.
        if self.ctx.read_only:
            holder = other_writer(store.path, incident_id)
        else:
            holder = claim_writer(store.path, incident_id)
        if holder is not None:
            self._screen().post_message(WriterElsewhereFound(holder.describe()))
        pending = resumable_count(store, incident_id)  # in flight + plan steps not started
        if pending:
            self._screen().post_message(InterruptedActionsFound(pending))

    def on_interrupted_actions_found(self, message: InterruptedActionsFound) -> None:
        """A crash left journaled actions unfinished: re-check them before anything else."""
        from screens.actions_menu import open_resume
        from screens.confirm import ConfirmScreen

        count = message.count
        body = (
            f"{count} action{'s' if count != 1 else ''} were journaled but not confirmed when "
            "the console stopped. Re-checking reads each target from GitLab first: what already "
            "happened is marked done without sending it again; only repeatable actions (block, "
            "unblock, revoke) are re-sent; rotations and password resets go to you."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                open_resume(self.app, self.ctx)
            else:
                self._screen().notify(
                    "Interrupted actions stay pending: a, then r re-checks them.",
                    markup=False,
                    severity="warning",
                )

        self.app.push_screen(
            ConfirmScreen("Interrupted actions found", body, yes="re-check now", no="later"),
            answered,
        )

    async def on_ui_state_loaded(self, message: UiStateLoaded) -> None:
        self._saved_views = message.state
        for key in self.mounted_panes():
            self.restore_pane(key)
        active = message.state.get(ACTIVE_PANE_KEY)
        known = isinstance(active, str) and active in self._factories
        key = active if known and isinstance(active, str) else self.active_pane
        await self.ready_pane(key)  # resuming on a pane not built yet: built now, then restored
        focused = self._screen().focused
        # Typed keys reach this screen only once it is restored (``typeahead``), unless
        # RESTORE_WAIT ran out first: only then can the focus be the responder's doing (not
        # Textual's first focus, e.g. on a kept search box the restore shows, or just hid).
        typing = (
            self._waited
            and focused is not None
            and focused.display
            and self.pane(key) in focused.ancestors
        )
        if key == self.active_pane and typing:
            # Already there and the responder has started typing (e.g. in the search box):
            # do not pull the focus back to the table under their fingers.
            self.show_pane(key, save=False, focus=False)
        else:
            self.show_pane(key, save=False)
        self._restored = True

    def restore_pane(self, key: str) -> None:
        """Give the mounted pane ``key`` its saved view, once (a pane built after the saved state
        was read is restored when it has mounted)."""
        if self._saved_views is None or key in self._restored_panes:
            return
        self._restored_panes.add(key)
        pane, saved = self._panes.get(key), self._saved_views.get(key)
        if isinstance(pane, Pane) and isinstance(saved, dict):
            pane.restore(saved)

    def _schedule_save(self) -> None:
        self._saver.call()

    def _save_active_pane(self) -> None:
        self._write_ui_state(ACTIVE_PANE_KEY, self.active_pane)

    @work(thread=True, group="ui-state", exit_on_error=False)
    def _write_ui_state(self, key: str, value: Any) -> None:
        self.ctx.store.save_ui_state(self.ctx.incident_id, key, value)

    # -- header updates ------------------------------------------------------------------
    def on_review_progress_loaded(self, message: ReviewProgressLoaded) -> None:
        header = self._screen().query_one(ConsoleHeader)
        if header.state.review is None:  # the pane's own report is newer than the store's
            header.update(review=(message.reviewed, message.total, message.root_reviewed))

    def on_writer_elsewhere_found(self, message: WriterElsewhereFound) -> None:
        self._screen().query_one(ConsoleHeader).update(lock_holder=message.holder)
