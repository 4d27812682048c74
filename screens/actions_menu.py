"""The ``a`` key: choose a response action for the selection, review the plan, confirm, run.

Flow: :class:`ActionsMenuScreen` lists the actions (greyed out in read-only mode; ``d`` switches
to a dry run that only reads) → :class:`PlanScreen` shows every target (id, escaped username,
flags) and what is excluded, and asks for the number of targets (or ``y`` for one) → the run
screen (:mod:`screens.action_run`) shows per-target progress and the journal head hash.

The app calls :func:`open_actions_menu` with the current pane's selection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from actions import Plan, Target, actor_id_of, own_token_id
from actions.attempts import journal_not_sent
from actions.confirm import Confirmation, confirmation_for
from actions.plan import (
    TOKEN_ACTIONS,
    USER_ACTIONS,
    ActionSpec,
    build_plan,
    spec_by_name,
    token_targets,
    user_targets,
)
from screens.action_status import (
    actor_id,
    not_started,
    other_console,
    pending_count,
    writer_notice,
)
from screens.safe import safe_text
from styles import stylesheet

__all__ = [
    "ActionsMenuScreen",
    "PlanScreen",
    "follow_up_screens",
    "open_actions_menu",
    "open_resume",
    "open_token_actions_menu",
    "writer_notice",
]

CSS_PATH = stylesheet("actions.tcss")
#: Targets (and exclusions) listed one per line in the plan; the summary counts them all.
PLAN_LINES = 200


def open_actions_menu(app: App[Any], ctx: Any, user_ids: Sequence[int]) -> None:
    """Open the actions menu for ``user_ids`` (the selection, or the highlighted user)."""
    app.push_screen(ActionsMenuScreen(ctx, [int(u) for u in user_ids]))


def open_resume(app: App[Any], ctx: Any) -> None:
    """Re-check actions a crash left pending and finish the plans it interrupted (call at
    startup when there is something to resume); non-repeatable actions go to a human."""
    from screens.action_run import ActionRunScreen

    app.push_screen(ActionRunScreen(ctx, None, resume=True, follow_up=follow_up_screens(ctx)))


def follow_up_screens(ctx: Any) -> Callable[[str, Target], Screen[Any]]:
    """The run screen's ``v``: the plan for a needs-attention step's follow-up (e.g. revoke
    the new token whose value was lost), confirmed like any other plan."""

    def build(action: str, target: Target) -> Screen[Any]:
        spec = spec_by_name(action)
        if target.kind == "token":
            token = {"id": target.id, "name": target.label,
                     "user_id": target.info.get("user_id")}
            return PlanScreen(ctx, spec, [], tokens=[token])
        return PlanScreen(ctx, spec, [target.id])

    return build


def open_token_actions_menu(app: App[Any], ctx: Any, tokens: Sequence[Mapping[str, Any]]) -> None:
    """Open the actions menu for personal access tokens (GitLab token JSON: ``id``, ``name``,
    ``user_id``, ``scopes``, ``active``/``revoked``)."""
    app.push_screen(ActionsMenuScreen(ctx, [], tokens=[dict(t) for t in tokens]))


class ActionsMenuScreen(ModalScreen[None]):
    """Pick an action for the selected users."""

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("d", "toggle_dry_run", "Dry run"),
        Binding("r", "resume", "Resume interrupted"),
    ]

    def __init__(self, ctx: Any, user_ids: list[int], *, dry_run: bool | None = None,
                 tokens: list[dict[str, Any]] | None = None) -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.user_ids = user_ids
        self.tokens = tokens
        self.specs = TOKEN_ACTIONS if tokens is not None else USER_ACTIONS
        self.dry_run = bool(getattr(ctx, "dry_run", False)) if dry_run is None else dry_run
        self.locked_by = other_console(ctx)
        self.read_only = bool(getattr(ctx, "read_only", False)) or self.locked_by is not None

    def compose(self) -> ComposeResult:
        with Vertical(id="actions-box", classes="dialog"):
            yield Static(self._title_text(), classes="dialog-title")
            yield Static(self._mode_text(), id="actions-mode")
            yield OptionList(*self._options(), id="actions-list")
            yield Static("", id="actions-desc")
            yield Static(self._pending_text(), id="actions-pending")
            yield Static(Text("enter: choose   d: dry run on/off   escape: close"),
                         classes="dialog-hint")

    def _title_text(self) -> Text:
        """``Actions for @mchen (#7)``: the responder sees who before choosing anything."""
        n = len(self.tokens) if self.tokens is not None else len(self.user_ids)
        noun = "token" if self.tokens is not None else "user"
        title = Text(f"Actions for {n} {noun}{'' if n == 1 else 's'}", style="bold")
        if self.tokens is not None:
            names = [(t.get("name"), t.get("id")) for t in self.tokens[:3]]
        else:
            names = [(name, uid) for uid, name in self._usernames(self.user_ids[:3])]
        for i, (name, ident) in enumerate(names):
            title.append(": " if i == 0 else ", ")
            prefix = "@" if self.tokens is None else ""
            title.append_text(safe_text(f"{prefix}{name} (#{ident})", kind="line", max_cells=40))
        if n > len(names) and names:
            title.append(", …")
        return title

    def _usernames(self, user_ids: Sequence[int]) -> list[tuple[int, str]]:
        """Usernames from the local cache (one primary-key read); ids without a row are left out."""
        try:
            rows = self.ctx.store.users_by_ids(self.ctx.incident_id, list(user_ids))
        except Exception:  # a missing cache must not stop the menu from opening
            return []
        by_id = {row.id: row.username for row in rows}
        return [(uid, by_id[uid]) for uid in user_ids if uid in by_id]

    def on_mount(self) -> None:
        lst = self.query_one("#actions-list", OptionList)
        lst.focus()
        if lst.option_count and not (self.read_only and not self.dry_run):
            lst.highlighted = 0

    def _mode_text(self) -> Text:
        if self.locked_by is not None and not self.dry_run:
            return Text(writer_notice(self.locked_by), style="bold yellow")
        if self.read_only and not self.dry_run:
            return Text("Read-only mode: actions are disabled. Press d for a dry run "
                        "(reads only, changes nothing).", style="yellow")
        if self.dry_run:
            return Text("Dry run: plans are checked against the server; nothing is changed "
                        "(the journal records the dry run).", style="cyan")
        return Text("Every action is journaled before it is sent and verified afterwards.",
                    style="dim")

    def _pending_text(self) -> Text:
        if self.locked_by is not None:
            return Text("")  # the other console's in-flight actions are its own
        pending = pending_count(self.ctx)
        rest = not_started(self.ctx)
        parts: list[str] = []
        if pending:
            parts.append(f"{pending} action(s) were interrupted (crash or kill)")
        if rest:
            parts.append(f"{rest} planned step(s) were never started")
        if not parts:
            return Text("")
        return Text("; ".join(parts) + ". Press r to see the plan, re-check against the "
                    "server and finish the rest before doing anything else.",
                    style="bold yellow")

    def _options(self) -> list[Option]:
        disabled = self.read_only and not self.dry_run
        out: list[Option] = []
        for spec in self.specs:
            label = Text(spec.title)
            if not spec.convergent:
                label.append("  (not repeatable)", style="dim")
            out.append(Option(label, id=spec.name, disabled=disabled))
        return out

    @on(OptionList.OptionHighlighted, "#actions-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        spec = next((s for s in self.specs if s.name == event.option.id), None)
        self.query_one("#actions-desc", Static).update(
            Text(spec.description if spec else "", style="italic"))

    def _refresh(self) -> None:
        self.query_one("#actions-mode", Static).update(self._mode_text())
        lst = self.query_one("#actions-list", OptionList)
        highlighted = lst.highlighted
        lst.clear_options()
        lst.add_options(self._options())
        if not (self.read_only and not self.dry_run):
            lst.highlighted = highlighted if highlighted is not None else 0

    def action_toggle_dry_run(self) -> None:
        # A session started with --dry-run stays a dry run.
        self.dry_run = not self.dry_run or bool(getattr(self.ctx, "dry_run", False))
        self._refresh()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_resume(self) -> None:
        if self.locked_by is not None:
            self.notify(writer_notice(self.locked_by), markup=False, severity="warning")
            return
        if not pending_count(self.ctx) and not not_started(self.ctx):
            self.notify("No interrupted actions to re-check.", markup=False)
            return
        from screens.action_run import ActionRunScreen

        self.app.switch_screen(ActionRunScreen(self.ctx, None, dry_run=False, resume=True,
                                               follow_up=follow_up_screens(self.ctx)))

    @on(OptionList.OptionSelected, "#actions-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id
        spec = next((s for s in self.specs if s.name == name), None)
        if spec is None:
            return
        if self.read_only and not self.dry_run:
            self.notify("Read-only mode: press d for a dry run.", markup=False)
            return
        # The plan replaces the menu (escape there comes back here); confirming replaces the
        # plan with the run screen, so closing the run returns straight to the pane.
        self.app.switch_screen(PlanScreen(self.ctx, spec, self.user_ids, dry_run=self.dry_run,
                                          tokens=self.tokens))


class PlanScreen(ModalScreen[None]):
    """Show exactly what will be done to whom; confirm by typing the count (or ``y``)."""

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: Any, spec: ActionSpec, user_ids: Sequence[int], *,
                 dry_run: bool = False, tokens: list[dict[str, Any]] | None = None) -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.spec = spec
        self.user_ids = list(user_ids)
        self.tokens = tokens
        self.dry_run = dry_run
        self.actor_id = actor_id(ctx)
        self.own_token: int | None = None
        self._identity_pending = not (tokens is None and self.actor_id is not None)
        self.plan: Plan = self._build()

    def _build(self) -> Plan:
        if self.tokens is not None:
            targets = token_targets(self.tokens)
        else:
            targets = user_targets(self.ctx.store, self.ctx.incident_id, self.user_ids)
        return build_plan(self.spec.build({"text": "placeholder"}), targets,
                          actor_id=self.actor_id, own_token_id=self.own_token)

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
                    yield Static(Text(f"… and {len(plan.targets) - PLAN_LINES:,} more "
                                      "(all are in the plan)", style="dim"), classes="plan-more")
                for t, reason in plan.excluded[:PLAN_LINES]:
                    line = self._target_text(t.id, t.label, t.flags)
                    line.append(f"  excluded: {reason}", style="yellow")
                    yield Static(line, classes="plan-excluded")
                if len(plan.excluded) > PLAN_LINES:
                    yield Static(Text(f"… and {len(plan.excluded) - PLAN_LINES:,} more excluded",
                                      style="dim"), classes="plan-more")
            if self.spec.needs_text:
                yield Input(placeholder="note text (one line)", id="plan-text")
            if self.spec.name == "unblock_user":
                yield Checkbox("Unblock even if tokens or SSH keys are still active",
                               id="plan-confirm-creds")
            if plan.targets:
                if self.dry_run:
                    hint = "Dry run: press enter to check each target (nothing is changed)."
                else:
                    confirm = self.confirmation
                    hint = (f"Type {confirm.word} and press enter to run ({confirm.why}); "
                            "escape to cancel.")
                yield Static(safe_text(hint, kind="line"), classes="dialog-hint",
                             id="plan-hint")
                yield Input(placeholder="" if self.dry_run else self.word, id="plan-confirm")
            else:
                yield Static(Text("Nothing to do: every selected user is excluded."),
                             classes="dialog-hint")
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

    @on(Input.Submitted, "#plan-confirm")
    def _confirm(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if self._identity_pending:
            self._error("Still checking which account and token this console uses; "
                        "press enter again in a moment.")
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
        plan = Plan(action, self.plan.targets, self.plan.excluded, self.plan.summary)
        from screens.action_run import ActionRunScreen

        self.app.switch_screen(ActionRunScreen(self.ctx, plan, dry_run=self.dry_run,
                                               follow_up=follow_up_screens(self.ctx)))

    @work(thread=True, group="plan-refusal", exit_on_error=False)
    def _journal_refusal(self, message: str) -> None:
        journal_not_sent(self.ctx.store, self.ctx.incident_id, self.plan, "confirmation",
                         message)

    def action_cancel(self) -> None:
        self.app.switch_screen(ActionsMenuScreen(self.ctx, self.user_ids, dry_run=self.dry_run,
                                                 tokens=self.tokens))
