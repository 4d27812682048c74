"""A one-key chooser: the audit pane's ``H`` (hunts) and ``P`` (pivots), the dossier's ``g``.

So every hunt and pivot is two keystrokes from the table, and the list says what each does and
why it matters. Labels are our own words or pass through ``safe_text`` (an IP or a name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.key_gate import Typeahead
from screens.safe import safe_text

__all__ = ["Choice", "ChoiceModal"]

Choice = tuple[str, str, str]
"""(key, title, why): the key picks it; ``why`` is shown dim under the title."""


class ChoiceModal(ModalScreen[str | None]):
    """Pick one of ``choices`` by its key; escape picks nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_modal", "Close without choosing"),
    ]

    def __init__(self, title: str, choices: Sequence[Choice]) -> None:
        super().__init__(classes="detail-modal")
        self._title = title
        self._choices = list(choices)

    def compose(self) -> ComposeResult:
        lines: list[Text] = []
        for key, title, why in self._choices:
            line = Text(f" {key} ", style="bold reverse")
            line.append(" ")
            line.append_text(safe_text(title))
            lines.append(line)
            if why:
                lines.append(Text("     ").append_text(safe_text(why, style="dim")))
        with VerticalScroll(id="detail-body") as body:
            body.border_title = Content(self._title)
            body.border_subtitle = "a key picks · escape closes"
            yield Static(Group(*lines), id="detail-content")

    def typeahead(self) -> Typeahead:
        """Keys sent with ``H``/``P`` in one burst pick here (``screens.key_gate``): every
        choice only changes what is shown, none acts on GitLab, so typeahead is safe."""
        return "accept"

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()

    def on_key(self, event: events.Key) -> None:
        keys = {key for key, _, _ in self._choices}
        pressed = event.character if event.character in keys else event.key
        if pressed in keys:
            event.stop()
            event.prevent_default()
            self.dismiss(pressed)

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)
