"""The Credentials pane: the rebuilt credentials inventory, with review marks.

The inventory loads in a thread worker (progress in the border title, ``x`` cancels) and is
cached in the store.  Rows can be narrowed by kind with quick keys, searched with ``/`` and sorted
with ``s``.  ``c`` marks a credential cleared (rotated or reviewed), ``f`` flags it; marks live in
the store as ``credential`` objects keyed ``"{kind}:{id}"``.  Every matching row is in the table;
the detail line under it shows the highlighted row's flags whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input
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
from screens.modals.detail import DetailModal, field_line
from screens.panes.audit import short_time
from screens.panes.base import RecordPane, detail_text
from screens.panes.sources import ListSource
from screens.safe import WARN_STYLE, safe_cell, safe_text
from screens.widgets.virtual_table import CellRow, Column, RowKey

__all__ = ["KIND_GROUPS", "SORT_KEYS", "URGENT_FLAGS", "CredentialsPane", "CredentialsView"]

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



@dataclass(frozen=True, slots=True)
class CredentialsView:
    """What the credentials table shows: kind groups, urgency, review state, search and sort."""

    groups: frozenset[str] = frozenset()
    search: str = ""
    sort: str = "kind"
    descending: bool = False
    only_warnings: bool = False
    only_unreviewed: bool = False
    marks: Mapping[str, Mark] = field(default_factory=dict, compare=False)
    """The review marks (``only_unreviewed`` and search read them; not saved)."""

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

    def to_state(self) -> dict[str, Any]:
        return {
            "groups": sorted(self.groups), "search": self.search, "sort": self.sort,
            "descending": self.descending, "only_warnings": self.only_warnings,
            "only_unreviewed": self.only_unreviewed,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], marks: Mapping[str, Mark]) -> CredentialsView:
        sort = state.get("sort")
        return cls(
            groups=frozenset(g for g in state.get("groups") or () if g in KIND_GROUPS),
            search=str(state.get("search") or ""),
            sort=sort if isinstance(sort, str) and sort in SORT_KEYS else "kind",
            descending=bool(state.get("descending")),
            only_warnings=bool(state.get("only_warnings")),
            only_unreviewed=bool(state.get("only_unreviewed")),
            marks=marks,
        )


def _select(rows: Sequence[Credential], view: CredentialsView) -> list[Credential]:
    shown = [r for r in rows if view.matches(r)]
    shown.sort(key=lambda r: _sort_value(r, view.sort), reverse=view.descending)
    return shown


def _flags_cell(r: Credential) -> Text:
    flags = Text(end="", no_wrap=True, overflow="ellipsis")
    # Urgent flags first: a narrow Flags column must still show the one that matters.
    ordered = sorted(r.flags, key=lambda flag: flag not in URGENT_FLAGS)
    for i, flag in enumerate(ordered):
        if i:
            flags.append(", ")
        flags.append(SHORT_FLAG.get(flag, flag),
                     style="bold red" if flag in URGENT_FLAGS else "yellow")
    return flags


def _mark_cell(mark: Mark | None) -> Text:
    if mark is None or not mark.mark:
        return Text("", end="")
    if mark.mark == "cleared":
        return Text("✓", style="bold green", end="")
    return Text("⚑", style="bold red", end="")


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
            lambda r: r.key, self._cells, _select)
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
        """One cell per column of ``COLUMNS`` (the table shows those that fit)."""
        if r.expires_at or r.kind not in EXPIRING_KINDS:
            expires = safe_cell(_date(r.expires_at), max_cells=20, empty="")
        else:
            expires = Text("never", style="yellow", end="")
        state = "" if r.state in ("active", "online", "masked", "plain", "") else f" ({r.state})"
        return {
            "mark": _mark_cell(self.marks.get(r.key)),
            "kind": Text(SHORT_KIND.get(r.kind, r.kind), end="", no_wrap=True),
            "name": safe_cell(r.name + state, max_cells=48),
            "owner": safe_cell(r.owner, max_cells=40),
            "scopes": safe_cell(", ".join(r.scopes), max_cells=40),
            # _date returns the raw server value when it is not a timestamp: sanitise it.
            "created": safe_cell(_date(r.created_at), max_cells=20, empty=""),
            "last_used": safe_cell(_date(r.last_used_at), max_cells=20, empty=""),
            "expires": expires,
            "flags": _flags_cell(r),
        }

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
        if row is None:
            return None
        if not row.flags:
            return detail_text("Flags", "none")
        ordered = sorted(row.flags, key=lambda flag: flag not in URGENT_FLAGS)
        return detail_text("Flags", ", ".join(ordered))

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
