"""Run a confirmed plan (or resume interrupted actions) and show per-target progress.

The engine runs in a thread worker; its ``on_step`` events come back through
``call_from_thread``. At the end: the summary, and the journal head hash to paste into the
incident ticket. One-time secrets (a reset password, a rotated token) are shown here once and
kept nowhere else: closing the screen forgets them.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, ProgressBar, Static

from actions import (
    ActionError,
    Plan,
    RunResult,
    StepEvent,
    StepOutcome,
    resume_pending,
    run_plan,
)
from console.sanitize import safe
from screens.messages import UsersChanged
from screens.safe import safe_cell
from styles import stylesheet

__all__ = ["ActionRunScreen"]

_STATE_STYLE = {
    "done": "green",
    "noop_already": "green",
    "would_do": "cyan",
    "not_found": "yellow",
    "forbidden": "yellow",
    "refused": "yellow",
    "skipped": "dim",
    "failed": "bold red",
    "unknown": "bold red",
}
_STATE_WORD = {
    "done": "done",
    "noop_already": "already",
    "would_do": "would do",
    "not_found": "not found",
    "forbidden": "forbidden",
    "refused": "refused",
    "skipped": "skipped",
    "failed": "FAILED",
    "unknown": "UNKNOWN",
}


class ActionRunScreen(ModalScreen[RunResult | None]):
    """Progress of one run; ``c`` cancels between targets, escape closes when finished."""

    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [
        Binding("c", "cancel_run", "Cancel run"),
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(self, ctx: Any, plan: Plan | None, *, dry_run: bool = False,
                 resume: bool = False) -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.plan = plan
        self.dry_run = dry_run
        self.resume = resume or plan is None
        self.result: RunResult | None = None
        self.finished = False
        self._cancel = threading.Event()
        self._rows: set[int] = set()
        self._secrets: list[Text] = []
        self._outcomes: dict[int, StepOutcome] = {}

    # -- layout
    def compose(self) -> ComposeResult:
        if self.resume:
            title = "Re-checking interrupted actions"
        else:
            assert self.plan is not None
            title = self.plan.action.title + (" — dry run" if self.dry_run else "")
        with Vertical(id="run-box", classes="dialog"):
            yield Static(Text(title, style="bold"), classes="dialog-title")
            yield ProgressBar(total=len(self.plan.targets) if self.plan else None,
                              show_eta=False, id="run-progress")
            yield Static(Text("starting…"), id="run-status")
            yield DataTable(id="run-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="run-detail")
            yield Static("", id="run-secrets")
            yield Static("", id="run-summary")
            yield Static("", id="run-head")
            yield Static(Text("c: cancel (between targets)"), id="run-hint",
                         classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one("#run-table", DataTable)
        table.add_column("#", key="id", width=7)
        table.add_column("target", key="target", width=22)
        table.add_column("result", key="result", width=40)
        if self.plan is not None:
            for i, t in enumerate(self.plan.targets):
                self._add_row(i, t.id, t.label)
        self.query_one("#run-secrets", Static).display = False
        self._run()

    def _add_row(self, index: int, target_id: int, label: str) -> None:
        if index in self._rows:
            return
        self._rows.add(index)
        self.query_one("#run-table", DataTable).add_row(
            Text(str(target_id)), safe_cell(label, kind="username", max_cells=24),
            Text("pending", style="dim"), key=str(index))

    # -- the worker
    @work(thread=True, exclusive=True, group="action-run", exit_on_error=False)
    def _run(self) -> None:
        app = self.app  # now, while mounted: a closed screen no longer reaches its app

        def on_step(ev: StepEvent) -> None:
            app.call_from_thread(self._on_step, ev)

        try:
            gl = self.ctx.gitlab()
            if self.resume:
                result = resume_pending(self.ctx.store, self.ctx.incident_id, gl,
                                        on_step=on_step, cancelled=self._cancel.is_set,
                                        read_only=bool(getattr(self.ctx, "read_only", False)))
            else:
                assert self.plan is not None
                result = run_plan(self.ctx.store, self.ctx.incident_id, gl, self.plan,
                                  dry_run=self.dry_run,
                                  read_only=bool(getattr(self.ctx, "read_only", False)),
                                  on_step=on_step, cancelled=self._cancel.is_set)
        except ActionError as exc:
            self.app.call_from_thread(self._failed, safe(str(exc), kind="line", max_cells=300))
            return
        except Exception as exc:
            self.app.call_from_thread(self._failed, _describe(exc))
            return
        # Finish first: the re-reads below take one GET per touched user (thousands after a
        # bulk block), and the run screen must not look busy (escape refused) meanwhile.
        app.call_from_thread(self._finished, result)
        changed = self._refresh_cached_users(gl, result)
        if changed:  # to the app: this screen may already be closed
            app.post_message(UsersChanged(changed))

    def _refresh_cached_users(self, gl: Any, result: RunResult) -> tuple[int, ...]:
        """Re-read every user the run touched into the users cache, so the list shows the new
        state (blocked, note…) at once instead of after the next full load; returns their ids."""
        if result.dry_run:
            return ()
        changed: list[int] = []
        for out in result.outcomes:
            if out.target.kind != "user" or out.state not in ("done", "noop_already"):
                continue
            # a failed read only leaves the old row until the next full load
            with contextlib.suppress(Exception):
                body = gl.http_get(f"/users/{int(out.target.id)}")
                if isinstance(body, dict):
                    self.ctx.store.upsert_user_detail(self.ctx.incident_id, body)
                    changed.append(int(out.target.id))
        return tuple(changed)

    # -- UI updates (main thread)
    def _on_step(self, ev: StepEvent) -> None:
        bar = self.query_one("#run-progress", ProgressBar)
        if bar.total is None and ev.total:
            bar.update(total=ev.total)
        if ev.target is not None:
            self._add_row(ev.index, ev.target.id, ev.target.label)
        table = self.query_one("#run-table", DataTable)
        if ev.phase == "finished" and ev.outcome is not None:
            self._show_outcome(table, ev.outcome)
            bar.advance(1)
        elif ev.target is not None:
            table.update_cell(str(ev.index), "result", Text(ev.phase + "…", style="italic"))
        status = f"{ev.index + 1}/{ev.total}: {ev.phase}"
        if ev.message:
            status += " — " + safe(ev.message, kind="line", max_cells=70)
        self.query_one("#run-status", Static).update(Text(status))

    def _show_outcome(self, table: DataTable[Any], out: StepOutcome) -> None:
        self._outcomes[out.index] = out
        word = _STATE_WORD.get(out.state, out.state)
        message = safe(out.message, kind="line", max_cells=200)
        style = _STATE_STYLE.get(out.state, "")
        if message.lower().startswith(word.lower()):
            cell = Text(message, style=style)
        else:
            cell = Text(word, style=style)
            if message:
                cell.append("  " + message, style="dim")
        table.update_cell(str(out.index), "result", cell)
        if table.cursor_row == out.index:
            self._show_detail(out.index)
        if out.secret is not None:
            self._show_secret(out)

    def _show_detail(self, index: int) -> None:
        out = self._outcomes.get(index)
        detail = self.query_one("#run-detail", Static)
        if out is None:
            detail.update("")
            return
        line = Text(f"#{out.target.id}: ", style="bold")
        line.append(safe(out.message, kind="line", max_cells=300))
        if out.request_id:
            line.append(f"  (request {safe(out.request_id, kind='line', max_cells=40)})",
                        style="dim")
        detail.update(line)

    @on(DataTable.RowHighlighted, "#run-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_secret(self, out: StepOutcome) -> None:
        assert out.secret is not None
        what = "new token" if out.target.kind == "token" else "new password"
        line = Text(f"{what} for #{out.target.id} ")
        line.append(safe(out.target.label, kind="username", max_cells=30))
        line.append(": ")
        # The value comes from the server (a rotated token): never let it carry control codes.
        line.append(safe(out.secret.reveal(), kind="line"), style="bold reverse")
        self._secrets.append(line)
        box = self.query_one("#run-secrets", Static)
        head = Text("Shown ONCE — hand it over now. It is not saved anywhere and is gone when "
                    "this screen closes.\n", style="bold yellow")
        box.update(Text("\n").join([head, *self._secrets]))
        box.display = True

    def _finished(self, result: RunResult) -> None:
        self.result = result
        self.finished = True
        summary = Text(result.summary(), style="bold red" if result.halted else "bold")
        self.query_one("#run-summary", Static).update(summary)
        status = "Dry run finished: nothing was changed." if result.dry_run else "Finished."
        self.query_one("#run-status", Static).update(Text(status))
        if result.head_hash and not result.dry_run:
            head = Text("Journal head (paste into the incident ticket): ", style="bold")
            head.append(result.head_hash, style="bold cyan")
            self.query_one("#run-head", Static).update(head)
        self.query_one("#run-hint", Static).update(Text("escape: close"))

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
                Text("Cancelling after the current target…", style="yellow"))

    def action_close(self) -> None:
        if not self.finished:
            self.notify("Still running: press c to cancel after the current target.",
                        markup=False)
            return
        self.dismiss(self.result)


def _describe(exc: BaseException) -> str:
    try:
        from console.errors import describe_error

        return describe_error(exc).one_line()
    except Exception:
        return safe(f"{type(exc).__name__}: {exc}", kind="line", max_cells=200)
