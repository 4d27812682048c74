"""The rotation worksheet in the pane: ``space`` selects rows of any kind, ``a`` rotates them.

:class:`WorksheetScreen` lists the selection by kind, asks a new value for each variable (typed
masked; it lives only in the action's ``Secret``), lets tokens be revoked or rotated and GPG keys
revoked or deleted, and is confirmed by typing the number of items. The pane then builds the
plans (``worksheet.build_worksheet``) and hands them one after another to the actions helper's
run screen (:class:`screens.action_run.ActionRunScreen`, journaled and verified as any run).
After each plan the outcomes go into the worksheet column and the incident's cache, so
``rotated 12/31`` and every outcome survive a restart; items not done stay selected for ``a``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from actions.model import RunResult
from console.inventory import KIND_LABELS, Credential
from console.secret import Secret
from screens.panes.base import RecordPane
from screens.panes.credentials.messages import WorksheetRead
from screens.panes.credentials.model import CredentialsView
from screens.panes.credentials.worksheet import (
    SHEET_CACHE,
    TOKEN_KINDS,
    Worksheet,
    WorksheetItem,
    build_worksheet,
    needs_value,
    outcome_word,
    progress_text,
    sheet_state,
)
from screens.safe import safe_text
from screens.widgets.confirm_input import ConfirmInput
from screens.widgets.virtual_table import RowKey, VirtualTable
from styles import stylesheet

__all__ = ["WorksheetChoice", "WorksheetMixin", "WorksheetScreen"]


ITEM_LINES = 100  # items listed one per line before the run (all of them run)


@dataclass
class WorksheetChoice:
    rotate_tokens: bool = False  # revoke them otherwise
    gpg: str = "revoke"
    values: dict[str, Secret] = field(default_factory=dict)


class WorksheetScreen(ModalScreen[WorksheetChoice | None]):
    """The worksheet before it runs: what each kind gets, variable values, typed confirmation."""

    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+t", "toggle_tokens", "Tokens: revoke or rotate"),
        Binding("ctrl+g", "toggle_gpg", "GPG keys: revoke or delete"),
    ]

    def __init__(self, rows: Sequence[Credential]) -> None:
        super().__init__(classes="actions-modal")
        self.rows = list(rows)
        self.variables = [r for r in self.rows if needs_value(r)]
        self.choice = WorksheetChoice()

    @property
    def word(self) -> str:
        return "y" if len(self.rows) == 1 else str(len(self.rows))

    def compose(self) -> ComposeResult:
        kinds = Counter(r.kind for r in self.rows)
        with Vertical(id="plan-box", classes="dialog"):
            yield Static(
                Text(f"Rotation worksheet: {len(self.rows)} items", style="bold"),
                classes="dialog-title",
            )
            yield Static(self._summary(kinds), id="sheet-summary")
            with VerticalScroll(id="plan-targets"):
                for row in self.rows[:ITEM_LINES]:
                    line = Text(f"{KIND_LABELS.get(row.kind, row.kind)}: ", style="bold")
                    line.append_text(safe_text(row.name))
                    if row.owner:
                        line.append("  ")
                        line.append_text(safe_text(row.owner))
                    yield Static(line, classes="plan-target")
                if len(self.rows) > ITEM_LINES:
                    yield Static(
                        Text(f"… and {len(self.rows) - ITEM_LINES:,} more", style="dim"),
                        classes="plan-more",
                    )
                for i, row in enumerate(self.variables):
                    label = Text("New value for ")
                    label.append_text(safe_text(row.name))
                    label.append(" (")
                    label.append_text(safe_text(row.owner))
                    label.append(")")
                    yield Static(label)
                    yield Input(password=True, id=f"sheet-value-{i}", classes="sheet-value")
            yield Static(
                Text(
                    f"Type {self.word} and press enter to run; escape cancels. "
                    "ctrl+t: tokens revoke/rotate, ctrl+g: GPG revoke/delete."
                ),
                classes="dialog-hint",
            )
            yield ConfirmInput(placeholder=self.word, id="sheet-confirm")
            yield Static("", id="sheet-error", classes="dialog-error")

    def _summary(self, kinds: Counter[str]) -> Text:
        what = {
            "ssh_key": "delete",
            "gpg_key": f"{self.choice.gpg}",
            "runner": "reset its token",
            "deploy_token": "revoke",
            "deploy_key": "disable on its projects",
        }
        text = Text()
        for kind, n in sorted(kinds.items()):
            tokens = "rotate" if self.choice.rotate_tokens else "revoke"
            verb = (
                tokens
                if kind in TOKEN_KINDS
                else "new value"
                if kind.endswith("_variable")
                else "new secret"
                if kind.endswith("_hook")
                else what.get(kind, "?")
            )
            text.append(f"{n} × {KIND_LABELS.get(kind, kind)}: {verb}\n")
        return text

    def on_mount(self) -> None:
        first = self.query(".sheet-value")
        (first.first() if first else self.query_one("#sheet-confirm", Input)).focus()

    def _refresh(self) -> None:
        kinds = Counter(r.kind for r in self.rows)
        self.query_one("#sheet-summary", Static).update(self._summary(kinds))

    def action_toggle_tokens(self) -> None:
        self.choice.rotate_tokens = not self.choice.rotate_tokens
        self._refresh()

    def action_toggle_gpg(self) -> None:
        self.choice.gpg = "delete" if self.choice.gpg == "revoke" else "revoke"
        self._refresh()

    @on(Input.Submitted, ".sheet-value")
    def _value_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(Input.Submitted, "#sheet-confirm")
    def _confirm(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() != self.word:
            self.query_one("#sheet-error", Static).update(Text(f"Type {self.word} to run."))
            return
        for i, row in enumerate(self.variables):
            box = self.query_one(f"#sheet-value-{i}", Input)
            if box.value.strip():
                self.choice.values[row.key] = Secret(box.value)
            box.value = ""  # the value leaves the widget tree with the screen
        self.dismiss(self.choice)

    def action_cancel(self) -> None:
        for box in self.query(".sheet-value").results(Input):
            box.value = ""
        self.dismiss(None)


@dataclass
class WorksheetBuilt(Message, namespace="credentials_pane"):
    """The worksheet's plans were built and its items saved in the incident."""

    sheet: Worksheet
    items: list[WorksheetItem]


