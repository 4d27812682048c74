"""A plan's typed confirmation on its own (undo from the journal, follow-ups): the plan's lines,
then :func:`actions.confirm.confirmation_for`'s word. Dismisses True only on the exact word; a
wrong word is refused, said, and journaled as an attempt that sent nothing."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from actions import Plan
from actions.attempts import journal_not_sent
from actions.confirm import confirmation_for
from actions.plan import target_line
from screens.safe import safe_text
from screens.widgets.confirm_input import ConfirmInput
from styles import stylesheet

__all__ = ["TypedConfirmScreen"]


class TypedConfirmScreen(ModalScreen[bool]):
    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: Any, plan: Plan, title: str, note: str = "") -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.plan = plan
        self.title_text = title
        self.note = note

    def compose(self) -> ComposeResult:
        confirm = confirmation_for(self.plan)
        with Vertical(id="typed-box", classes="dialog"):
            yield Static(safe_text(self.title_text, kind="line"), classes="dialog-title")
            yield Static(safe_text(self.plan.summary, kind="line"))
            for t in self.plan.targets[:20]:
                yield Static(safe_text(target_line(t), kind="line"))
            if self.note:
                yield Static(safe_text(self.note, kind="line"), classes="dialog-hint")
            yield Static(
                safe_text(
                    f"Type {confirm.word} and press enter ({confirm.why}); escape: cancel",
                    kind="line",
                ),
                classes="dialog-hint",
            )
            yield ConfirmInput(placeholder=confirm.word, id="typed-confirm")
            yield Static("", id="typed-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#typed-confirm", Input).focus()

    @on(Input.Submitted, "#typed-confirm")
    def _submitted(self, event: Input.Submitted) -> None:
        confirm = confirmation_for(self.plan)
        if confirm.accepts(event.value):
            self.dismiss(True)
            return
        typed = event.value.strip()
        event.input.value = ""
        self.query_one("#typed-error", Static).update(
            Text(f"Type exactly {confirm.word} to run it.", style="red")
        )
        if typed:
            self._journal(confirm.refusal(typed))

    @work(thread=True, group="typed-refusal", exit_on_error=False)
    def _journal(self, message: str) -> None:
        journal_not_sent(self.ctx.store, self.ctx.incident_id, self.plan, "confirmation", message)

    def action_cancel(self) -> None:
        self.dismiss(False)
