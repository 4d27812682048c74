"""A small modal asking for an optional review note; escape skips it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.safe import safe_text
from styles import stylesheet

__all__ = ["NoteScreen"]

MAX_NOTE = 500


class NoteScreen(ModalScreen[str | None]):
    """Ask for a note about a review mark. Dismisses with the note, or None when skipped."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "skip", "Skip note"),
    ]
    """Escape skips the note (the mark itself is already saved)."""

    CSS_PATH = stylesheet("users.tcss")

    def __init__(self, mark: str, username: str | None, user_id: int, note: str | None = None):
        super().__init__(classes="note-dialog")
        self._mark = mark
        self._username = username
        self._user_id = user_id
        self._note = note or ""

    def compose(self) -> ComposeResult:
        title = Text(f"{'Cleared' if self._mark == 'cleared' else 'Flagged'}: #{self._user_id} ")
        if self._username:
            title.append("@")
            title.append_text(safe_text(self._username, kind="username", max_cells=40))
        with Vertical(id="note-box"):
            yield Static(title, id="note-title")
            yield Input(
                value=self._note,
                placeholder="Optional note (why) — enter saves, escape skips",
                max_length=MAX_NOTE,
                id="note-input",
            )
            yield Static(Text("enter: save note    escape: skip"), id="note-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        note = event.value.strip()
        self.dismiss(note or None)

    def action_skip(self) -> None:
        self.dismiss(None)
