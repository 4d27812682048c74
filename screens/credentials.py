"""The Credentials pane: the rebuilt credentials inventory, with review marks.

The inventory loads in a thread worker (progress in the border title, ``x`` cancels) and is
cached in the store. Rows can be narrowed by kind with quick keys, searched with ``/`` and sorted
with ``o``. ``c`` marks a credential cleared (rotated or reviewed), ``f`` flags it; marks live in
the store as ``credential`` objects keyed ``"{kind}:{id}"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import get_current_worker

from console.audit import incident_window, parse_time
from console.context import AppContext
from console.inventory import (
    KIND_LABELS,
    KIND_ORDER,
    Credential,
    Inventory,
    InventoryProgress,
    SourceProblem,
    fetch_inventory,
)
from console.sanitize import clean
from console.store import Mark
from screens.audit import DetailModal, field_line, short_time
from screens.pane_state import MAX_TABLE_ROWS, SavesPaneState
from screens.safe import WARN_STYLE, safe_cell, safe_text
from screens.widgets.fitted import DetailTable, FittedColumns
from screens.widgets.search_input import SearchInput
from screens.widgets.virtual_table import Column

__all__ = ["KIND_GROUPS", "SORT_KEYS", "CredentialsPane"]

CACHE_KEY = "inventory"
STATE_KEY = "credentials"
OBJECT_TYPE = "credential"

# Personal-access-token rows the token actions (revoke, rotate) apply to.
TOKEN_KINDS = frozenset({"pat", "impersonation", "bot_token", "service_token"})
# Kinds that can carry an expiry date: no date means it never expires.
EXPIRING_KINDS = TOKEN_KINDS | {"deploy_token", "deploy_key"}
# Quick filter key → (label, kinds). Avoids the app's keys, the main screen's v and i, and c/f
# (marks).
KIND_GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "tokens": ("Tokens", TOKEN_KINDS),
    "deploy": ("Deploy keys/tokens", frozenset({"deploy_key", "deploy_token"})),
    "runners": ("Runners", frozenset({"runner"})),
    "variables": ("CI/CD variables", frozenset({"instance_variable", "group_variable",
                                                "project_variable"})),
    "hooks": ("Hooks", frozenset({"system_hook", "group_hook", "project_hook"})),
}
#: The help screen lists the filter keys as their own section under this title.
FILTER_GROUP = Binding.Group("filters (a key toggles, 0 shows all kinds)")
GROUP_KEYS: tuple[tuple[str, str], ...] = (
    ("t", "tokens"), ("d", "deploy"), ("n", "runners"), ("e", "variables"), ("h", "hooks"),
)

SORT_KEYS: tuple[str, ...] = ("kind", "name", "owner", "created", "last_used", "expires", "flags")

# At 80 columns the table shows mark, kind, name, owner, expiry and flags (what a responder
# triages on); last use, scopes and creation date appear as the terminal widens (lowest
# priority number first). The detail modal (enter) always has every field.
COLUMNS: tuple[Column, ...] = (
    Column("mark", "", 1),
    Column("kind", "Kind", 12),
    Column("name", "Name", 14, flex=2),
    Column("owner", "Owner", 11, priority=1, flex=1),
    Column("scopes", "Scopes", 14, priority=3, flex=1),
    Column("created", "Created", 10, priority=4),
    Column("last_used", "Last used", 10, priority=2),
    Column("expires", "Expires", 10),
    Column("flags", "Flags", 16, flex=4),
)

# Shorter words for the table's Flags cell (the detail modal and search use the full ones).
SHORT_FLAG: dict[str, str] = {
    "created in incident window": "new in window",
    "used in incident window": "used in window",
    "contacted in incident window": "seen in window",
    "never expires": "no expiry",
    "protected variable": "protected",
    "TLS verification off": "no TLS verify",
    "credentials in URL": "creds in URL",
    "no secret token": "no secret",
}

SHORT_KIND: dict[str, str] = {
    "pat": "PAT",
    "impersonation": "impersonate",
    "bot_token": "bot token",
    "service_token": "service tok",
    "deploy_key": "deploy key",
    "deploy_token": "deploy token",
    "runner": "runner",
    "instance_variable": "inst. var",
    "group_variable": "group var",
    "project_variable": "project var",
    "system_hook": "system hook",
    "group_hook": "group hook",
    "project_hook": "project hook",
}

# Flags that deserve a responder's eyes on their own. "used in incident window" is not one: most
# live tokens are used every day, so it only adds weight to a row that has an urgent flag.
URGENT_FLAGS = frozenset({
    "admin scope", "created in incident window", "impersonation",
    "write access", "credentials in URL", "TLS verification off",
})


def _date(value: str | None) -> str:
    when = parse_time(value)
    return when.strftime("%Y-%m-%d") if when else (value or "")


def _sort_value(row: Credential, key: str) -> tuple[Any, ...]:
    if key == "kind":
        rank = KIND_ORDER.index(row.kind) if row.kind in KIND_ORDER else len(KIND_ORDER)
        return (rank, row.owner.casefold(), row.name.casefold())
    if key == "name":
        return (row.name.casefold(), str(row.id))
    if key == "owner":
        return (row.owner.casefold(), row.name.casefold())
    if key == "flags":
        return (len(URGENT_FLAGS & set(row.flags)), len(row.flags), row.name.casefold())
    value = {"created": row.created_at, "last_used": row.last_used_at,
             "expires": row.expires_at}.get(key)
    when = parse_time(value)
    return (when is not None, when or datetime.min.replace(tzinfo=UTC))


def credential_detail_parts(row: Credential, mark: Mark | None) -> list[RenderableType]:
    parts: list[RenderableType] = [
        field_line("Kind", KIND_LABELS.get(row.kind, row.kind)),
        field_line("Name", row.name),
        field_line("Id", row.id),
        field_line("Owner", f"{row.owner_type} {row.owner}".strip()),
        field_line("State", row.state),
        field_line("Scopes", ", ".join(row.scopes)),
        field_line("Created", row.created_at),
        field_line("Last used", row.last_used_at),
        field_line("Expires", row.expires_at or ("never" if row.kind in EXPIRING_KINDS else "")),
    ]
    if row.protected is not None:
        parts.append(field_line("Protected", "yes" if row.protected else "no"))
    for key, value in sorted(row.extra.items()):
        parts.append(field_line(key.replace("_", " ").capitalize(), value, kind="text"))
    parts.append(Text(""))
    if row.flags:
        parts.append(Text("Flags:", style=WARN_STYLE))
        for flag in row.flags:
            parts.append(Text.assemble("  ⚠ ", clean(flag, kind="line").text))
    parts.append(field_line("To rotate", row.rotate_hint, kind="text"))
    if mark is not None and mark.mark:
        parts.append(field_line("Review mark", f"{mark.mark} ({mark.updated_at})"))
    parts.append(Text("c marks it cleared (rotated/reviewed), f flags it.", style="dim"))
    return parts


class CredentialsPane(SavesPaneState, Vertical):
    """Every credential-like object on the instance, with flags and review marks."""

    STATE_KEY = STATE_KEY

    # Footer: enter (details), c/f, a, plus the app's ? and q. The help lists the rest.
    BINDINGS = [
        Binding("c", "mark('cleared')", "Mark cleared"),
        Binding("f", "mark('flagged')", "Flag suspicious"),
        Binding("a", "actions", "Revoke/rotate"),
        Binding("slash", "search", "Search credentials", show=False),
        Binding("escape", "back", "Close search, clear search, then filters", show=False),
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

    @dataclass
    class LoadProgressed(Message):
        progress: InventoryProgress

    @dataclass
    class InventoryLoaded(Message):
        inventory: Inventory
        fetched_at: str | None
        from_cache: bool

    @dataclass
    class MarksLoaded(Message):
        marks: dict[str, Mark]

    @dataclass
    class MarkChanged(Message):
        """A credential was marked (or unmarked) by the responder."""

        key: str
        mark: str | None

    def __init__(self, ctx: AppContext, *, load_on_mount: bool = True,
                 id: str | None = "credentials-pane") -> None:
        super().__init__(id=id, classes="pane")
        self.ctx = ctx
        self.load_on_mount = load_on_mount
        self.rows: list[Credential] = []
        self.shown: list[Credential] = []
        self.matching = 0  # rows matching the filters (the table shows at most MAX_TABLE_ROWS)
        self.problems: list[SourceProblem] = []
        self.marks: dict[str, Mark] = {}
        self.groups: set[str] = set()
        self.search = ""
        self.sort_key = "kind"
        self.descending = False
        self.only_warnings = False
        self.only_unreviewed = False
        self.loading = False
        self.complete = True
        self.fetched_at: str | None = None
        self._pending_select: str | None = None
        self.fitted = FittedColumns(COLUMNS)

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="cred-filterbar", classes="filterbar")
        yield SearchInput(placeholder="search credentials (enter applies, escape closes)",
                          id="cred-search", classes="pane-search")
        yield Static(id="cred-message", classes="pane-message")
        self.table: DataTable[Text] = DetailTable(id="cred-table", cursor_type="row",
                                                  zebra_stripes=True)
        yield self.table

    def on_mount(self) -> None:
        self.border_title = "Credentials"
        self._fit(self.app.size.width - 2)  # refined by on_resize once laid out
        self.query_one("#cred-search").display = False
        self.query_one("#cred-message").display = False
        self._render_filterbar()
        if self.load_on_mount:
            self.start()

    def start(self) -> None:
        self._load_cached_or_fetch()

    def on_resize(self, event: events.Resize) -> None:
        if self._fit(self.size.width):
            self.refresh_rows()

    def _fit(self, width: int) -> bool:
        """Show the columns that fit ``width`` (True if they changed; the rows then go too)."""
        return self.fitted.fit(self.table, width)

    # -- loading ------------------------------------------------------------------------------
    def window(self) -> tuple[datetime, datetime]:
        inc = self.ctx.incident
        return incident_window(getattr(inc, "window_start", None),
                               getattr(inc, "window_end", None))

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
        self.app.call_from_thread(self.action_reload)

    def _read_marks(self) -> dict[str, Mark]:
        marks = self.ctx.store.marks(self.ctx.incident_id, OBJECT_TYPE)
        return {str(k): v for k, v in marks.items()}

    def action_reload(self) -> None:
        """Rebuild the inventory from GitLab (replaces any running load)."""
        self.loading = True
        self._set_title("loading…")
        self._fetch(self.window())

    @work(thread=True, exclusive=True, group="cred-load", exit_on_error=False)
    def _fetch(self, window: tuple[datetime, datetime]) -> None:
        worker = get_current_worker()
        cov = self.ctx.coverage
        is_admin = getattr(cov, "is_admin", None) if cov is not None else None

        def progressed(p: InventoryProgress) -> None:
            self.post_message(self.LoadProgressed(p))

        try:
            inv = fetch_inventory(
                self.ctx.gitlab(), window, on_progress=progressed,
                cancelled=lambda: worker.is_cancelled, is_admin=is_admin,
                user_lookup=self._lookup_users,
            )
        except Exception as exc:
            from console.errors import describe_error

            inv = Inventory([], [SourceProblem("inventory", describe_error(exc))], complete=False)
        fetched_at = None
        if inv.rows:
            try:
                fetched_at = self.ctx.store.cache_put(
                    self.ctx.incident_id, CACHE_KEY,
                    {"rows": [r.to_dict() for r in inv.rows], "complete": inv.complete},
                )
            except Exception as exc:  # show what arrived; a silent failure left "loading…"
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
            self._set_title("cancelling…")

    @on(LoadProgressed)
    def _progressed(self, message: LoadProgressed) -> None:
        p = message.progress
        of = f"/{p.total}" if p.total else ""
        # Only our own words and numbers: the source names are fixed strings in inventory.py.
        self._set_title(f"loading {p.source} {p.done}{of}, {p.rows} rows (x cancels)")

    @on(InventoryLoaded)
    def _loaded(self, message: InventoryLoaded) -> None:
        inv = message.inventory
        self.loading = False
        self.problems = list(inv.problems)
        self.complete = inv.complete
        if inv.rows or not inv.problems:
            self.rows = list(inv.rows)
            self.fetched_at = message.fetched_at
        self._render_message()
        self.refresh_rows()

    @on(MarksLoaded)
    def _marks_loaded(self, message: MarksLoaded) -> None:
        self.marks = message.marks
        if self.rows:
            self.refresh_rows()

    # -- filters, search, sort ----------------------------------------------------------------
    def kinds(self) -> frozenset[str]:
        out: set[str] = set()
        for g in self.groups:
            out |= KIND_GROUPS[g][1]
        return frozenset(out)

    def matches(self, row: Credential) -> bool:
        kinds = self.kinds()
        if kinds and row.kind not in kinds:
            return False
        if self.only_warnings and not URGENT_FLAGS & set(row.flags):
            return False
        mark = self.marks.get(row.key)
        if self.only_unreviewed and mark is not None and mark.mark:
            return False
        if self.search:
            hay = " ".join((
                row.kind, KIND_LABELS.get(row.kind, ""), row.name, row.owner, row.state,
                " ".join(row.scopes), " ".join(row.flags), str(row.id),
                " ".join(row.extra.values()), mark.mark or "" if mark else "",
            )).casefold()
            if not all(term in hay for term in self.search.casefold().split()):
                return False
        return True

    def action_toggle_group(self, group: str) -> None:
        self.groups.symmetric_difference_update({group})
        self._changed()

    def action_clear_kinds(self) -> None:
        self.groups.clear()
        self._changed()

    def action_toggle_warnings(self) -> None:
        self.only_warnings = not self.only_warnings
        self._changed()

    def action_toggle_unreviewed(self) -> None:
        self.only_unreviewed = not self.only_unreviewed
        self._changed()

    def action_cycle_sort(self) -> None:
        self.sort_key = SORT_KEYS[(SORT_KEYS.index(self.sort_key) + 1) % len(SORT_KEYS)]
        self.descending = self.sort_key in ("created", "last_used", "flags")
        self._changed()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._changed()

    def action_search(self) -> None:
        box = self.query_one("#cred-search", Input)
        box.display = True
        box.value = self.search
        box.focus()

    @on(Input.Changed, "#cred-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value
        self.refresh_rows()

    @on(Input.Submitted, "#cred-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search = event.value
        self._close_search()
        self._changed()

    def _close_search(self) -> None:
        # the filter bar shows the applied search; the 3-row box goes away
        self.query_one("#cred-search", Input).display = False
        self.table.focus()

    def action_back(self) -> None:
        """Close the search box; then clear the search, then the other filters."""
        box = self.query_one("#cred-search", Input)
        if box.has_focus:
            self._close_search()
        elif self.search:
            self.search = ""
            box.value = ""
            box.display = False
            self._changed()
        elif self.groups or self.only_warnings or self.only_unreviewed:
            self.groups.clear()
            self.only_warnings = self.only_unreviewed = False
            self._changed()

    def _changed(self) -> None:
        self.refresh_rows()
        self._schedule_save()

    # -- marks --------------------------------------------------------------------------------
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
        self._update_mark_cell(row)
        self.post_message(self.MarkChanged(row.key, new))
        if self.only_unreviewed and new:
            self.refresh_rows()
        else:
            self._render_filterbar()

    @work(thread=True, group="cred-marks", exit_on_error=False)
    def _write_mark(self, key: str, mark: str | None) -> None:
        self.ctx.store.set_mark(self.ctx.incident_id, OBJECT_TYPE, key, mark)

    def _mark_cell(self, row: Credential) -> Text:
        mark = self.marks.get(row.key)
        if mark is None or not mark.mark:
            return Text("", end="")
        if mark.mark == "cleared":
            return Text("✓", style="bold green", end="")
        return Text("⚑", style="bold red", end="")

    def _update_mark_cell(self, row: Credential) -> None:
        with suppress(RowDoesNotExist):
            self.table.update_cell(row.key, "mark", self.fitted.pick_cell(self._mark_cell(row)))

    # -- rendering ----------------------------------------------------------------------------
    def refresh_rows(self) -> None:
        table = self.table
        keep = self._pending_select if self._pending_select is not None else self.selected_key()
        shown = [r for r in self.rows if self.matches(r)]
        shown.sort(key=lambda r: _sort_value(r, self.sort_key), reverse=self.descending)
        self.matching = len(shown)
        self.shown = shown[:MAX_TABLE_ROWS]
        table.clear()
        pick = self.fitted.pick
        for r in self.shown:
            table.add_row(*pick(self._row(r)), key=r.key)
        if keep is not None:
            with suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(keep), animate=False)
                self._pending_select = None
        self._render_filterbar()
        self._set_title(None)

    def _row(self, r: Credential) -> tuple[Text, ...]:
        """One cell per column of ``COLUMNS`` (the table shows those that fit)."""
        flags = Text(end="", no_wrap=True, overflow="ellipsis")
        # Urgent flags first: a narrow Flags column must still show the one that matters.
        ordered = sorted(r.flags, key=lambda flag: flag not in URGENT_FLAGS)
        for i, flag in enumerate(ordered):
            if i:
                flags.append(", ")
            flags.append(SHORT_FLAG.get(flag, flag),
                         style="bold red" if flag in URGENT_FLAGS else "yellow")
        if r.expires_at or r.kind not in EXPIRING_KINDS:
            expires = safe_cell(_date(r.expires_at), max_cells=20, empty="")
        else:
            expires = Text("never", style="yellow", end="")
        state = "" if r.state in ("active", "online", "masked", "plain", "") else f" ({r.state})"
        return (
            self._mark_cell(r),
            Text(SHORT_KIND.get(r.kind, r.kind), end="", no_wrap=True),
            safe_cell(r.name + state, max_cells=48),
            safe_cell(r.owner, max_cells=40),
            safe_cell(", ".join(r.scopes), max_cells=40),
            # _date returns the raw server value when it is not a timestamp: sanitise it.
            safe_cell(_date(r.created_at), max_cells=20, empty=""),
            safe_cell(_date(r.last_used_at), max_cells=20, empty=""),
            expires,
            flags,
        )

    def selected_key(self) -> str | None:
        table = self.table
        row = table.cursor_row
        if table.row_count == 0 or not (0 <= row < len(self.shown)):
            return None
        return self.shown[row].key

    def selected_row(self) -> Credential | None:
        key = self.selected_key()
        return next((r for r in self.shown if r.key == key), None)

    def _render_filterbar(self) -> None:
        bar = Text(end="")
        if self.matching > len(self.shown):
            bar.append(f"first {len(self.shown):,} of {self.matching:,} matching, "
                       f"{len(self.rows):,} (narrow with / or a kind)", style="bold")
        else:
            bar.append(f"{len(self.shown)} of {len(self.rows)}", style="bold")
        reviewed = sum(1 for r in self.rows if (m := self.marks.get(r.key)) and m.mark)
        bar.append(f"  reviewed {reviewed}")
        bar.append(f"  sort: {self.sort_key}{' ↓' if self.descending else ' ↑'}")
        if self.groups:
            bar.append("  kinds: ", style="bold")
            bar.append(", ".join(KIND_GROUPS[g][0] for g in sorted(self.groups)))
        if self.only_warnings:
            bar.append("  only urgent rows", style="bold")
        if self.only_unreviewed:
            bar.append("  only unreviewed", style="bold")
        if self.search:
            bar.append("  search: ", style="bold")
            bar.append_text(safe_cell(self.search, max_cells=30))
        if not (self.groups or self.only_warnings or self.only_unreviewed or self.search):
            bar.append("  / search · ? lists the filter keys", style="dim")
        self.query_one("#cred-filterbar", Static).update(bar)

    def _render_message(self) -> None:
        box = self.query_one("#cred-message", Static)
        if not self.problems:
            box.display = False
            return
        text = Text(end="")
        for i, sp in enumerate(self.problems[:6]):
            if i:
                text.append("\n")
            text.append("• ", style=WARN_STYLE)
            text.append(clean(sp.problem.title, kind="line").text, style="bold")
            text.append(": " + clean(sp.problem.detail, kind="line", max_cells=160).text)
        if len(self.problems) > 6:
            text.append(f"\n… {len(self.problems) - 6} more")
        box.update(text)
        box.display = True

    def _set_title(self, status: str | None) -> None:
        if status is None:
            if self.loading:
                return
            status = f"{len(self.rows)} credentials"
            if self.fetched_at:
                status += f", fetched {short_time(self.fetched_at)}"
            if not self.complete:
                status += " (partial)"
        self.border_title = Content(f"Credentials — {status}")  # literal, never markup

    # -- detail -------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#cred-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

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

    @on(DataTable.RowHighlighted, "#cred-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._schedule_save()

    # -- resume -------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "groups": sorted(self.groups), "search": self.search, "sort": self.sort_key,
            "descending": self.descending, "only_warnings": self.only_warnings,
            "only_unreviewed": self.only_unreviewed, "selected": self.selected_key(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.groups = {g for g in state.get("groups") or () if g in KIND_GROUPS}
        self.search = str(state.get("search") or "")
        sort = state.get("sort")
        self.sort_key = sort if sort in SORT_KEYS else "kind"
        self.descending = bool(state.get("descending"))
        self.only_warnings = bool(state.get("only_warnings"))
        self.only_unreviewed = bool(state.get("only_unreviewed"))
        selected = state.get("selected")
        self._pending_select = selected if isinstance(selected, str) else None
        self.refresh_rows()
