"""The Audit events pane: the incident window's instance audit events, filterable.

Events load in a thread worker (slice by slice, progress in the border title, ``x`` cancels) and
are cached in the store so a resumed incident shows them at once. Every server string reaches the
table through :func:`screens.safe.safe_cell`; the detail modal shows the full details JSON with
every string sanitised and lists the code points that made a value suspicious.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import get_current_worker

from console.audit import (
    CATEGORY_LABELS,
    CATEGORY_ORDER,
    AuditEvent,
    AuditFetch,
    AuditFilter,
    AuditProgress,
    events_cache_key,
    fetch_audit_events,
    filter_events,
    incident_window,
    parse_time,
)
from console.context import AppContext
from console.errors import Problem
from console.sanitize import clean, describe_codepoints, flag_labels
from screens.messages import AuditEventsCached
from screens.pane_state import MAX_TABLE_ROWS, SavesPaneState
from screens.safe import WARN_STYLE, safe_cell, safe_text
from screens.widgets.fitted import DetailTable, FittedColumns
from screens.widgets.search_input import SearchInput
from screens.widgets.virtual_table import Column

__all__ = ["AuditPane", "DetailModal", "sanitize_json"]

STATE_KEY = "audit"

# Quick filter keys → category. Chosen to avoid the app's keys (1/2/3 ? / escape enter space a q
# ctrl+p) and the main screen's v and i.
CATEGORY_KEYS: tuple[tuple[str, str], ...] = (
    ("s", "SIGNIN"), ("t", "TOKEN"), ("k", "KEY"), ("m", "2FA"), ("g", "REPO"),
    ("c", "CONFIG"), ("n", "RUNNER"), ("h", "HOOK"), ("u", "USER"), ("w", "INSTANCE"),
    ("o", "OTHER"),
)

# At 80 columns: time, category, event, author and target; the summary and IP appear as the
# terminal widens (lowest priority number first). The detail modal (enter) has everything.
#: The help screen lists the category keys as their own section under this title.
CATEGORY_GROUP = Binding.Group("category filters (a key toggles, 0 shows all)")

COLUMNS: tuple[Column, ...] = (
    Column("time", "Time", 16),
    Column("category", "Category", 8),
    Column("event", "Event", 19, flex=2),
    Column("author", "Author", 12, flex=1),
    Column("target", "Target", 12, priority=1, flex=1),
    Column("ip", "IP", 15, priority=3),
    Column("summary", "Summary", 30, priority=2, flex=3),
)


def short_time(value: str) -> str:
    when = parse_time(value)
    return when.strftime("%Y-%m-%d %H:%M") if when else value


# ---------------------------------------------------------------------------------------------
# Detail modal (shared with the credentials pane)
# ---------------------------------------------------------------------------------------------


def sanitize_json(value: Any, path: str = "", found: list[tuple[str, Any]] | None = None) -> Any:
    """Copy ``value`` with every string (keys too) sanitised; note flagged strings in ``found``."""
    if isinstance(value, str):
        c = clean(value, kind="text")
        if found is not None and c.flagged:
            found.append((path or "(value)", value))
        return c.text
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = sanitize_json(str(k), f"{path}.{k}" if path else str(k), found)
            out[key] = sanitize_json(v, f"{path}.{k}" if path else str(k), found)
        return out
    if isinstance(value, (list, tuple)):
        return [sanitize_json(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def codepoint_report(found: Iterable[tuple[str, Any]], limit: int = 12) -> list[Text]:
    """For each flagged string: its path, what was flagged and the suspicious code points."""
    lines: list[Text] = []
    for path, raw in found:
        c = clean(raw, kind="text")
        label = ", ".join(flag_labels(c.flags - {"truncated"}))
        lines.append(Text.assemble(("⚠ ", WARN_STYLE), (clean(path, kind="line").text, "bold"),
                                   f": {label}", end=""))
        odd = [ch for ch in dict.fromkeys(str(raw)) if not (ch.isascii() and ch.isprintable())]
        for line in describe_codepoints("".join(odd), limit=limit):
            lines.append(Text(f"    {line}", style="dim", end=""))
    return lines


class DetailModal(ModalScreen[None]):
    """A scrollable, read-only detail view; every part is pre-built literal ``Text``."""

    BINDINGS = [
        Binding("escape", "dismiss_modal", "Close"),
        Binding("q", "dismiss_modal", "Close", show=False),
        Binding("enter", "dismiss_modal", "Close", show=False),
    ]

    def __init__(self, title: str, parts: list[RenderableType]) -> None:
        super().__init__(classes="detail-modal")
        self._title = title
        for part in parts:
            if isinstance(part, Text):
                part.end = "\n"  # one part per line
        self._parts = parts

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body") as body:
            # Border titles parse a str as markup; the title can carry a server id (a CI
            # variable key), so it is always literal Content.
            body.border_title = Content(clean(self._title, kind="line").text)
            body.border_subtitle = "escape closes"
            yield Static(Group(*self._parts), id="detail-content")

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)


def field_line(label: str, value: object, *, kind: str = "line") -> Text:
    """``label: value`` with the value sanitised (``—`` when empty)."""
    text = Text(f"{label}: ", style="bold", end="")
    text.append_text(safe_text(value, kind=kind))  # type: ignore[arg-type]
    return text


def _join(*values: object) -> str:
    return " ".join(str(v) for v in values if v not in (None, ""))


def audit_detail_parts(event: AuditEvent) -> list[RenderableType]:
    parts: list[RenderableType] = [
        field_line("Event", event.event_name or "(no type name: legacy event)"),
        field_line("Category", ", ".join(CATEGORY_LABELS.get(c, c) for c in event.categories)),
        field_line("Time", event.created_at),
        field_line("Author", f"{event.author_name} (id {event.author_id})"),
        field_line("Entity", _join(event.entity_type, event.entity_id, event.entity_path)),
        field_line("Target", _join(event.target_type, event.target_id, event.target_details)),
        field_line("IP address", event.ip_address),
        field_line("Summary", event.summary, kind="text"),
        Text(""),
    ]
    found: list[tuple[str, Any]] = []
    cleaned = sanitize_json(dict(event.details), "details", found)
    # Strings are already display-safe; json.dumps only adds quotes and escapes.
    parts.append(Text("details:", style="bold"))
    parts.append(Text(json.dumps(cleaned, indent=2, ensure_ascii=False, sort_keys=True,
                                 default=str), end=""))
    report = codepoint_report(found)
    if report:
        parts.append(Text(""))
        parts.append(Text("Suspicious characters:", style=WARN_STYLE))
        parts.extend(report)
    return parts


# ---------------------------------------------------------------------------------------------
# The pane
# ---------------------------------------------------------------------------------------------


class AuditPane(SavesPaneState, Vertical):
    """Instance audit events for the incident window, with search and category filters."""

    STATE_KEY = STATE_KEY

    # Footer: enter (details), / and r, plus the app's ? and q. The help lists the rest.
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("escape", "back", "Clear user filter, search, then categories", show=False),
        Binding("r", "reload", "Reload events"),
        Binding("x", "cancel_load", "Cancel loading", show=False),
        Binding("0", "clear_categories", "All categories", show=False, group=CATEGORY_GROUP),
        *(
            Binding(key, f"toggle_category('{cat}')", f"Only {CATEGORY_LABELS[cat]} events",
                    show=False, group=CATEGORY_GROUP)
            for key, cat in CATEGORY_KEYS
        ),
    ]

    @dataclass
    class LoadProgressed(Message):
        progress: AuditProgress

    @dataclass
    class EventsLoaded(Message):
        fetch: AuditFetch
        fetched_at: str | None
        from_cache: bool

    def __init__(self, ctx: AppContext, *, load_on_mount: bool = True,
                 id: str | None = "audit-pane") -> None:
        super().__init__(id=id, classes="pane")
        self.ctx = ctx
        self.load_on_mount = load_on_mount
        self.events: list[AuditEvent] = []
        self.shown: list[AuditEvent] = []
        self.matching = 0  # events matching the filter (the table shows at most MAX_TABLE_ROWS)
        self.filter = AuditFilter()
        self.problem: Problem | None = None
        self.coverage_gap = False
        self.loading = False
        self.fetched_at: str | None = None
        self.complete = True
        self._pending_select: int | None = None
        self._user_names: dict[int, str] = {}
        self._row_cache: dict[int, tuple[Text, ...]] = {}  # sanitising is the costly part
        self.fitted = FittedColumns(COLUMNS)

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="audit-filterbar", classes="filterbar")
        yield SearchInput(placeholder="search events (enter applies, escape closes)",
                          id="audit-search", classes="pane-search")
        yield Static(id="audit-message", classes="pane-message")
        self.table: DataTable[Text] = DetailTable(id="audit-table", cursor_type="row",
                                                  zebra_stripes=True)
        yield self.table

    def on_mount(self) -> None:
        self.border_title = "Audit events"
        self.fitted.fit(self.table, self.app.size.width - 2)  # refined by on_resize
        self.query_one("#audit-search").display = False
        self.query_one("#audit-message").display = False
        self._render_filterbar()
        if self.load_on_mount:
            self.start()

    def on_resize(self, event: events.Resize) -> None:
        if self.fitted.fit(self.table, self.size.width):
            self.refresh_rows()

    def start(self) -> None:
        """Show cached events (if any) or begin loading; coverage gaps skip the request."""
        cov = self.ctx.coverage
        if cov is not None and (getattr(cov, "tier", "") == "free"
                                or getattr(cov, "audit_events", None) is False):
            self._apply_fetch(AuditFetch([], _coverage_problem(cov), [], coverage_gap=True),
                              None, from_cache=False)
            return
        self._load_cached_or_fetch()

    # -- loading ------------------------------------------------------------------------------
    def window(self) -> tuple[datetime, datetime]:
        inc = self.ctx.incident
        return incident_window(getattr(inc, "window_start", None),
                               getattr(inc, "window_end", None))

    def _cache_key(self) -> str:
        inc = self.ctx.incident
        return events_cache_key(getattr(inc, "window_start", None),
                                getattr(inc, "window_end", None))

    @work(thread=True, group="audit-cache", exit_on_error=False)
    def _load_cached_or_fetch(self) -> None:
        cached = self.ctx.store.cache_get(self.ctx.incident_id, self._cache_key())
        if cached is not None and isinstance(cached[0], Mapping):
            value, fetched_at = cached
            events = [AuditEvent.from_dict(e) for e in value.get("events", [])
                      if isinstance(e, Mapping)]
            fetch = AuditFetch(events, None, [], complete=bool(value.get("complete", True)))
            self.post_message(self.EventsLoaded(fetch, fetched_at, from_cache=True))
            return
        self.app.call_from_thread(self.action_reload)

    def action_reload(self) -> None:
        """Fetch the window's events from GitLab (replaces any running load)."""
        if self.coverage_gap:
            return
        self.loading = True
        self._set_title("loading…")
        self._fetch(self.window())

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _fetch(self, window: tuple[datetime, datetime]) -> None:
        worker = get_current_worker()

        def progressed(p: AuditProgress) -> None:
            self.post_message(self.LoadProgressed(p))

        try:
            gl = self.ctx.gitlab()
            result = fetch_audit_events(
                gl, ("instance", None), window,
                on_progress=progressed,
                cancelled=lambda: worker.is_cancelled,
            )
        except Exception as exc:  # building the client can fail (config, TLS)
            from console.errors import describe_error

            result = AuditFetch([], describe_error(exc), [], complete=False)
        fetched_at = None
        if result.problem is None or result.events:
            try:
                fetched_at = self.ctx.store.cache_put(
                    self.ctx.incident_id, self._cache_key(),
                    {"events": [e.to_dict() for e in result.events], "complete": result.complete},
                )
            except Exception as exc:  # show what arrived; a silent failure left "loading…"
                from console.errors import describe_error

                result.problem = result.problem or describe_error(exc)
        if not worker.is_cancelled or result.events:
            self.post_message(self.EventsLoaded(result, fetched_at, from_cache=False))
        if fetched_at is not None:
            self.post_message(AuditEventsCached(len(result.events)))

    def action_cancel_load(self) -> None:
        """Stop the running load; what arrived so far stays."""
        if self.loading:
            self.workers.cancel_group(self, "audit-load")
            self.loading = False
            self._set_title(f"{len(self.events)} events (load cancelled, r reloads)")

    @on(LoadProgressed)
    def _progressed(self, message: LoadProgressed) -> None:
        p = message.progress
        self._set_title(f"loading slice {p.slice_index}/{p.slice_count}, {p.pages} pages, "
                        f"{p.events} events (x cancels)")

    @on(EventsLoaded)
    def _loaded(self, message: EventsLoaded) -> None:
        self._apply_fetch(message.fetch, message.fetched_at, from_cache=message.from_cache)

    def _apply_fetch(self, fetch: AuditFetch, fetched_at: str | None, *, from_cache: bool) -> None:
        self.loading = False
        self.problem = fetch.problem
        self.coverage_gap = fetch.coverage_gap
        self.complete = fetch.complete
        if fetch.events or not fetch.problem:
            self.events = list(fetch.events)
            self.fetched_at = fetched_at
            self._row_cache.clear()
        self._render_message()
        self.refresh_rows()

    # -- filtering ----------------------------------------------------------------------------
    def set_filter(self, f: AuditFilter) -> None:
        self.filter = f
        self.refresh_rows()
        self._schedule_save()

    def show_for_user(self, user_id: int, username: str | None = None) -> None:
        """Show only events by or about ``user_id`` (escape clears it)."""
        if username:
            self._user_names[user_id] = username
        elif user_id not in self._user_names:
            self._lookup_username(user_id)
        self.set_filter(replace(self.filter, user_id=user_id,
                                username=self._user_names.get(user_id)))

    @work(thread=True, group="audit-user", exit_on_error=False)
    def _lookup_username(self, user_id: int) -> None:
        row = self.ctx.store.get_user(self.ctx.incident_id, user_id)
        if row is not None:
            self.app.call_from_thread(self._username_found, user_id, row.username)

    def _username_found(self, user_id: int, username: str) -> None:
        self._user_names[user_id] = username
        if self.filter.user_id == user_id and self.filter.username != username:
            self.set_filter(replace(self.filter, username=username))
        else:
            self._render_filterbar()

    def action_toggle_category(self, category: str) -> None:
        cats = set(self.filter.categories)
        cats.symmetric_difference_update({category})
        self.set_filter(replace(self.filter, categories=frozenset(cats)))

    def action_clear_categories(self) -> None:
        self.set_filter(replace(self.filter, categories=frozenset()))

    def action_search(self) -> None:
        search = self.query_one("#audit-search", Input)
        search.display = True
        search.value = self.filter.search
        search.focus()

    @on(Input.Changed, "#audit-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.filter = replace(self.filter, search=event.value)
        self.refresh_rows()

    @on(Input.Submitted, "#audit-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_filter(replace(self.filter, search=event.value))
        self._close_search()

    def _close_search(self) -> None:
        search = self.query_one("#audit-search", Input)
        search.display = False  # the filter bar shows the applied search
        self.table.focus()

    def action_back(self) -> None:
        """Close the search box first; then clear the user filter, then search and categories."""
        search = self.query_one("#audit-search", Input)
        if search.has_focus:
            self._close_search()
            return
        if self.filter.user_id is not None:
            self.set_filter(replace(self.filter, user_id=None, username=None))
        elif self.filter.search:
            search.value = ""
            search.display = False
            self.set_filter(replace(self.filter, search=""))
        elif self.filter.categories:
            self.set_filter(replace(self.filter, categories=frozenset()))

    # -- rendering ----------------------------------------------------------------------------
    def refresh_rows(self) -> None:
        table = self.table
        keep = self._pending_select if self._pending_select is not None else self.selected_id()
        matching = filter_events(self.events, self.filter)
        self.matching = len(matching)
        self.shown = matching[:MAX_TABLE_ROWS]  # newest first
        table.clear()
        cache = self._row_cache
        pick = self.fitted.pick
        for e in self.shown:
            cells = cache.get(e.id)
            if cells is None:
                cells = cache[e.id] = self._row(e)
            table.add_row(*pick(cells), key=str(e.id))
        if keep is not None:
            # The row may be filtered out or not loaded yet: keep the wish for later then.
            with suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(str(keep)), animate=False)
                self._pending_select = None
        self._render_filterbar()
        self._set_title(None)

    @staticmethod
    def _row(e: AuditEvent) -> tuple[Text, ...]:
        target = " ".join(x for x in (e.target_type, e.target_details or e.target_id) if x)
        return (
            safe_cell(short_time(e.created_at), max_cells=20),  # raw if unparsable
            Text(e.category, style=_CATEGORY_STYLE.get(e.category, ""), end=""),
            safe_cell(e.event_name or "(legacy)", max_cells=40),
            safe_cell(e.author_name or (f"#{e.author_id}" if e.author_id is not None else "")),
            safe_cell(target, max_cells=40),
            safe_cell(e.ip_address, max_cells=40),
            safe_cell(e.summary, max_cells=120),
        )

    def selected_id(self) -> int | None:
        table = self.table
        if not self.shown or table.row_count == 0:
            return None
        row = table.cursor_row
        return self.shown[row].id if 0 <= row < len(self.shown) else None

    def selected_event(self) -> AuditEvent | None:
        ident = self.selected_id()
        return next((e for e in self.shown if e.id == ident), None)

    def _render_filterbar(self) -> None:
        f = self.filter
        bar = Text(end="")
        if self.matching > len(self.shown):
            bar.append(f"newest {len(self.shown):,} of {self.matching:,} matching, "
                       f"{len(self.events):,} events (narrow with / or a category)", style="bold")
        else:
            bar.append(f"{len(self.shown)} of {len(self.events)} events", style="bold")
        if f.user_id is not None:
            bar.append("  user: ", style="bold")
            name = self._user_names.get(f.user_id) or f.username
            bar.append_text(safe_cell(f"@{name} (#{f.user_id})" if name else f"#{f.user_id}"))
            bar.append(" (esc clears)", style="dim")
        if f.categories:
            bar.append("  categories: ", style="bold")
            bar.append(", ".join(c for c in CATEGORY_ORDER if c in f.categories))
        if f.search:
            bar.append("  search: ", style="bold")
            bar.append_text(safe_cell(f.search, max_cells=30))
        if not (f.user_id is not None or f.categories or f.search):
            bar.append("  / search · ? lists the category keys", style="dim")
        self.query_one("#audit-filterbar", Static).update(bar)

    def _render_message(self) -> None:
        box = self.query_one("#audit-message", Static)
        p = self.problem
        if p is None:
            box.display = False
            return
        text = Text(end="")
        text.append(clean(p.title, kind="line").text, style="bold")
        text.append("\n" + clean(p.detail, kind="text").text)
        if p.next_step:
            text.append("\n" + clean(p.next_step, kind="text").text, style="dim")
        box.update(text)
        box.set_class(self.coverage_gap, "-coverage")
        box.set_class(not self.coverage_gap, "-error")
        box.display = True

    def _set_title(self, status: str | None) -> None:
        if status is None:
            if self.loading:
                return
            if self.coverage_gap:
                status = ("not visible to this token" if _not_admin_refusal(self.ctx.coverage)
                          else "not available on this tier")
            elif self.fetched_at:
                status = f"{len(self.events)} events, fetched {short_time(self.fetched_at)}"
                if not self.complete:
                    status += " (partial)"
            else:
                status = f"{len(self.events)} events"
        # Literal Content: a str border title would be parsed as markup.
        self.border_title = Content(f"Audit events — {status}")

    # -- detail -------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#audit-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Open the highlighted event's full details."""
        ev = self.selected_event()
        if ev is not None:
            self.app.push_screen(DetailModal(f"Audit event {ev.id}", audit_detail_parts(ev)))

    @on(DataTable.RowHighlighted, "#audit-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._schedule_save()

    # -- resume -------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"filter": self.filter.to_dict(), "selected": self.selected_id()}

    def restore(self, state: Mapping[str, Any]) -> None:
        f = state.get("filter")
        if isinstance(f, Mapping):
            self.filter = AuditFilter.from_dict(f)
        selected = state.get("selected")
        self._pending_select = selected if isinstance(selected, int) else None
        self.refresh_rows()

    def incident_changed(self, incident: Any) -> None:
        """The window may have moved: show what is cached for the new one, or fetch it."""
        self.events, self.shown = [], []
        self.refresh_rows()
        if not self.coverage_gap:
            self._load_cached_or_fetch()


def _not_admin_refusal(cov: Any) -> bool:
    """A 403 from a non-administrator on a licensed instance: a rights gap, not a tier gap."""
    return (cov is not None and getattr(cov, "audit_status", None) == 403
            and getattr(cov, "is_admin", None) is False and getattr(cov, "tier", "") != "free")


def _coverage_problem(cov: Any) -> Problem:
    """Why there are no audit events: Free tier, or (on a licensed instance) not an admin."""
    from console.audit import free_tier_problem

    problem = free_tier_problem(getattr(cov, "audit_status", None))
    if not _not_admin_refusal(cov):
        return problem
    return replace(
        problem,
        title="Audit events need an administrator token",
        detail=("GitLab answered 403: instance audit events are admin-only and this token "
                "belongs to a non-administrator."),
        next_step=("Reconnect with an administrator token, or review contribution events and "
                   "the users' sign-in fields in the dossier, and the credentials inventory."),
    )


_CATEGORY_STYLE: dict[str, str] = {
    "SIGNIN": "cyan",
    "TOKEN": "bold yellow",
    "KEY": "yellow",
    "2FA": "bold magenta",
    "REPO": "green",
    "CONFIG": "blue",
    "RUNNER": "bright_blue",
    "HOOK": "bright_magenta",
    "USER": "bright_cyan",
    "INSTANCE": "bold red",
    "OTHER": "dim",
}