@dataclass
class WorksheetSaved(Message, namespace="credentials_pane"):
    count: int


#: What a verified action leaves of the row (actions that keep the object leave it as it is).
STATE_AFTER = {
    "revoke_token": "revoked",
    "rotate_token": "rotated",
    "delete_ssh_key": "deleted",
    "revoke_gpg_key": "revoked",
    "delete_gpg_key": "deleted",
    "revoke_deploy_token": "revoked",
}


class WorksheetMixin(RecordPane[CredentialsView]):
    """The worksheet state and flow of the credentials pane."""

    def init_worksheet(self) -> None:
        self.sheet_items: list[WorksheetItem] = []
        self.outcomes: dict[str, str] = {}
        self._sheet: Worksheet | None = None
        self._plan_index = 0
        #: the worksheet's selection, across filters: the table keeps only rows it shows, so
        #: the pane keeps the rest and selects them again when a query shows them
        self.chosen: dict[str, None] = {}

    def worksheet_text(self) -> str:
        return progress_text(self.sheet_items)

    @on(WorksheetRead)
    def _worksheet_read(self, message: WorksheetRead) -> None:
        self.sheet_items = [WorksheetItem(k, label, out) for k, label, out in message.items]
        self.outcomes = {i.key: i.outcome for i in self.sheet_items if i.outcome}
        pending = [
            i.key for i in self.sheet_items if i.outcome not in ("done", "already", "left out")
        ]
        self.choose(pending)  # a resumed worksheet: a continues with these
        self.render_bar()

    def choose(self, keys: Sequence[str]) -> None:
        """Select ``keys`` (shown now or once a query shows them)."""
        self.chosen.update(dict.fromkeys(keys))
        self.reselect()

    def reselect(self) -> None:
        """Select again the chosen rows the table shows (after a query replaced its rows)."""
        if self.chosen and self.is_mounted:
            self.table.select_keys([k for k in self.table.keys if k in self.chosen])

    @on(VirtualTable.SelectionChanged)
    def _selection_changed(self, event: VirtualTable.SelectionChanged) -> None:
        event.stop()
        visible = set(self.table.keys)
        kept = {k: None for k in self.chosen if k not in visible}
        kept.update((str(k), None) for k in self.table.selected_keys)
        self.chosen = kept
        self.render_bar()

    def action_actions(self) -> None:
        """Rotate the selected rows (any kinds) in one worksheet run; no selection: this row."""
        keys: list[RowKey] = list(self.chosen)
        if not keys and self.table.cursor_key is not None:
            keys = [self.table.cursor_key]
        if not keys:
            return
        rows = self.source_items(keys)
        if len(rows) == 1 and not self.chosen and rows[0].kind in TOKEN_KINDS:
            # One token, nothing selected: the actions menu offers revoke or rotate for it.
            from screens.actions_menu import open_token_actions_menu
            from screens.panes.credentials.worksheet import token_json

            open_token_actions_menu(self.app, self.ctx, [token_json(rows[0])])
            return
        if rows:
            self.app.push_screen(WorksheetScreen(rows), lambda c: self._chosen(rows, c))

    def source_items(self, keys: Sequence[Any]) -> list[Credential]:
        raise NotImplementedError

    def _chosen(self, rows: list[Credential], choice: WorksheetChoice | None) -> None:
        if choice is not None:
            self._build_sheet(rows, choice)

    @work(thread=True, exclusive=True, group="cred-sheet", exit_on_error=False)
    def _build_sheet(self, rows: list[Credential], choice: WorksheetChoice) -> None:
        from actions import own_token_id

        try:
            own = own_token_id(self.ctx.gitlab())
        except Exception:  # the run reports connection problems; the engine re-checks
            own = None
        sheet = build_worksheet(
            rows,
            choice.values,
            rotate_tokens=choice.rotate_tokens,
            gpg=choice.gpg,
            own_token_id=own,
        )
        labels = {r.key: r.name for r in rows}
        items = [WorksheetItem(k, labels.get(k, k)) for k in sheet.item_keys]
        items += [WorksheetItem(k, labels.get(k, k), "left out") for k, _ in sheet.left_out]
        self.ctx.store.cache_put(self.ctx.incident_id, SHEET_CACHE, sheet_state(items))
        self.post_message(WorksheetBuilt(sheet, items))

    @on(WorksheetBuilt)
    def _sheet_built(self, message: WorksheetBuilt) -> None:
        self._sheet = message.sheet
        self.sheet_items = message.items
        self.outcomes = {i.key: i.outcome for i in self.sheet_items if i.outcome}
        self._plan_index = 0
        self.chosen = {}
        self.table.clear_selection()
        self.table.invalidate()
        self.render_bar()
        self._run_next()

    def _run_next(self) -> None:
        sheet = self._sheet
        if sheet is None or self._plan_index >= len(sheet.plans):
            self._sheet = None
            self.rows_source_forget()
            self.refresh_rows()
            return
        from screens.action_run import ActionRunScreen

        index = self._plan_index
        plan = sheet.plans[index]
        if not plan.targets:
            self._plan_index += 1
            self._run_next()
            return
        self.app.push_screen(
            ActionRunScreen(self.ctx, plan), lambda result: self._plan_ran(index, result)
        )

    def _plan_ran(self, index: int, result: RunResult | None) -> None:
        sheet = self._sheet
        if sheet is None:
            return
        if result is not None:
            done: list[str] = []
            for out in result.outcomes:
                key = sheet.key_of(index, out.target)
                if key is not None:
                    self.outcomes[key] = outcome_word(out.state)
                    if out.state in ("done", "noop_already") and not result.dry_run:
                        done.append(key)
            state = STATE_AFTER.get(sheet.plans[index].action.name)
            if state and done:
                self._mark_state(done, state)
        for item in self.sheet_items:
            item.outcome = self.outcomes.get(item.key, item.outcome)
        self._save_sheet(sheet_state(self.sheet_items))
        self.rows_source_forget()
        self.table.invalidate()
        self.render_bar()
        if result is None or result.cancelled or result.halted:
            self._sheet = None  # the rest stays on the worksheet: a resumes it
            self.choose(
                [
                    i.key
                    for i in self.sheet_items
                    if i.outcome not in ("done", "already", "left out")
                ]
            )
            self.refresh_rows()
            return
        self._plan_index = index + 1
        self._run_next()

    @work(thread=True, group="cred-sheet-state", exit_on_error=False)
    def _mark_state(self, keys: list[str], state: str) -> None:
        """Rows the run verified revoked or deleted say so (GitLab confirmed it on read-back)."""
        store, incident_id = self.ctx.store, self.ctx.incident_id
        rows = [{**r, "state": state} for r in store.credentials_by_keys(incident_id, keys)]
        store.upsert_credentials(incident_id, rows)
        self.post_message(WorksheetSaved(len(rows)))

    @on(WorksheetSaved)
    def _sheet_saved(self, message: WorksheetSaved) -> None:
        self.rows_source_forget()
        self.table.invalidate()

    @work(thread=True, group="cred-sheet-save", exit_on_error=False)
    def _save_sheet(self, state: dict[str, Any]) -> None:
        self.ctx.store.cache_put(self.ctx.incident_id, SHEET_CACHE, state)
        self.post_message(WorksheetSaved(len(state.get("items") or ())))

    def rows_source_forget(self) -> None:
        raise NotImplementedError
