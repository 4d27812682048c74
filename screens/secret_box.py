"""One-time values (a reset password, a rotated token, a runner's new token) in a box of their
own: shown once, dismissed with escape or enter, and gone from the screen and from memory after.

The values stay :class:`~console.secret.Secret` until the box renders them; dismissing clears
the widget and drops the list, so a screen capture taken afterwards cannot contain them.
Server-sent values are passed through ``console.sanitize`` (never parsed as markup).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.sanitize import safe
from console.secret import Secret
from styles import stylesheet

__all__ = ["OneTimeSecrets"]


class OneTimeSecrets(ModalScreen[None]):
    """``values``: (what it is, already-sanitised label, the value)."""

    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [
        Binding("escape", "done", "Dismiss (the values are forgotten)"),
        Binding("enter", "done", "Dismiss", show=False),
    ]

    def __init__(self, values: Sequence[tuple[str, str, Secret]]) -> None:
        super().__init__(classes="actions-modal")
        self._values: list[tuple[str, str, Secret]] = list(values)

    def compose(self) -> ComposeResult:
        with Vertical(id="secret-box", classes="dialog"):
            yield Static(
                Text("Shown ONCE: hand these over now", style="bold yellow"), classes="dialog-title"
            )
            yield Static(self._render_values(), id="secret-values")
            yield Static(
                Text(
                    "They are not saved, journaled or logged anywhere. escape: "
                    "dismiss and forget them"
                ),
                classes="dialog-hint",
            )

    def _render_values(self) -> Text:
        out = Text()
        for i, (what, label, secret) in enumerate(self._values):
            if i:
                out.append("\n")
            out.append(f"{what} for {label}: ")
            out.append(safe(secret.reveal(), kind="line"), style="bold reverse")
        return out

    def action_done(self) -> None:
        self.query_one("#secret-values", Static).update("")
        self._values.clear()
        self.dismiss(None)
