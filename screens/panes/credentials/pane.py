"""The Credentials pane: the credentials inventory in the store, with review marks.

Rows live in the incident's ``credentials`` table; the pane's ``VirtualTable`` reads ordered keys
for the view (filters, search and sort in SQL, in a worker: typing never waits) and then only the
rows on screen. ``r`` reloads from GitLab, ``K`` sweeps every user's SSH and GPG keys (``x``
cancels either; both resume), ``A`` shows a credential's audit events. ``c``/``f`` mark a row;
``space`` puts rows of any kind on the rotation worksheet and ``a`` rotates them in one run.
The title says "partial" with the failed sources' names, and "stale" when the rows shown are
the cached ones of an earlier load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.widgets import Input

from console.context import AppContext
from console.crosslink import event_target
from console.inventory import KIND_LABELS, Credential, SourceProblem
from console.sanitize import clean
from console.store import Mark
from screens.leaked_token import open_leaked_token
from screens.messages import EventsForTarget
from screens.modals.detail import DetailModal
from screens.panes.audit import short_time
from screens.panes.credentials import messages as m
from screens.panes.credentials.filters import CredentialsFilters
from screens.panes.credentials.load_results import LoadResults
from screens.panes.credentials.model import (
    COLUMNS,
    FILTER_GROUP,
    GROUP_KEYS,
    KIND_GROUPS,
    OBJECT_TYPE,
    STATE_KEY,
    CredentialsView,
    credential_cells,
    credential_detail_parts,
    flags_explanation,
)
from screens.panes.credentials.sheet import WorksheetMixin
from screens.panes.credentials.source import SqlCredentialSource
from screens.safe import safe_cell, safe_text
from screens.widgets.virtual_table import CellRow, RowKey

__all__ = ["CredentialsPane"]


class CredentialsPane(WorksheetMixin, CredentialsFilters, LoadResults):
    """Every credential-like object on the instance, with flags, review marks and a worksheet."""

    STATE_KEY = STATE_KEY
    PREFIX = "cred"
    TITLE = "Credentials"
    COLUMNS = COLUMNS
    SEARCH_PLACEHOLDER = "search credentials (enter keeps it, escape closes)"
    EMPTY_TEXT = "No credentials"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "mark('cleared')", "Mark cleared (again: unmark)"),
        Binding("f", "mark('flagged')", "Flag suspicious (again: unmark)"),
        Binding("a", "actions", "Rotate the selection (worksheet)"),
        Binding("A", "show_events", "Audit events of this credential", show=False),
        Binding("K", "sweep_keys", "Fetch every user's SSH and GPG keys", show=False),
        Binding("L", "leaked_token", "Identify a leaked token (pasted, never stored)", show=False),
        Binding("s", "cycle_sort", "Sort by the next column", show=False),
        Binding("S", "reverse_sort", "Reverse the sort order", show=False),
        Binding("r", "reload", "Reload credentials from GitLab", show=False),
        Binding("x", "cancel_load", "Cancel loading or the key sweep", show=False),
        Binding("w", "toggle_warnings", "Only urgent rows", show=False, group=FILTER_GROUP),
        Binding("u", "toggle_unreviewed", "Only unreviewed rows", show=False, group=FILTER_GROUP),
        Binding(
            "l",
            "toggle_crosslinked",
            "Only rows the audit log cross-links",
            show=False,
            group=FILTER_GROUP,
        ),
        Binding("0", "clear_kinds", "All kinds", show=False, group=FILTER_GROUP),
        *(
            Binding(
                key,
                f"toggle_group('{group}')",
                f"Only {KIND_GROUPS[group][0]}",
                show=False,
                group=FILTER_GROUP,
            )
            for key, group in GROUP_KEYS
        ),
    ]

    MarkChanged = m.MarkChanged

    def __init__(
        self, ctx: AppContext, *, load_on_mount: bool = True, id: str | None = "credentials-pane"
    ) -> None:
        self.rows_source = SqlCredentialSource(ctx, self._cells)
        self.marks: dict[str, Mark] = {}
        super().__init__(ctx, self.rows_source, CredentialsView(marks=self.marks), id=id)
        self.load_on_mount = load_on_mount
        self.failed_sources: list[str] = []
        self.problems: list[SourceProblem] = []
        self.fetched_at: str | None = None
        self.from_cache = True
        self.total = 0
        self.reviewed = 0
        self.sweeping = False
        self.sweep_status = ""
        self.crosslinked = 0
        self.init_worksheet()

    # -- views tests, export and the shell read --------------------------------------------
    @property
    def shown_keys(self) -> list[str]:
        return [str(k) for k in self.table.keys]

    @property
    def matching(self) -> int:
        return self.table.row_count

    @property
    def held(self) -> int:
        """Rows the source holds in memory (a few screens' worth, whatever the total)."""
        return self.rows_source.held

    @property
    def rows(self) -> list[Credential]:
        """Every stored row (the export reads it; the table never does)."""
        return self.rows_source.items(self.ctx.store.credential_keys(self.ctx.incident_id))

    @property
    def shown(self) -> list[Credential]:
        """The rows matching the view, in display order (read from the store on demand)."""
        return self.rows_source.items(self.table.keys)

    @property
    def sort_key(self) -> str:
        return self.view.sort

    @property
    def descending(self) -> bool:
        return self.view.descending

    def source_items(self, keys: Sequence[RowKey]) -> list[Credential]:
        return self.rows_source.items(keys)

    def rows_source_forget(self) -> None:
        self.rows_source.forget()

    def matches(self, row: Credential) -> bool:
        """Whether ``row`` is in the current view (screens.export_views exports those)."""
        return self.view.matches(row)

    def on_mount(self) -> None:
        super().on_mount()
        if self.load_on_mount:
            self.start()

    def start(self) -> None:
        self._read_store()

    def subscribe_marks(self, signal: Signal[int]) -> None:
        """Recompute cross-links when a user's review mark is saved (the users pane's Signal)."""
        signal.subscribe(self, lambda _user_id: self.recompute_crosslinks())

    def recompute_crosslinks(self) -> None:
        """Merge the audit log's reasons into the rows again (events or marks changed)."""
        if self.is_mounted:
            self._crosslink_worker()

    def select_exposure(self, user_id: int, username: str) -> None:
        """Select everything ``user_id`` could see (from the dossier), ready for the worksheet."""
        self.set_title(f"finding what user #{user_id} could see…")
        self._exposure_worker(user_id, username)

    @on(m.ExposureFound)
    def _exposure_found(self, message: m.ExposureFound) -> None:
        label = f"could be seen by @{message.username}: {len(message.keys)}"
        if message.added:
            label += f" ({message.added} not in the inventory yet, added)"
        self.rows_source.forget()
        self.set_view(
            replace(
                self.without_filters(self.view), keys=frozenset(message.keys), keys_label=label
            ),
            note="everything the user could see",
        )
        self.chosen = {}
        self.choose(message.keys)

    # -- leaked token (loads and their results: load_results.py) ---------------------------
    def action_leaked_token(self) -> None:
        """``L``: paste a token found in a log or chat; GitLab says whose it is."""
        open_leaked_token(self.app, self.ctx)

    # -- marks -----------------------------------------------------------------------------
    def action_mark(self, mark: str) -> None:
        """Mark the highlighted credential; the same mark again removes it."""
        key = self.selected_key()
        if key is None:
            return
        current = self.marks.get(key)
        new = None if current is not None and current.mark == mark else mark
        if new is None:
            self.marks.pop(key, None)
        else:
            self.marks[key] = Mark(
                OBJECT_TYPE, key, new, None, datetime.now(UTC).isoformat(timespec="seconds")
            )
        self._write_mark(key, new)
        self.rows_source.forget([key])
        self.table.invalidate([key])
        self.post_message(m.MarkChanged(key, new))

    @work(thread=True, group="cred-marks", exit_on_error=False)
    def _write_mark(self, key: str, mark: str | None) -> None:
        self.ctx.store.set_mark(self.ctx.incident_id, OBJECT_TYPE, key, mark)
        self.post_message(m.MarkWritten(key))

    @on(m.MarkWritten)
    def _mark_written(self, message: m.MarkWritten) -> None:
        self.refresh_rows()  # the reviewed count, and the unreviewed filter drops the row

    # -- rendering -------------------------------------------------------------------------
    def _cells(self, r: Credential) -> CellRow:
        return credential_cells(r, self.marks.get(r.key), self.outcomes.get(r.key, ""))

    def selected_key(self) -> str | None:
        key = self.table.cursor_key
        return key if isinstance(key, str) else None

    def selected_row(self) -> Credential | None:
        return self.rows_source.item(self.selected_key())

    def bar(self) -> Text:
        v = self.view
        bar = Text(end="")
        bar.append(f"{self.table.row_count:,} of {self.total:,}", style="bold")
        bar.append(f"  reviewed {self.reviewed:,}")
        if self.chosen:
            bar.append(f"  {len(self.chosen):,} selected (a rotates)", style="bold")
        sheet = self.worksheet_text()
        if sheet:
            bar.append(f"  {sheet}", style="bold")
        bar.append(f"  sort: {v.sort}{' ↓' if v.descending else ' ↑'}")
        if v.keys:
            bar.append("  ")
            bar.append_text(safe_cell(v.keys_label or "chosen rows", max_cells=40))
        if v.groups:
            bar.append("  kinds: ", style="bold")
            bar.append(", ".join(KIND_GROUPS[g][0] for g in sorted(v.groups)))
        for on_now, label in (
            (v.only_warnings, "only urgent rows"),
            (v.only_unreviewed, "only unreviewed"),
            (v.only_crosslinked, "only cross-linked"),
        ):
            if on_now:
                bar.append(f"  {label}", style="bold")
        if v.search:
            bar.append("  search: ", style="bold")
            bar.append_text(safe_cell(v.search, max_cells=30))
        if not (self.is_filtered(v) or v.search):
            bar.append("  / search · ? lists the filter keys", style="dim")
        return bar

    def title_status(self) -> str:
        status = f"{self.total:,} credentials"
        if self.fetched_at:
            when = short_time(self.fetched_at)
            status += f", stale, fetched {when}" if self.from_cache else f", fetched {when}"
        if self.failed_sources:
            # Source names are the inventory's own fixed words, never server text.
            status += f" (partial: {', '.join(self.failed_sources)} failed)"
        if self.sweep_status:
            status += f" · {self.sweep_status}"
        return status

    def explain(self, key: RowKey) -> Text | None:
        row = self.rows_source.item(key)
        if row is None:
            return None
        text = flags_explanation(row)
        outcome = self.outcomes.get(row.key)
        if outcome:  # the Sheet column is cut first at 80 columns: the outcome stays readable
            text.append(f"  Worksheet: {outcome}", style="bold")
        return text

    # -- detail, events --------------------------------------------------------------------
    def action_open(self) -> None:
        """Open the highlighted credential's details."""
        row = self.selected_row()
        if row is not None:
            title = f"{KIND_LABELS.get(row.kind, row.kind)} {safe_text(row.id).plain}"
            self.app.push_screen(
                DetailModal(
                    clean(title, kind="line", max_cells=60).text,
                    credential_detail_parts(row, self.marks.get(row.key)),
                )
            )

    def action_show_events(self) -> None:
        """The audit events whose target is the highlighted credential."""
        row = self.selected_row()
        target = None if row is None else event_target(row.to_dict())
        if row is None or target is None:
            self.notify("The audit log does not name this kind of credential.", markup=False)
            return
        self.post_message(EventsForTarget(target[0], target[1], row.name))

    # -- resume ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {**self.view.to_state(), "selected": self.selected_key()}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.restore_cursor(state, "selected")
        view = CredentialsView.from_state(state, self.marks)
        box = self.search_box if self.is_mounted else None
        if box is not None:
            with box.prevent(Input.Changed):
                box.value = view.search
            box.display = bool(view.search)
        self.set_view(view, save=False)
