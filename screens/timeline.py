"""The timeline screen: audit events, the responder's actions and notes on one time axis.

A histogram per day (``h``: per hour) on top shows a burst of attacker activity before it is
read; the table below lists every item, oldest first. ``1`` / ``2`` / ``3`` show or hide events,
actions and notes, ``n`` adds a note on the incident and ``N`` one on the highlighted event (or
the user or token an action targeted), ``e`` exports the shown rows, ``escape`` closes.

The model is :mod:`console.timeline_sources`: the histogram is counted in SQL and the table is a
:class:`~screens.widgets.virtual_table.VirtualTable` over the store, which reads only the
windows of rows about to be painted; a million stored events are never one list here. Counts
and the histogram are computed in a thread worker.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from console.store import TimelineKey
from console.timeline import Bucket
from console.timeline_sources import Timeline, open_timeline
from screens.modals.detail import DetailModal, field_line
from screens.safe import safe_cell
from screens.widgets.virtual_table import CellRow, Column, RowKey, VirtualTable
from styles import stylesheet

__all__ = ["NoteDialog", "TimelineScreen"]

_KINDS = ("event", "action", "note")
_COLUMNS = (
    Column("when", "Time (UTC)", 19),
    Column("kind", "Kind", 6),
    Column("who", "Who", 14, priority=1, flex=1),
    Column("what", "What", 30, flex=4),
)
_EXPORT_COLUMNS = ("when", "kind", "who", "what", "ref")


class NoteDialog(ModalScreen[tuple[str, str] | None]):
    """Ask for a note and its author; dismisses with (author, text)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    CSS_PATH = stylesheet("handoff.tcss")

    def __init__(self, about: str) -> None:
        super().__init__(classes="handoff-dialog")
        self._about = about

    def compose(self) -> ComposeResult:
        try:
            who = getpass.getuser()
        except Exception:
            who = ""
        with Vertical(classes="handoff-box"):
            yield Static(Text(f"Note on {self._about}"))
            yield Input(value=who, placeholder="Who", id="note-author", max_length=80)
            yield Input(
                placeholder="What happened, what you found", id="note-text", max_length=2000
            )
            yield Static(Text("enter: save    escape: cancel"), classes="handoff-hint")

    def on_mount(self) -> None:
        self.query_one("#note-text", Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        author = self.query_one("#note-author", Input).value.strip()
        text = self.query_one("#note-text", Input).value.strip()
        if author and text:
            self.dismiss((author, text))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TimelineScreen(Screen[None]):
    """``ctx`` needs ``store`` and ``incident``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("h", "toggle_bucket", "Day/hour"),
        Binding("1", "toggle_kind('event')", "Events"),
        Binding("2", "toggle_kind('action')", "Actions"),
        Binding("3", "toggle_kind('note')", "Notes"),
        Binding("n", "note", "Note on the incident"),
        Binding("N", "note_on_row", "Note on the highlighted event or target"),
        Binding("e", "export", "Export"),
    ]
    CSS_PATH = stylesheet("handoff.tcss")

    @dataclass
    class Built(Message):
        """The timeline was counted: its rows' keys and histogram for the kinds shown."""

        timeline: Timeline
        counts: dict[str, int]
        keys: Sequence[TimelineKey]
        histogram: list[str]
        kinds: frozenset[str]
        bucket: str

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.timeline: Timeline | None = None
        self.counts: dict[str, int] = {}
        self.keys: Sequence[TimelineKey] = ()
        self.kinds: set[str] = set(_KINDS)
        self.bucket: str = "day"

    def compose(self) -> ComposeResult:
        yield Static("building the timeline…", id="timeline-status")
        yield Static("", id="timeline-histogram")
        yield VirtualTable(
            _COLUMNS, self._cells, id="timeline-table", empty_text="Nothing yet", selectable=False
        )
        yield Footer(compact=True)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#timeline-table", VirtualTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._build()

    def _build(self, *, reopen: bool = False) -> None:
        self._count(frozenset(self.kinds), "hour" if self.bucket == "hour" else "day", reopen)

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def _count(self, kinds: frozenset[str], bucket: Bucket, reopen: bool) -> None:
        timeline = self.timeline
        if timeline is None or reopen:
            timeline = open_timeline(self.ctx.store, self.ctx.incident)
        counts = timeline.kind_counts()
        keys = timeline.keys(kinds, sum(n for k, n in counts.items() if k in kinds))
        lines = timeline.histogram(kinds, bucket, 40)
        self.post_message(self.Built(timeline, counts, keys, lines, kinds, bucket))

    @on(Built)
    def _built(self, message: Built) -> None:
        if message.kinds != self.kinds or message.bucket != self.bucket:
            return  # a count overtaken by a newer toggle (its worker finishes regardless)
        self.timeline = message.timeline
        self.counts = message.counts
        self.keys = message.keys
        self.query_one("#timeline-histogram", Static).update(Text("\n".join(message.histogram)))
        self.table.set_rows(message.keys)
        kinds = ", ".join(k + "s" for k in _KINDS if k in self.kinds) or "nothing"
        self.query_one("#timeline-status", Static).update(
            Text(
                f"{len(message.keys):,} of {sum(self.counts.values()):,} items ({kinds}), "
                f"per {self.bucket}    h day/hour  1 2 3 kinds  n/N note  e export"
            )
        )

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A failed count or note is said on the status line (and in a toast), never a crash."""
        if event.state is not WorkerState.ERROR or not isinstance(event.worker.error, Exception):
            return
        event.stop()
        from console.errors import describe_error
        from console.sanitize import safe

        line = safe(describe_error(event.worker.error).one_line(), kind="line", max_cells=200)
        self.query_one("#timeline-status", Static).update(Text(f"timeline: {line}"))
        self.notify(line, markup=False, severity="error", timeout=10)

    def _cells(self, keys: Sequence[RowKey]) -> dict[RowKey, CellRow]:
        """One page of rows (a primary-key lookup per kind), as sanitised cells."""
        if self.timeline is None:
            return {}
        wanted = [k for k in keys if isinstance(k, tuple)]
        out: dict[RowKey, CellRow] = {}
        for key, item in self.timeline.rows(wanted).items():
            out[key] = {
                "when": Text(item.when[:19].replace("T", " ")),
                "kind": Text(item.kind),
                "who": safe_cell(item.who, max_cells=24),
                "what": safe_cell(item.what, max_cells=120),
            }
        return out

    @on(VirtualTable.RowSelected, "#timeline-table")
    def _open_row(self, event: VirtualTable.RowSelected) -> None:
        """Enter shows the whole row: a long event line is cut in the table."""
        key = event.row_key
        if self.timeline is None or not isinstance(key, tuple):
            return
        item = self.timeline.rows([key]).get(key)
        if item is None:
            return
        parts: list[RenderableType] = [
            field_line("When (UTC)", item.when),
            field_line("Kind", item.kind),
            field_line("Who", item.who),
            field_line("What", item.what, kind="text"),
            field_line("Reference", item.ref),
        ]
        self.app.push_screen(DetailModal(f"Timeline: {item.kind}", parts))

    def action_toggle_bucket(self) -> None:
        self.bucket = "hour" if self.bucket == "day" else "day"
        self._build()

    def action_toggle_kind(self, kind: str) -> None:
        self.kinds ^= {kind}
        self._build()

    def action_note(self) -> None:
        iid = int(self.ctx.incident.id)
        self._ask_note("incident", iid, f"incident #{iid}")

    def action_note_on_row(self) -> None:
        """A note on the highlighted event, or on the user or token an action targeted."""
        key = self.table.cursor_key
        if self.timeline is None or not isinstance(key, tuple):
            return
        item = self.timeline.rows([key]).get(key)
        if item is None:
            return
        kind, _, ident = item.ref.partition(":")
        if kind == "event":
            self._ask_note("event", ident, f"audit event {ident}")
        elif kind == "journal":
            entry = self.ctx.store.journal_entry(int(ident))
            if entry is None:
                return
            if entry.target_type == "token":
                self._ask_note(
                    "credential",
                    f"pat:{entry.target_id}",
                    f"token {entry.target_label or entry.target_id}",
                )
            else:
                self._ask_note(
                    "user", entry.target_id, f"user {entry.target_label or entry.target_id}"
                )
        else:
            self.notify("Notes are about events, users, tokens or the incident.", markup=False)

    def _ask_note(self, object_type: str, object_id: int | str, about: str) -> None:
        def save(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._add_note(object_type, object_id, *result)

        self.app.push_screen(NoteDialog(about), save)

    @work(thread=True, group="timeline-note", exit_on_error=False)
    def _add_note(self, object_type: str, object_id: int | str, author: str, text: str) -> None:
        self.ctx.store.add_note(int(self.ctx.incident.id), object_type, object_id, text, author)
        self.app.call_from_thread(self._build, reopen=True)

    def action_export(self) -> None:
        """The rows shown, streamed from the store in the dialog's worker (never one list)."""
        from screens.export_dialog import ExportDialog

        timeline = self.timeline
        if timeline is None:
            return
        kinds = frozenset(self.kinds)

        def rows() -> Iterator[dict[str, Any]]:
            for i in timeline.iter_items(kinds):
                yield {"when": i.when, "kind": i.kind, "who": i.who, "what": i.what, "ref": i.ref}

        self.app.push_screen(ExportDialog(self.ctx, view=("timeline", rows, _EXPORT_COLUMNS)))

    def action_close(self) -> None:
        self.dismiss(None)
