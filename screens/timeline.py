"""The timeline screen: audit events, the responder's actions and notes on one time axis.

A histogram per day (``h``: per hour) on top shows a burst of attacker activity before it is
read; the table below lists every item, oldest first. ``1`` / ``2`` / ``3`` show or hide events,
actions and notes, ``n`` adds a note on the incident and ``N`` one on the highlighted event (or
the user or token an action targeted), ``e`` exports the shown rows, ``escape`` closes. The
model is :mod:`console.timeline` (built in a thread worker).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static

from console.timeline import TimelineItem, build_timeline, histogram
from screens.safe import safe_cell
from styles import stylesheet

__all__ = ["NoteDialog", "TimelineScreen"]

_KINDS = ("event", "action", "note")


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
        items: list[TimelineItem]

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.items: list[TimelineItem] = []
        self.shown: list[TimelineItem] = []
        self.kinds: set[str] = set(_KINDS)
        self.bucket: str = "day"

    def compose(self) -> ComposeResult:
        yield Static("building the timeline…", id="timeline-status")
        yield Static("", id="timeline-histogram")
        yield DataTable(id="timeline-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (
            ("when", "Time (UTC)"),
            ("kind", "Kind"),
            ("who", "Who"),
            ("what", "What"),
        ):
            table.add_column(label, key=key)
        self._build()

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def _build(self) -> None:
        self.post_message(self.Built(build_timeline(self.ctx.store, self.ctx.incident)))

    @on(Built)
    def _built(self, message: Built) -> None:
        self.items = message.items
        self._render_all()

    def _render_all(self) -> None:
        self.shown = [i for i in self.items if i.kind in self.kinds]
        lines = histogram(self.shown, "hour" if self.bucket == "hour" else "day", width=40)
        self.query_one("#timeline-histogram", Static).update(Text("\n".join(lines)))
        table = self.query_one(DataTable)
        table.clear()
        for n, item in enumerate(self.shown):
            table.add_row(
                Text(item.when[:19].replace("T", " ")),
                Text(item.kind),
                safe_cell(item.who, max_cells=24),
                safe_cell(item.what, max_cells=120),
                key=f"{n}:{item.ref}",
            )
        kinds = ", ".join(k + "s" for k in _KINDS if k in self.kinds) or "nothing"
        self.query_one("#timeline-status", Static).update(
            Text(
                f"{len(self.shown)} of {len(self.items)} items ({kinds}), per {self.bucket}    "
                "h day/hour  1 2 3 kinds  n/N note  e export"
            )
        )

    def action_toggle_bucket(self) -> None:
        self.bucket = "hour" if self.bucket == "day" else "day"
        self._render_all()

    def action_toggle_kind(self, kind: str) -> None:
        self.kinds ^= {kind}
        self._render_all()

    def action_note(self) -> None:
        iid = int(self.ctx.incident.id)
        self._ask_note("incident", iid, f"incident #{iid}")

    def action_note_on_row(self) -> None:
        """A note on the highlighted event, or on the user or token an action targeted."""
        table = self.query_one(DataTable)
        row = table.cursor_row
        if not self.shown or not 0 <= row < len(self.shown):
            return
        kind, _, ident = self.shown[row].ref.partition(":")
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
        self.app.call_from_thread(self._build)

    def action_export(self) -> None:
        from screens.export_dialog import ExportDialog

        rows = [
            {"when": i.when, "kind": i.kind, "who": i.who, "what": i.what, "ref": i.ref}
            for i in self.shown
        ]
        self.app.push_screen(
            ExportDialog(self.ctx, view=("timeline", rows, ("when", "kind", "who", "what", "ref")))
        )

    def action_close(self) -> None:
        self.dismiss(None)
