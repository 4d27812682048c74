"""Run a confirmed plan (or resume interrupted actions) and show per-target progress.

The engine runs in a thread worker; its ``on_step`` events come back through
``call_from_thread``. At the end: the summary, the breaker's one-sentence halt if the run was
stopped early, and the journal head hash to paste into the incident ticket. Resuming first shows
every open plan with each step's state (done, verified after resume, not started, failed), then
settles what was in flight and finishes the rest. A step that needs attention (a rotated token
whose new value was lost) offers its follow-up on ``v``. One-time secrets (a reset password, a
rotated token) are shown once, when the run ends, in a box of their own
(:class:`screens.secret_box.OneTimeSecrets`) that forgets them when dismissed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, ProgressBar, Static

from actions import (
    ActionError,
    Plan,
    PlanView,
    RunResult,
    StepEvent,
    StepOutcome,
    Target,
    plan_views,
    resume,
)
from actions.after_run import adopt_rotation, refresh_after, reread_users
from actions.multi import run_plans
from console.context import AppContext
from console.sanitize import safe
from console.secret import Secret
from console.store.lock import WriterElsewhere
from screens.messages import CredentialsChanged, OwnTokenRotated, UsersChanged
from screens.run_cells import describe_failure, outcome_cell, outcome_detail, step_cell
from screens.safe import safe_cell
from screens.secret_box import OneTimeSecrets
from screens.widgets.key_table import KeyTable
from styles import stylesheet

__all__ = ["ActionRunScreen", "FollowUp"]

#: Builds the screen for a needs-attention step's follow-up (action name, target): the actions
#: menu passes its plan screen in, so this module never imports the menu (no cycle).
FollowUp = Callable[[str, Target], Screen[Any]]


class ActionRunScreen(ModalScreen[RunResult | None]):
    """Progress of one run; ``c`` cancels between targets, escape closes when finished."""

    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [
        Binding("c", "cancel_run", "Cancel run"),
        Binding("v", "follow_up", "Follow-up"),
        Binding("f", "finish_rest", "Finish the rest"),
        Binding("D", "drop_rest", "Drop the rest"),
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(
        self,
        ctx: AppContext,
        plan: Plan | None,
        *,
        dry_run: bool = False,
        resume: bool = False,
        follow_up: FollowUp | None = None,
        more: Sequence[Plan] = (),
    ) -> None:
        super().__init__(classes="actions-modal")
        self._follow_up = follow_up
        self.ctx = ctx
        self.plan = plan
        #: every plan of the run (tokens of several kinds: one plan per endpoint, own token last)
        self.plans: list[Plan] = [plan, *more] if plan is not None else []
        self.dry_run = dry_run
        self.resume = resume or plan is None
        self.result: RunResult | None = None
        self.finished = False
        self._cancel = threading.Event()
        self._rows: set[str] = set()
        self._secrets: list[tuple[str, str, Secret]] = []
        self._outcomes: dict[str, StepOutcome] = {}

    # -- layout
    def compose(self) -> ComposeResult:
        if self.resume:
            title = "Re-checking interrupted actions"
        else:
            assert self.plan is not None
            title = self.plan.action.title + (
                f" (+{len(self.plans) - 1} plans)" if len(self.plans) > 1 else ""
            )
            title += " — dry run" if self.dry_run else ""
        with Vertical(id="run-box", classes="dialog"):
            yield Static(Text(title, style="bold"), classes="dialog-title")
            yield ProgressBar(
                total=sum(len(p.targets) for p in self.plans) or None,
                show_eta=False,
                id="run-progress",
            )
            yield Static(Text("starting…"), id="run-status")
            yield KeyTable(id="run-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="run-detail")
            yield Static("", id="run-halt", classes="dialog-error")
            yield Static("", id="run-summary")
            yield Static("", id="run-head")
            yield Static(Text("c: cancel (between targets)"), id="run-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one("#run-table", DataTable)
        table.add_column("#", key="id", width=7)
        table.add_column("target", key="target", width=22)
        table.add_column("result", key="result", width=40)
        targets = [t for p in self.plans for t in p.targets]
        for i, t in enumerate(targets):
            self._add_row(self._key(i, t), t.id, t.label)
        self._run()

    def _key(self, index: int, target: Target) -> str:
        """Rows are plan positions in a run; in a resume, targets (entries and plan steps)."""
        return f"{target.kind}:{target.id}" if self.resume else str(index)

    def _add_row(self, key: str, target_id: int, label: str, state: Text | None = None) -> None:
        if key in self._rows:
            return
        self._rows.add(key)
        self.query_one("#run-table", DataTable).add_row(
            Text(str(target_id)),
            safe_cell(label, kind="username", max_cells=24),
            state or Text("pending", style="dim"),
            key=key,
        )

    def _show_plans(self, views: list[PlanView]) -> None:
        """Before a resume runs: every open plan's steps with their journaled state."""
        table = self.query_one("#run-table", DataTable)
        waiting = 0
        for view in views:
            for step in view.steps:
                key = self._key(step.index, step.target)
                cell = step_cell(step.state, step.detail)
                if key in self._rows:
                    table.update_cell(key, "result", cell)
                else:
                    self._add_row(key, step.target.id, step.target.label, cell)
                waiting += step.state in ("not started", "in flight")
        if views:
            self.query_one("#run-status", Static).update(
                Text(
                    f"{len(views)} plan(s) with {waiting} step(s) to finish: re-checking what "
                    "was in flight, then finishing the rest…"
                )
            )

    # -- the worker
    @work(thread=True, exclusive=True, group="action-run", exit_on_error=False)
    def _run(self) -> None:
        app = self.app  # now, while mounted: a closed screen no longer reaches its app

        def on_step(ev: StepEvent) -> None:
            app.call_from_thread(self._on_step, ev)

        try:
            gl = self.ctx.gitlab()
            if self.resume:
                views = plan_views(self.ctx.store, self.ctx.incident_id)
                app.call_from_thread(self._show_plans, views)
                result = resume(
                    self.ctx.store,
                    self.ctx.incident_id,
                    gl,
                    on_step=on_step,
                    cancelled=self._cancel.is_set,
                    read_only=self.ctx.read_only,
                )
            else:
                multi = run_plans(
                    self.ctx.store,
                    self.ctx.incident_id,
                    gl,
                    self.plans,
                    dry_run=self.dry_run,
                    read_only=self.ctx.read_only,
                    on_step=on_step,
                    cancelled=self._cancel.is_set,
                )
                result, parts = multi.merged, multi.parts
        except (ActionError, WriterElsewhere) as exc:
            self.app.call_from_thread(self._failed, safe(str(exc), kind="line", max_cells=300))
            return
        except Exception as exc:
            self.app.call_from_thread(self._failed, describe_failure(exc))
            return
        if self.resume:
            parts = []
        kept = None
        for _, part in parts:  # before anything could show the new value
            kept = adopt_rotation(self.ctx, part) or kept
        if kept is not None:
            for out in result.outcomes:
                if "console token" in out.target.flags:
                    out.secret = None
        # Finish first: the re-reads below take one GET per touched user (thousands after a
        # bulk block), and the run screen must not look busy (escape refused) meanwhile.
        app.call_from_thread(self._finished, result)
        if kept is not None:
            app.post_message(OwnTokenRotated(kept.note))
            app.call_from_thread(self._own_token_kept, kept.note)
            gl = self.ctx.gitlab()  # the old client's token was revoked: the new one
        changed = reread_users(self.ctx, gl, result)
        if changed:  # to the app: this screen may already be closed
            app.post_message(UsersChanged(changed))
        creds = [k for plan, part in parts for k in refresh_after(self.ctx, gl, plan, part)]
        if creds:
            app.post_message(CredentialsChanged(tuple(creds)))

    def _own_token_kept(self, note: str) -> None:
        self.query_one("#run-head", Static).update(Text(note, style="bold"))

    # -- UI updates (main thread)
    def _on_step(self, ev: StepEvent) -> None:
        bar = self.query_one("#run-progress", ProgressBar)
        if bar.total is None and ev.total:
            bar.update(total=ev.total)
        if ev.target is not None:
            self._add_row(self._key(ev.index, ev.target), ev.target.id, ev.target.label)
        table = self.query_one("#run-table", DataTable)
        if ev.phase == "finished" and ev.outcome is not None:
            self._show_outcome(table, ev.outcome)
            bar.advance(1)
        elif ev.target is not None:
            table.update_cell(
                self._key(ev.index, ev.target), "result", Text(ev.phase + "…", style="italic")
            )
        status = f"{ev.index + 1}/{ev.total}: {ev.phase}"
        if ev.message:
            status += " — " + safe(ev.message, kind="line", max_cells=70)
        self.query_one("#run-status", Static).update(Text(status))

    def _show_outcome(self, table: DataTable[Any], out: StepOutcome) -> None:
        key = self._key(out.index, out.target)
        self._outcomes[key] = out
        table.update_cell(key, "result", outcome_cell(out))
        if self._highlighted_key() == key:
            self._show_detail(key)
        if out.secret is not None and "console token" not in out.target.flags:
            self._show_secret(out)

    def _highlighted_key(self) -> str | None:
        table = self.query_one("#run-table", DataTable)
        if not table.row_count:
            return None
        with contextlib.suppress(Exception):
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            return str(row_key.value)
        return None

    def _show_detail(self, key: str | None) -> None:
        out = self._outcomes.get(key) if key is not None else None
        detail = self.query_one("#run-detail", Static)
        if out is None:
            detail.update("")
            return
        detail.update(outcome_detail(out))

    @on(DataTable.RowHighlighted, "#run-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(str(event.row_key.value) if event.row_key is not None else None)

    def _show_secret(self, out: StepOutcome) -> None:
        """Kept (as a Secret) for the one-time box the run opens when it finishes."""
        assert out.secret is not None
        what = (
            "new token"
            if out.target.kind == "token"
            else ("new password" if out.target.kind == "user" else "new value")
        )
        self._secrets.append(
            (
                what,
                f"#{out.target.id} " + safe(out.target.label, kind="username", max_cells=30),
                out.secret,
            )
        )
        out.secret = None

    def _finished(self, result: RunResult) -> None:
        self.result = result
        self.finished = True
        for out in result.outcomes:
            out.secret = None  # the box below is their only holder
        if self._secrets:
            values, self._secrets = self._secrets, []
            self.app.push_screen(OneTimeSecrets(values))
        summary = Text(result.summary(), style="bold red" if result.halted else "bold")
        self.query_one("#run-summary", Static).update(summary)
        if result.halted:
            self.query_one("#run-halt", Static).update(
                Text(
                    "Stopped: " + safe(result.halted, kind="line", max_cells=400), style="bold red"
                )
            )
        status = "Dry run finished: nothing was changed." if result.dry_run else "Finished."
        self.query_one("#run-status", Static).update(Text(status))
        if result.head_hash and not result.dry_run:
            head = Text("Journal head (paste into the incident ticket): ", style="bold")
            head.append(result.head_hash, style="bold cyan")
            self.query_one("#run-head", Static).update(head)
        hints = ["escape: close"]
        if result.left_pending and not result.dry_run:
            hints.insert(
                0, f"f: finish the {result.left_pending} step(s) not started   D: drop them"
            )
        if result.attention:
            hints.insert(0, "v: follow-up on the highlighted step that needs attention")
        self.query_one("#run-hint", Static).update(Text("   ".join(hints)))

    def _failed(self, message: str) -> None:
        self.finished = True
        self.query_one("#run-summary", Static).update(Text(message, style="bold red"))
        self.query_one("#run-status", Static).update(Text("Not run."))
        self.query_one("#run-hint", Static).update(Text("escape: close"))

    # -- keys
    def action_cancel_run(self) -> None:
        if not self.finished:
            self._cancel.set()
            self.query_one("#run-status", Static).update(
                Text("Cancelling after the current target…", style="yellow")
            )

    def action_follow_up(self) -> None:
        """One key from a step that needs attention to its follow-up (revoke the new token)."""
        key = self._highlighted_key()
        out = self._outcomes.get(key) if key is not None else None
        if out is None or out.attention is None:
            out = next((o for o in self._outcomes.values() if o.attention is not None), None)
        if out is None or out.attention is None or not out.attention.action:
            self.notify("No step here needs a follow-up.", markup=False)
            return
        if self._follow_up is None:
            self.notify(
                "Open the actions menu to act on it: "
                + safe(out.attention.text, kind="line", max_cells=120),
                markup=False,
            )
            return
        self.app.push_screen(self._follow_up(out.attention.action, out.attention.target))

    def action_finish_rest(self) -> None:
        if not self.finished or self.result is None or not self.result.left_pending:
            return
        self.app.switch_screen(
            ActionRunScreen(self.ctx, None, resume=True, follow_up=self._follow_up)
        )

    def action_drop_rest(self) -> None:
        """The responder decides the steps never started will not be done (journaled)."""
        if not self.finished or self.result is None or not self.result.left_pending:
            return
        self._drop_rest()

    @work(thread=True, exclusive=True, group="action-drop", exit_on_error=False)
    def _drop_rest(self) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        dropped = sum(store.plan_drop_open(p.id) for p in store.plans_open(incident_id))
        self.app.call_from_thread(self._dropped, dropped)

    def _dropped(self, count: int) -> None:
        if self.result is not None:
            self.result.left_pending = 0
        self.query_one("#run-hint", Static).update(
            Text(f"{count} step(s) dropped: they will not be offered again.   escape: close")
        )

    def action_close(self) -> None:
        if not self.finished:
            self.notify("Still running: press c to cancel after the current target.", markup=False)
            return
        self.dismiss(self.result)
