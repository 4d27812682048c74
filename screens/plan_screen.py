"""The plan of a response action: exactly what will be done to whom, and its confirmation.

Every target (id, escaped name, flags) and what is excluded and why; the confirmation is
:func:`actions.confirm.confirmation_for`'s word (``y``, the count above 10 targets, the username
for a destructive action on root or an administrator), and a wrong word is refused and
journaled. Token selections become one plan per kind and owner (each through its own endpoint,
:func:`actions.plan.token_plans`); the console's own token is rotated last, only on its own
typed confirmation. Confirming replaces this screen with the run screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Input, Static

from actions import Plan, Target, actor_id_of, own_token_id
from actions.attempts import journal_not_sent
from actions.confirm import Confirmation, confirmation_for, own_token_confirmation
from actions.own_token import own_token_plan, split_own_token
from actions.plan import (
    ActionSpec,
    build_plan,
    spec_by_name,
    summarize,
    token_plans,
    token_targets,
    user_targets,
)
from console.context import AppContext
from screens.action_status import actor_id
from screens.safe import safe_text
from screens.widgets.confirm_input import ConfirmInput
from styles import stylesheet

__all__ = ["PLAN_LINES", "PlanScreen", "follow_up_screens"]

CSS_PATH = stylesheet("actions.tcss")
#: Targets (and exclusions) listed one per line in the plan; the summary counts them all.
PLAN_LINES = 200
#: token actions whose plans go through each token kind's own endpoint (token_plans)
_TOKEN_OPS = {"revoke_token": "revoke", "rotate_token": "rotate"}


def follow_up_screens(ctx: AppContext) -> Callable[[str, Target], Screen[Any]]:
    """The run screen's ``v``: the plan for a needs-attention step's follow-up (e.g. revoke
    the new token whose value was lost), confirmed like any other plan."""

    def build(action: str, target: Target) -> Screen[Any]:
        spec = spec_by_name(action)
        if target.kind == "token":
            token = {"id": target.id, "name": target.label, "user_id": target.info.get("user_id")}
            return PlanScreen(ctx, spec, [], tokens=[token])
        return PlanScreen(ctx, spec, [target.id])

    return build


class PlanScreen(ModalScreen[None]):
    """Show exactly what will be done to whom; confirm by typing the count (or ``y``)."""

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        ctx: AppContext,
        spec: ActionSpec,
        user_ids: Sequence[int],
        *,
        dry_run: bool = False,
        tokens: list[dict[str, Any]] | None = None,
        back: Callable[[], Screen[Any]] | None = None,
    ) -> None:
        super().__init__(classes="actions-modal")
        self._back = back
        self.ctx = ctx
        self.spec = spec
        self.user_ids = list(user_ids)
        self.tokens = tokens
        self.dry_run = dry_run
        self.actor_id = actor_id(ctx)
        self.own_token: int | None = None
        self._identity_pending = not (tokens is None and self.actor_id is not None)
        #: token selections: one plan per kind and owner (each through its own endpoint)
        self.plans: list[Plan] = []
        #: the console's own token among the selection: rotated last, on its own confirmation
        self.own_plan: Plan | None = None
        self.plan: Plan = self._build()

    def _build(self) -> Plan:
        if self.tokens is not None and self.spec.name in _TOKEN_OPS:
            plans = token_plans(
                _TOKEN_OPS[self.spec.name], self.tokens, own_token_id=self.own_token
            )
            self.plans, self.own_plan = split_own_token(plans, self.own_token)
            excluded = tuple(
                (t, why)
                for p in plans
                for t, why in p.excluded
                if self.own_plan is None or t.id != self.own_token
            )
            combined = Plan(
                self.plans[0].action if self.plans else plans[0].action,
                tuple(t for p in self.plans for t in p.targets),
                excluded,
            )
            return Plan(
                combined.action,
                combined.targets,
                combined.excluded,
                summarize(combined)
                + (
                    f" In {len(self.plans)} plans, one per token kind and owner."
                    if len(self.plans) > 1
                    else ""
                ),
            )
        if self.tokens is not None:
            targets = token_targets(self.tokens)
        else:
            targets = user_targets(self.ctx.store, self.ctx.incident_id, self.user_ids)
        plan = build_plan(
            self.spec.build({"text": "placeholder"}),
            targets,
            actor_id=self.actor_id,
            own_token_id=self.own_token,
        )
        self.plans = [plan]
        return plan

    @property
    def confirmation(self) -> Confirmation:
        """What must be typed (actions.confirm): ``y``, the count, or the username."""
        return confirmation_for(self.plan)

    @property
    def word(self) -> str:
        return self.confirmation.word

    def compose(self) -> ComposeResult:
        plan = self.plan
        title = f"{self.spec.title} — plan" + (" (dry run)" if self.dry_run else "")
        with Vertical(id="plan-box", classes="dialog"):
            yield Static(Text(title, style="bold"), classes="dialog-title")
            yield Static(Text(plan.summary), id="plan-summary")
            with VerticalScroll(id="plan-targets"):
                # One widget per line: thousands (select all, then a) froze the UI for seconds.
                for t in plan.targets[:PLAN_LINES]:
                    yield Static(self._target_text(t.id, t.label, t.flags), classes="plan-target")
                if len(plan.targets) > PLAN_LINES:
                    yield Static(
                        Text(
                            f"… and {len(plan.targets) - PLAN_LINES:,} more (all are in the plan)",
                            style="dim",
                        ),
                        classes="plan-more",
                    )
                for t, reason in plan.excluded[:PLAN_LINES]:
                    line = self._target_text(t.id, t.label, t.flags)
                    line.append(f"  excluded: {reason}", style="yellow")
                    yield Static(line, classes="plan-excluded")
                if len(plan.excluded) > PLAN_LINES:
                    yield Static(
                        Text(
                            f"… and {len(plan.excluded) - PLAN_LINES:,} more excluded", style="dim"
                        ),
                        classes="plan-more",
                    )
            if self.spec.needs_text:
                yield Input(placeholder="note text (one line)", id="plan-text")
            if self.spec.name == "unblock_user":
                yield Checkbox(
                    "Unblock even if tokens or SSH keys are still active", id="plan-confirm-creds"
                )
            if plan.targets:
                if self.dry_run:
                    hint = "Dry run: press enter to check each target (nothing is changed)."
                else:
                    confirm = self.confirmation
                    hint = (
                        f"Type {confirm.word} and press enter to run ({confirm.why}); "
                        "escape to cancel."
                    )
                yield Static(safe_text(hint, kind="line"), classes="dialog-hint", id="plan-hint")
                yield ConfirmInput(placeholder="" if self.dry_run else self.word, id="plan-confirm")
            if self.own_plan is not None and not self.dry_run:
                own = own_token_confirmation()
                yield Static(
                    Text(
                        f"The console's own token is selected: it is rotated last, "
                        f"never revoked (the console reconnects with the new value, "
                        f"never shown). Type {own.word} here to include it; leave "
                        "empty to leave it out."
                    ),
                    classes="dialog-hint",
                )
                yield ConfirmInput(placeholder=own.word, id="plan-confirm-own")
            elif not plan.targets:  # (it said so under every plan without the own token)
                yield Static(
                    Text("Nothing to do: every selected user is excluded."), classes="dialog-hint"
                )
            yield Static("", id="plan-error", classes="dialog-error")

    def on_mount(self) -> None:
        self._focus_first()
        if self._identity_pending:
            self._learn_identity()

    def _focus_first(self) -> None:
        first = "#plan-text" if self.spec.needs_text else "#plan-confirm"
        found = self.query(first)
        if found:
            found.first().focus()

    @work(thread=True, exclusive=True, group="plan-actor", exit_on_error=False)
    def _learn_identity(self) -> None:
        """Ask GitLab who we are (and which token we use), so the plan can exclude us."""
        actor, token = self.actor_id, None
        try:
            gl = self.ctx.gitlab()
            actor = actor if actor is not None else actor_id_of(gl)
            token = own_token_id(gl) if self.tokens is not None else None
        except Exception:  # noqa: S110 - the run reports connection problems; the engine re-checks
            pass
        self.app.call_from_thread(self._set_identity, actor, token)

    def _set_identity(self, actor: int | None, token: int | None) -> None:
        self._identity_pending = False
        self.actor_id = actor
        self.own_token = token
        plan = self._build()
        if [t.id for t in plan.targets] != [t.id for t in self.plan.targets]:
            self.plan = plan
            self.call_next(self._redraw)

    async def _redraw(self) -> None:
        await self.recompose()
        self._focus_first()

    @staticmethod
    def _target_text(uid: int, label: str, flags: frozenset[str]) -> Text:
        line = Text(f"#{uid} ")
        line.append_text(safe_text(label, kind="username", max_cells=40))
        if flags:
            line.append(f"  [{', '.join(sorted(flags))}]", style="dim")
        return line

    def _error(self, message: str) -> None:
        self.query_one("#plan-error", Static).update(Text(message, style="red"))

    @on(Input.Submitted, "#plan-text")
    def _text_done(self, event: Input.Submitted) -> None:
        found = self.query("#plan-confirm")
        if found:
            found.first().focus()

    @on(Input.Submitted, "#plan-confirm-own")
    def _own_confirmed(self, event: Input.Submitted) -> None:
        """With other targets, enter on the main confirmation runs everything; alone, the
        console's own token runs on its own word."""
        found = self.query("#plan-confirm")
        if found:
            found.first().focus()
            return
        own = self._own_token_choice()
        if own:
            from screens.action_run import ActionRunScreen

            self.app.switch_screen(
                ActionRunScreen(self.ctx, own[0], follow_up=follow_up_screens(self.ctx))
            )

    @on(Input.Submitted, "#plan-confirm")
    def _confirm(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if self._identity_pending:
            self._error(
                "Still checking which account and token this console uses; "
                "press enter again in a moment."
            )
            return
        confirm = self.confirmation
        if not self.dry_run and not confirm.accepts(event.value):
            shown = safe_text(typed or "nothing", kind="line", max_cells=40).plain
            self._error(f"Type exactly {confirm.word} to run it (you typed {shown}).")
            event.input.value = ""
            if typed:  # a wrong word is an attempt: journaled as refused, nothing sent
                self._journal_refusal(confirm.refusal(typed))
            return
        params: dict[str, Any] = {}
        if self.spec.needs_text:
            text = self.query_one("#plan-text", Input).value.strip()
            if not text:
                self._error("Enter the note text first.")
                self.query_one("#plan-text", Input).focus()
                return
            params["text"] = text
        if self.spec.name == "unblock_user":
            params["confirm_credentials"] = self.query_one("#plan-confirm-creds", Checkbox).value
        try:
            action = self.spec.build(params)
        except ValueError as exc:
            self._error(str(exc))
            return
        if self.tokens is not None and self.spec.name in _TOKEN_OPS:
            plans = list(self.plans)  # each kind's own action, built by token_plans
        else:
            plans = [Plan(action, self.plan.targets, self.plan.excluded, self.plan.summary)]
        own = self._own_token_choice()
        if own is None:
            return
        plans += own
        if not plans:
            self._error("Nothing to run.")
            return
        from screens.action_run import ActionRunScreen

        self.app.switch_screen(
            ActionRunScreen(
                self.ctx,
                plans[0],
                dry_run=self.dry_run,
                follow_up=follow_up_screens(self.ctx),
                more=plans[1:],
            )
        )

    def _own_token_choice(self) -> list[Plan] | None:
        """The own token's rotation if its own confirmation was typed ([] if left out; None
        when a wrong word was typed: refused, journaled, nothing runs)."""
        found = self.query("#plan-confirm-own")
        if self.own_plan is None or self.own_token is None or not found:
            return []
        box = found.first(Input)
        typed = box.value.strip()
        confirm = own_token_confirmation()
        if not typed:
            return []
        if not confirm.accepts(typed):
            box.value = ""
            self._error(
                f"Type exactly {confirm.word} to include the console's own token, or "
                "leave it empty."
            )
            self._journal_own_refusal(confirm.refusal(typed))
            return None
        return [own_token_plan(self.own_token, confirmed=True)]

    @work(thread=True, group="plan-refusal", exit_on_error=False)
    def _journal_own_refusal(self, message: str) -> None:
        if self.own_plan is not None:
            journal_not_sent(
                self.ctx.store,
                self.ctx.incident_id,
                self.own_plan,
                "own_token_unconfirmed",
                message,
            )

    @work(thread=True, group="plan-refusal", exit_on_error=False)
    def _journal_refusal(self, message: str) -> None:
        journal_not_sent(self.ctx.store, self.ctx.incident_id, self.plan, "confirmation", message)

    def action_cancel(self) -> None:
        """Back to the menu that opened this plan (a follow-up plan simply closes)."""
        if self._back is not None:
            self.app.switch_screen(self._back())
        else:
            self.dismiss(None)
