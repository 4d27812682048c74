"""The export dialog: the incident's evidence bundle, or the current view as CSV / JSON Lines.

Bundle mode asks for a new directory and an optional SSH key to sign the manifest; view mode
(``view=(name, rows, columns)``, a pane's rows after its filters) asks for a file whose
extension picks the format (``.csv`` or ``.jsonl``). The writing runs in a thread worker; rows
given as a function are read there (a large view streams from the store in batches) and the
dialog counts the rows written as it goes, then shows the result (the journal head to paste
into the ticket) or the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from styles import stylesheet

__all__ = ["ExportDialog", "default_target"]

#: (name, rows or a function that reads them (run in the worker), columns)
View = tuple[
    str,
    Sequence[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]],
    Sequence[str],
]


def default_target(incident_id: int, name: str | None, now: datetime) -> Path:
    """``~/incident-3-20260105-1412`` (bundle) or ``~/incident-3-users-20260105-1412.csv``.

    ``now`` is GitLab's time, like every time inside the export."""
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    if name is None:
        return Path.home() / f"incident-{incident_id}-{stamp}"
    return Path.home() / f"incident-{incident_id}-{name}-{stamp}.csv"


class ExportDialog(ModalScreen[Path | None]):
    """Dismisses with the written path, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    CSS_PATH = stylesheet("handoff.tcss")

    def __init__(self, ctx: Any, *, view: View | None = None) -> None:
        super().__init__(classes="handoff-dialog")
        self.ctx = ctx
        self.view = view
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        iid = int(self.ctx.incident.id)
        now = self.ctx.clock.now()  # GitLab's time, like every time inside the export
        with Vertical(classes="handoff-box"):
            if self.view is None:
                yield Static(
                    Text(f"Export the evidence bundle of incident #{iid}"), id="export-title"
                )
                yield Input(
                    value=str(default_target(iid, None, now)),
                    id="export-path",
                    placeholder="a new directory",
                )
                yield Input(
                    placeholder="SSH private key to sign the manifest (optional)", id="export-key"
                )
            else:
                name, rows, _ = self.view
                size = "" if callable(rows) else f" ({len(rows)} rows)"
                yield Static(
                    Text(f"Export the {name} view{size}: .csv or .jsonl"), id="export-title"
                )
                yield Input(
                    value=str(default_target(iid, name, now)),
                    id="export-path",
                    placeholder="a new file ending in .csv or .jsonl",
                )
            yield Static("", id="export-result")
            yield Static(Text("enter: export    escape: close"), classes="handoff-hint")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#export-result", Static).update(Text(text, style=style))

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        if self.written is not None:
            self.dismiss(self.written)
            return
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self._say("Give a path.", "bold red")
            return
        path = Path(raw).expanduser()
        key: Path | None = None
        if self.view is None:
            key_text = self.query_one("#export-key", Input).value.strip()
            key = Path(key_text).expanduser() if key_text else None
        elif path.suffix not in (".csv", ".jsonl"):
            self._say("The file name must end in .csv or .jsonl.", "bold red")
            return
        self._say("writing…")
        self._write(path, key)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _write(self, path: Path, key: Path | None) -> None:
        from console.export import BundleError, SigningError, export_bundle, export_view

        try:
            if self.view is None:
                manifest = export_bundle(self.ctx.store, self.ctx.incident, path, sign_key=key)
                message = (
                    f"Bundle written to {path} ({len(manifest['files'])} files, "
                    f"read-only{', signed' if key else ''}).\nJournal head: "
                    f"{manifest['journal_head']}\nenter closes."
                )
            else:
                _, rows, columns = self.view
                count = export_view(
                    rows() if callable(rows) else rows,
                    columns,
                    path,
                    "csv" if path.suffix == ".csv" else "jsonl",
                    progress=lambda n: self.app.call_from_thread(self._say, f"writing… {n:,} rows"),
                )
                message = f"{count} rows written to {path}.\nenter closes."
        except FileExistsError:
            self.app.call_from_thread(self._say, f"{path} exists: choose a new name.", "bold red")
            return
        except (BundleError, SigningError, OSError) as exc:
            from console.sanitize import safe

            self.app.call_from_thread(self._say, safe(str(exc), kind="line"), "bold red")
            return
        self.app.call_from_thread(self._done, path, message)

    def _done(self, path: Path, message: str) -> None:
        self.written = path
        self._say(message, "bold green")

    def action_cancel(self) -> None:
        self.dismiss(self.written)
