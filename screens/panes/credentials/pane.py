"""The Credentials pane: the rebuilt credentials inventory, with review marks.

The inventory loads in a thread worker (progress in the border title, ``x`` cancels) and is
cached in the store.  Rows can be narrowed by kind with quick keys, searched with ``/`` and sorted
with ``s``.  ``c`` marks a credential cleared (rotated or reviewed), ``f`` flags it; marks live in
the store as ``credential`` objects keyed ``"{kind}:{id}"``.  Every matching row is in the table;
the detail line under it shows the highlighted row's flags whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input
from textual.worker import get_current_worker

from console.audit import incident_window
from console.context import AppContext
from console.inventory import (
    KIND_LABELS,
    Credential,
    Inventory,
    InventoryProgress,
    SourceProblem,
    fetch_inventory,
)
from console.sanitize import clean
from console.store import Mark
from screens.modals.detail import DetailModal
from screens.panes.audit import short_time
from screens.panes.base import RecordPane
from screens.panes.credentials.model import (
    CACHE_KEY,
    COLUMNS,
    FILTER_GROUP,
    GROUP_KEYS,
    KIND_GROUPS,
    OBJECT_TYPE,
    SORT_KEYS,
    STATE_KEY,
    TOKEN_KINDS,
    CredentialsView,
    credential_cells,
    credential_detail_parts,
    flags_explanation,
    select_rows,
)
from screens.panes.sources import ListSource
from screens.safe import safe_cell, safe_text
from screens.widgets.virtual_table import CellRow, RowKey

__all__ = ["CredentialsPane"]


class CredentialsPane(RecordPane[CredentialsView]):
    """Every credential-like object on the instance, with flags and review marks."""

    STATE_KEY = STATE_KEY
    PREFIX = "cred"
    TITLE = "Credentials"
    COLUMNS = COLUMNS
    SEARCH_PLACEHOLDER = "search credentials (enter keeps it, escape closes)"
    EMPTY_TEXT = "No credentials"

    # Footer: enter (details), c/f, a, plus the app's ? and q. The help lists the rest.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "mark('cleared')", "Mark cleared (again: unmark)"),
        Binding("f", "mark('flagged')", "Flag suspicious (again: unmark)"),
        Binding("a", "actions", "Revoke/rotate"),
        Binding("s", "cycle_sort", "Sort by the next column", show=False),
        Binding("S", "reverse_sort", "Reverse the sort order", show=False),
        Binding("r", "reload", "Reload credentials from GitLab", show=False),
        Binding("x", "cancel_load", "Cancel loading", show=False),
        Binding("w", "toggle_warnings", "Only urgent rows", show=False, group=FILTER_GROUP),
        Binding("u", "toggle_unreviewed", "Only unreviewed rows", show=False, group=FILTER_GROUP),
        Binding("0", "clear_kinds", "All kinds", show=False, group=FILTER_GROUP),
        *(
            Binding(key, f"toggle_group('{group}')", f"Only {KIND_GROUPS[group][0]}",
                    show=False, group=FILTER_GROUP)
            for key, group in GROUP_KEYS
        ),
    ]

    class LoadProgressed(Message):
        """A source page arrived (coalesces: only the newest matters)."""

        def __init__(self, progress: InventoryProgress) -> None:
            super().__init__()
            self.progress = progress

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CredentialsPane.LoadProgressed)

    class InventoryLoaded(Message):
        """The inventory arrived from GitLab or the cache."""

        def __init__(self, inventory: Inventory, fetched_at: str | None, from_cache: bool) -> None:
            super().__init__()
            self.inventory = inventory
            self.fetched_at = fetched_at
            self.from_cache = from_cache

    class MarksLoaded(Message):
        """The credentials' review marks were read from the store."""

        def __init__(self, marks: dict[str, Mark]) -> None:
            super().__init__()
            self.marks = marks

    class MarkChanged(Message):
        """A credential was marked (or unmarked) by the responder."""

        def __init__(self, key: str, mark: str | None) -> None:
            super().__init__()
            self.key = key
            self.mark = mark

    def __init__(self, ctx: AppContext, *, load_on_mount: bool = True,
                 id: str | None = "credentials-pane") -> None:
        self.rows_source: ListSource[Credential, CredentialsView] = ListSource(
            lambda r: r.key, self._cells, select_rows)
        self.marks: dict[str, Mark] = {}
        super().__init__(ctx, self.rows_source, CredentialsView(marks=self.marks), id=id)
        self.load_on_mount = load_on_mount
        self.problems: list[SourceProblem] = []
        self.complete = True
        self.fetched_at: str | None = None

    # -- data views tests and the shell read -----------------------------------------------
    @property
    def rows(self) -> list[Credential]:
        return self.rows_source.items

    @property
    def shown(self) -> list[Credential]:
        """The rows matching the view, in display order (every one is in the table)."""
        return self.rows_source.matched

    @property
    def matching(self) -> int:
        return len(self.shown)

    @property
    def sort_key(self) -> str:
        return self.view.sort

    @property
    def descending(self) -> bool:
        return self.view.descending

    def on_mount(self) -> None:
        super().on_mount()
        if self.load_on_mount:
            self.start()

    def start(self) -> None:
        self._load_cached_or_fetch()

    # -- loading ---------------------------------------------------------------------------
    def window(self) -> tuple[datetime, datetime]:
        inc = self.ctx.incident
        return incident_window(inc.window_start, inc.window_end)

    @work(thread=True, group="cred-cache", exit_on_error=False)
    def _load_cached_or_fetch(self) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        self.post_message(self.MarksLoaded(self._read_marks()))
        cached = store.cache_get(incident_id, CACHE_KEY)
        if cached is not None and isinstance(cached[0], Mapping):
            value, fetched_at = cached
            rows = [Credential.from_dict(r) for r in value.get("rows", [])
                    if isinstance(r, Mapping)]
            inv = Inventory(rows, [], complete=bool(value.get("complete", True)))
            self.post_message(self.InventoryLoaded(inv, fetched_at, from_cache=True))
            return
        self.post_message(self.CacheMissed())

    def _read_marks(self) -> dict[str, Mark]:
        marks = self.ctx.store.marks(self.ctx.incident_id, OBJECT_TYPE)
        return {str(k): v for k, v in marks.items()}

    def action_reload(self) -> None:
        """Rebuild the inventory from GitLab (replaces any running load)."""
        self.loading = True
        self.set_title("loading…")
        self._fetch(self.window())

    @work(thread=True, exclusive=True, group="cred-load", exit_on_error=False)
    def _fetch(self, window: tuple[datetime, datetime]) -> None:
        worker = get_current_worker()
        cov = self.ctx.coverage
        is_admin = cov.is_admin if cov is not None else None

        def progressed(p: InventoryProgress) -> None:
            self.post_message(self.LoadProgressed(p))

        # Building the client can raise (config, TLS): the pane's worker handler shows it.
        inv = fetch_inventory(
            self.ctx.gitlab(), window, on_progress=progressed,
            cancelled=lambda: worker.is_cancelled, is_admin=is_admin,
            user_lookup=self._lookup_users,
        )
        fetched_at = None
        if inv.rows:
            try:
                fetched_at = self.ctx.store.cache_put(
                    self.ctx.incident_id, CACHE_KEY,
                    {"rows": [r.to_dict() for r in inv.rows], "complete": inv.complete},
                )
            except Exception as exc:  # keep what arrived; a silent failure left "loading…"
                from console.errors import describe_error

                inv.problems.append(SourceProblem("local cache", describe_error(exc)))
        self.post_message(self.InventoryLoaded(inv, fetched_at, from_cache=False))

    def _lookup_users(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Owner names and kinds from the users cache (runs in the worker thread)."""
        rows = self.ctx.store.users_by_ids(self.ctx.incident_id, list(ids))
        return {r.id: {"username": r.username, "user_type": r.user_type or r.kind,
                       "bot": r.kind == "bot"} for r in rows}

    def action_cancel_load(self) -> None:
        """Stop the running load; what arrived so far stays."""
        if self.loading:
            self.workers.cancel_group(self, "cred-load")
            self.set_title("cancelling…")

    @on(LoadProgressed)
    def _progressed(self, message: LoadProgressed) -> None:
        p = message.progress
        of = f"/{p.total}" if p.total else ""
        # Only our own words and numbers: the source names are fixed strings in inventory.py.
        self.set_title(f"loading {p.source} {p.done}{of}, {p.rows} rows (x cancels)")

    @on(InventoryLoaded)
    def _loaded(self, message: InventoryLoaded) -> None:
        inv = message.inventory
        self.loading = False
        self.problems = list(inv.problems)
        self.complete = inv.complete
        if inv.rows or not inv.problems:
            self.rows_source.replace(inv.rows)
            self.fetched_at = message.fetched_at
        self.problem_box.show_sources([(sp.source, sp.problem) for sp in self.problems])
        self.refresh_rows()

    @on(MarksLoaded)
    def _marks_loaded(self, message: MarksLoaded) -> None:
        self.marks.clear()
        self.marks.update(message.marks)
        self.rows_source.forget()
        if self.rows:
            self.refresh_rows()

    # -- filters, search, sort -------------------------------------------------------------
    def search_of(self, view: CredentialsView) -> str:
        return view.search

    def with_search(self, view: CredentialsView, text: str) -> CredentialsView:
        return replace(view, search=text)

    def is_filtered(self, view: CredentialsView) -> bool:
        return bool(view.groups or view.only_warnings or view.only_unreviewed)

    def without_filters(self, view: CredentialsView) -> CredentialsView:
        return replace(view, groups=frozenset(), only_warnings=False, only_unreviewed=False)

    def source_has_rows(self) -> bool:
        return bool(self.rows)

    def matches(self, row: Credential) -> bool:
        """Whether ``row`` is in the current view (screens.export_views exports those)."""
        return self.view.matches(row)

    def action_toggle_group(self, group: str) -> None:
        on_now = group not in self.view.groups
        groups = self.view.groups ^ {group}
        sign = "+" if on_now else "−"
        self.set_view(replace(self.view, groups=groups), note=f"{sign} {KIND_GROUPS[group][0]}")

    def action_clear_kinds(self) -> None:
        self.set_view(replace(self.view, groups=frozenset()), note="all kinds")

    def action_toggle_warnings(self) -> None:
        on_now = not self.view.only_warnings
        self.set_view(replace(self.view, only_warnings=on_now),
                      note="only urgent rows" if on_now else "urgent filter off")

    def action_toggle_unreviewed(self) -> None:
        on_now = not self.view.only_unreviewed
        self.set_view(replace(self.view, only_unreviewed=on_now),
                      note="only unreviewed rows" if on_now else "unreviewed filter off")

    def action_cycle_sort(self) -> None:
        sort = SORT_KEYS[(SORT_KEYS.index(self.view.sort) + 1) % len(SORT_KEYS)]
        descending = sort in ("created", "last_used", "flags")
        self.set_view(replace(self.view, sort=sort, descending=descending),
                      note=f"sorted by {sort}")

    def action_reverse_sort(self) -> None:
        self.set_view(replace(self.view, descending=not self.view.descending),
                      note="order reversed")

    # -- marks -----------------------------------------------------------------------------
    def action_mark(self, mark: str) -> None:
        """Mark the highlighted credential; the same mark again removes it."""
        row = self.selected_row()
        if row is None:
            return
        current = self.marks.get(row.key)
        new = None if current is not None and current.mark == mark else mark
        if new is None:
            self.marks.pop(row.key, None)
        else:
            self.marks[row.key] = Mark(OBJECT_TYPE, row.key, new, None,
                                       datetime.now(UTC).isoformat(timespec="seconds"))
        self._write_mark(row.key, new)
        self.rows_source.forget([row.key])
        self.table.invalidate([row.key])
        self.post_message(self.MarkChanged(row.key, new))
        if self.view.only_unreviewed and new:
            self.refresh_rows()
        else:
            self.render_bar()

    @work(thread=True, group="cred-marks", exit_on_error=False)
    def _write_mark(self, key: str, mark: str | None) -> None:
        self.ctx.store.set_mark(self.ctx.incident_id, OBJECT_TYPE, key, mark)

    # -- rendering -------------------------------------------------------------------------
    def _cells(self, r: Credential) -> CellRow:
        return credential_cells(r, self.marks.get(r.key))

    def selected_key(self) -> str | None:
        key = self.table.cursor_key
        return key if isinstance(key, str) else None

    def selected_row(self) -> Credential | None:
        return self.rows_source.item(self.selected_key())

    def bar(self) -> Text:
        v = self.view
        bar = Text(end="")
        bar.append(f"{len(self.shown):,} of {len(self.rows):,}", style="bold")
        reviewed = sum(1 for r in self.rows if (m := self.marks.get(r.key)) and m.mark)
        bar.append(f"  reviewed {reviewed}")
        bar.append(f"  sort: {v.sort}{' ↓' if v.descending else ' ↑'}")
        if v.groups:
            bar.append("  kinds: ", style="bold")
            bar.append(", ".join(KIND_GROUPS[g][0] for g in sorted(v.groups)))
        if v.only_warnings:
            bar.append("  only urgent rows", style="bold")
        if v.only_unreviewed:
            bar.append("  only unreviewed", style="bold")
        if v.search:
            bar.append("  search: ", style="bold")
            bar.append_text(safe_cell(v.search, max_cells=30))
        if not (self.is_filtered(v) or v.search):
            bar.append("  / search · ? lists the filter keys", style="dim")
        return bar

    def title_status(self) -> str:
        status = f"{len(self.rows)} credentials"
        if self.fetched_at:
            status += f", fetched {short_time(self.fetched_at)}"
        if not self.complete:
            failed = len(self.problems)
            status += f" (partial: {failed} source{'s' if failed != 1 else ''} failed)"
        return status

    def explain(self, key: RowKey) -> Text | None:
        row = self.rows_source.item(key)
        return None if row is None else flags_explanation(row)

    # -- detail and actions ----------------------------------------------------------------
    def action_open(self) -> None:
        """Open the highlighted credential's details."""
        row = self.selected_row()
        if row is not None:
            title = f"{KIND_LABELS.get(row.kind, row.kind)} {safe_text(row.id).plain}"
            self.app.push_screen(DetailModal(
                clean(title, kind="line", max_cells=60).text,
                credential_detail_parts(row, self.marks.get(row.key)),
            ))

    def action_actions(self) -> None:
        """Revoke or rotate the highlighted personal access token (journaled and verified)."""
        row = self.selected_row()
        if row is None:
            return
        if row.kind not in TOKEN_KINDS:
            hint = clean(row.rotate_hint, kind="line").text
            self.notify(f"No console action for this kind yet. {hint}", markup=False)
            return
        from screens.actions_menu import open_token_actions_menu

        token = {
            "id": row.id,
            "name": row.name,
            "user_id": row.owner_id,
            "scopes": list(row.scopes),
            "active": row.state == "active",
            "revoked": row.state == "revoked",
            "impersonation": row.kind == "impersonation",
        }
        open_token_actions_menu(self.app, self.ctx, [token])

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
