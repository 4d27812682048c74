"""The journal on screen: every call the console sent, filterable, with the chain's head hash.

Columns: entry, time, method and path, target, outcome, GitLab's ``X-Request-Id`` and the
verification. ``/`` filters (any column, case-insensitive), ``v`` re-walks the hash chain and
shows the head or the first broken entry, ``r`` re-reads, ``e`` exports the filtered view, ``u``
offers the highlighted entry's undo where GitLab can undo (``actions.undo``), confirmed by typing.
Attempts that sent nothing (a refused confirmation, read-only, a dry run: ``actions.attempts``)
show why in the outcome column. Reads the store in a thread worker; never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from actions import Plan
from actions.attempts import not_sent_word
from actions.undo import irreversible_reason, undo_plan
from console.export import JOURNAL_COLUMNS, JournalCheck, check_journal, journal_rows
from console.timeutil import normalize_ts
from screens.safe import safe_cell
from screens.widgets.key_table import KeyTable

__all__ = ["JournalView"]

_SHOWN = (
    ("id", "#"),
    ("when", "Time (UTC)"),
    ("call", "Call"),
    ("target_label", "Target"),
    ("state", "Outcome"),
    ("request_id", "X-Request-Id"),
    ("verification", "Verified"),
)


class JournalView(Vertical):
    """``ctx`` needs ``store`` and ``incident``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Filter"),
        Binding("v", "verify", "Verify chain"),
        Binding("r", "reload", "Reload"),
        Binding("e", "export", "Export view"),
        Binding("u", "undo", "Undo entry (reversible only)"),
        Binding("escape", "back", "Clear filter", show=False),
    ]

    @dataclass
    class Loaded(Message):
        rows: list[dict[str, Any]]
        check: JournalCheck

    def __init__(self, ctx: Any, *, id: str = "journal-view") -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []
        self.check: JournalCheck | None = None
        self.border_title = "Journal"

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: action, target, state, request id…", id="journal-filter")
        yield KeyTable(id="journal-table", cursor_type="row", zebra_stripes=True)
        yield Static("reading…", id="journal-status")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#journal-table", DataTable)

    def on_mount(self) -> None:
        self.query_one("#journal-filter", Input).display = False
        for key, label in _SHOWN:
            self.table.add_column(label, key=key)
        self.action_reload()

    def on_show(self) -> None:
        """Shown again (``5``, ``:journal``): entries written meanwhile appear without ``r``."""
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="journal", exit_on_error=False)
    def _load(self) -> None:
        store, iid = self.ctx.store, int(self.ctx.incident.id)
        # attempts that sent nothing (refusals, dry runs) say so instead of a journal state
        not_sent = {
            e.id: word
            for e in store.journal_entries(iid)
            if (word := not_sent_word(e.extra)) is not None
        }
        rows = []
        for row in journal_rows(store, iid):
            when = normalize_ts(row["t_done"] or row["t_sent"] or row["t_intent"]) or ""
            row["when"] = when[:19].replace("T", " ")
            row["call"] = f"{row['method']} {row['path']}"
            if row["id"] in not_sent:
                row["state"] = not_sent[row["id"]]
                row["verification"] = "nothing sent"
            rows.append(row)
        self.post_message(self.Loaded(rows, check_journal(store, iid)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        self.rows, self.check = message.rows, message.check
        self._apply_filter()

    def _apply_filter(self) -> None:
        needle = self.query_one("#journal-filter", Input).value.strip().casefold()
        keys = [k for k, _ in _SHOWN] + ["error", "action", "http_status"]
        self.shown = [
            r
            for r in self.rows
            if not needle or any(needle in str(r.get(k) or "").casefold() for k in keys)
        ]
        table = self.table
        keep = None
        if table.row_count:  # a reload keeps the highlighted entry (u acts on it)
            keep = table.coordinate_to_cell_key(table.cursor_coordinate)[0].value
        table.clear()
        for r in self.shown:
            table.add_row(
                *[
                    safe_cell(
                        r.get(k) if r.get(k) is not None else "—",
                        max_cells=24 if k == "target_label" else 40,
                    )
                    for k, _ in _SHOWN
                ],
                key=str(r["id"]),
            )
        if keep is not None and any(str(r["id"]) == keep for r in self.shown):
            table.move_cursor(row=table.get_row_index(keep))
        self._status()

    def _status(self) -> None:
        check = self.check
        text = Text(f"{len(self.shown)} of {len(self.rows)} calls   ")
        if check is None:
            text.append("chain not checked")
        elif check.ok:
            text.append("chain intact", style="bold green")
            text.append(f"   head {check.head}")
        else:
            text.append("CHAIN BROKEN: ", style="bold red")
            text.append_text(safe_cell(check.first_problem or "", max_cells=80))
        self.query_one("#journal-status", Static).update(text)

    @on(Input.Changed, "#journal-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._apply_filter()

    @on(Input.Submitted, "#journal-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_search(self) -> None:
        box = self.query_one("#journal-filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#journal-filter", Input)
        box.value = ""
        box.display = False
        self.table.focus()

    def action_verify(self) -> None:
        self._load()

    def action_undo(self) -> None:
        """The highlighted entry's reversible pair (block → unblock, admin flag, membership,
        runner pause), confirmed like any plan; irreversible entries say so."""
        table = self.table
        if not table.row_count:
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        if row_key.value is not None:
            self._undo(int(row_key.value))

    @work(thread=True, exclusive=True, group="journal-undo", exit_on_error=False)
    def _undo(self, entry_id: int) -> None:
        entry = self.ctx.store.journal_entry(entry_id)
        plan = undo_plan(entry) if entry is not None else None
        self.app.call_from_thread(self._offer_undo, entry, plan)

    def _offer_undo(self, entry: Any, plan: Plan | None) -> None:
        if plan is None:
            why = (
                "nothing was sent"
                if entry is not None and not_sent_word(entry.extra)
                else "only a verified (done) entry can be undone"
                if entry is not None and entry.state != "done"
                else irreversible_reason(entry.action)
                if entry is not None
                else "no such entry"
            )
            self.app.notify(f"No undo: {why}.", markup=False)
            return
        from screens.action_run import ActionRunScreen
        from screens.confirm_typed import TypedConfirmScreen

        def reload(_: object) -> None:
            self._load()

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.app.push_screen(ActionRunScreen(self.ctx, plan), reload)

        self.app.push_screen(
            TypedConfirmScreen(
                self.ctx,
                plan,
                f"Undo journal entry #{entry.id}: {plan.action.title}",
                "Reverses what the entry did; journaled and verified like any action.",
            ),
            confirmed,
        )

    def action_export(self) -> None:
        from screens.export_dialog import ExportDialog

        rows = [{c: r.get(c) for c in JOURNAL_COLUMNS} for r in self.shown]
        self.app.push_screen(ExportDialog(self.ctx, view=("journal", rows, JOURNAL_COLUMNS)))
