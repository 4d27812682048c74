"""A leaked token, identified (``:leaked``): paste it masked, see whose it is, kill it.

The value goes from the masked input into a :class:`~console.secret.Secret` and the input is
emptied at once; it reaches only the one request that asks GitLab about it
(:func:`actions.leaked_token.identify_token`) and is never stored, journaled or logged. The
answer shows owner, kind, scopes, created, last used and from where ("unknown" where GitLab
did not say, and one plain sentence when it cannot identify the token at all), with revoke or
rotate (delete for a runner) one step away: choose, type the confirmation, run.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from actions import Plan, own_token_id
from actions.attempts import journal_not_sent
from actions.confirm import confirmation_for
from actions.leaked_token import TokenIdentity, identify_token
from actions.plan import build_plan
from console.sanitize import safe
from console.secret import Secret
from screens.safe import safe_text
from styles import stylesheet

__all__ = ["LeakedTokenScreen", "open_leaked_token"]


class LeakedTokenScreen(ModalScreen[None]):
    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, ctx: Any) -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.identity: TokenIdentity | None = None
        self.plan: Plan | None = None
        self._plans: list[Plan] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="leaked-box", classes="dialog"):
            yield Static(Text("Identify a leaked token", style="bold"), classes="dialog-title")
            yield Static(
                Text(
                    "Paste the token found in a log, a chat or a scanner's report. "
                    "It is masked, sent only to ask GitLab what it is, and never "
                    "stored, journaled or logged."
                ),
                classes="dialog-hint",
            )
            yield Input(password=True, placeholder="the token (masked)", id="leaked-value")
            yield Checkbox(
                "If GitLab has no token-information endpoint, ask it as the token "
                "(updates the token's last-used time and IP)",
                id="leaked-self",
            )
            yield Static("", id="leaked-facts")
            yield OptionList(id="leaked-actions")
            yield Static("", id="leaked-hint", classes="dialog-hint")
            yield Input(placeholder="confirmation", id="leaked-confirm")
            yield Static("", id="leaked-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#leaked-actions", OptionList).display = False
        self.query_one("#leaked-confirm", Input).display = False
        self.query_one("#leaked-value", Input).focus()

    @on(Input.Submitted, "#leaked-value")
    def _pasted(self, event: Input.Submitted) -> None:
        event.stop()
        raw = event.value
        event.input.value = ""  # the box never keeps it
        if not raw.strip():
            return
        secret = Secret(raw.strip())
        del raw
        self.query_one("#leaked-facts", Static).update(Text("Asking GitLab…"))
        self._identify(secret, self.query_one("#leaked-self", Checkbox).value)

    @work(thread=True, exclusive=True, group="leaked", exit_on_error=False)
    def _identify(self, secret: Secret, self_lookup: bool) -> None:
        try:
            gl = self.ctx.gitlab()
            found = identify_token(gl, secret, self_lookup=self_lookup)
            own = own_token_id(gl)
        except Exception as exc:  # the value is never in the message: only its type
            self.app.call_from_thread(self._error, f"Could not ask GitLab ({type(exc).__name__})")
            return
        plans = [build_plan(a, [t], own_token_id=own) for a, t in found.actions()]
        self.app.call_from_thread(self._identified, found, [p for p in plans if p.targets])

    def _identified(self, found: TokenIdentity, plans: list[Plan]) -> None:
        self.identity = found
        self._plans = plans
        text = Text(
            safe(found.message, kind="line", max_cells=200),
            style="bold" if found.found else "bold yellow",
        )
        for label, value in found.facts() if found.found else ():
            text.append(f"\n{label:>10}: ", style="dim")
            text.append_text(safe_text(value, kind="line", max_cells=70))
        self.query_one("#leaked-facts", Static).update(text)
        actions = self.query_one("#leaked-actions", OptionList)
        actions.clear_options()
        actions.add_options([Option(p.action.title, id=str(i)) for i, p in enumerate(plans)])
        actions.display = bool(plans)
        if found.found and not plans and found.actions():
            self.query_one("#leaked-hint", Static).update(
                Text(
                    "This is the token this console is using: rotate it from the Credentials "
                    "pane's actions (last, on its own confirmation)."
                )
            )
        if plans:
            actions.highlighted = 0
            actions.focus()
            self.query_one("#leaked-hint", Static).update(Text("enter: choose"))

    @on(OptionList.OptionSelected, "#leaked-actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.plan = self._plans[int(event.option.id or 0)]
        confirm = confirmation_for(self.plan)
        self.query_one("#leaked-hint", Static).update(
            safe_text(
                f"{self.plan.summary} Type {confirm.word} and press enter to run.", kind="line"
            )
        )
        box = self.query_one("#leaked-confirm", Input)
        box.display = True
        box.value = ""
        box.focus()

    @on(Input.Submitted, "#leaked-confirm")
    def _confirm(self, event: Input.Submitted) -> None:
        if self.plan is None:
            return
        confirm = confirmation_for(self.plan)
        if not confirm.accepts(event.value):
            typed = event.value.strip()
            event.input.value = ""
            self._error(f"Type exactly {confirm.word} to run it.")
            if typed:
                self._journal_refusal(self.plan, confirm.refusal(typed))
            return
        from screens.action_run import ActionRunScreen

        self.app.switch_screen(ActionRunScreen(self.ctx, self.plan))

    @work(thread=True, group="leaked-refusal", exit_on_error=False)
    def _journal_refusal(self, plan: Plan, message: str) -> None:
        journal_not_sent(self.ctx.store, self.ctx.incident_id, plan, "confirmation", message)

    def _error(self, message: str) -> None:
        self.query_one("#leaked-error", Static).update(Text(message, style="red"))

    def action_close(self) -> None:
        self.dismiss(None)


def open_leaked_token(app: Any, ctx: Any) -> None:
    """``:leaked`` and ``L`` in the Credentials pane: identify a pasted token."""
    app.push_screen(LeakedTokenScreen(ctx))
