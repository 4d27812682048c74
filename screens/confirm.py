"""A yes/no modal that returns ``bool``; optionally the responder must type a phrase to confirm.

Escape alone is never the only way out (tmux delays a lone Esc by up to 500 ms), so ``n`` also
cancels. For destructive or bulk work pass ``typed=`` (e.g. the number of users) so a stray
``y`` cannot confirm it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.widgets.confirm_input import ConfirmInput

__all__ = ["ConfirmScreen"]


class ConfirmScreen(ModalScreen[bool]):
    """Ask one question; dismiss with ``True`` only on an explicit yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(
        self,
        title: str,
        body: str | Text = "",
        *,
        typed: str | None = None,
        yes: str = "yes",
        no: str = "no",
    ) -> None:
        """Build the question.

        Args:
            title: One line, our own wording (never server text).
            body: More detail; a ``str`` is shown literally, never parsed as markup.
            typed: When given, the responder must type exactly this text and press enter.
            yes: What confirming does, e.g. "quit" (shown in the key hint).
            no: What cancelling does.
        """
        super().__init__(classes="startup-dialog")
        self._title = title
        self._body = body
        self._typed = typed
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(Text(self._title, style="bold"), classes="dialog-title")
            if self._body:
                body = self._body if isinstance(self._body, Text) else Text(self._body)
                yield Static(body, classes="dialog-body")
            if self._typed is not None:
                hint = (
                    f"Type {self._typed} and press enter to {self._yes}; "
                    f"enter on an empty line or escape to {self._no}."
                )
                yield Static(Text(hint), classes="dialog-hint")
                yield ConfirmInput(placeholder=self._typed, id="confirm-typed")
                yield Static("", id="confirm-error", classes="dialog-error")
            else:
                hint = f"y: {self._yes}    n / escape: {self._no}"
                yield Static(Text(hint), classes="dialog-hint")

    def on_mount(self) -> None:
        if self._typed is not None:
            self.query_one("#confirm-typed", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # With a typed phrase, a bare "y" must not confirm (the Input takes letters anyway).
        if action == "answer" and self._typed is not None and parameters == (True,):
            return False
        return True

    def action_answer(self, yes: bool) -> None:
        self.dismiss(bool(yes))

    @on(Input.Submitted, "#confirm-typed")
    def _typed_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.dismiss(False)
            return
        if event.value.strip() == self._typed:
            self.dismiss(True)
            return
        error = self.query_one("#confirm-error", Static)
        error.update(Text(f"That is not {self._typed}; nothing was done."))
