"""Choosing an incident at startup (resume first, new second) and the small incident form.

Resuming is the common case after a dropped SSH session, so the most recently active incident is
the first, pre-selected option and enter takes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from console import timeutil
from console.sanitize import clean
from console.store import INCIDENT_KINDS as STORE_KINDS
from console.timeutil import format_iso, parse_ts

__all__ = [
    "INCIDENT_KINDS",
    "IncidentChoiceScreen",
    "IncidentEditScreen",
    "ago",
    "default_incident_fields",
]

INCIDENT_KINDS = tuple(sorted(STORE_KINDS, key=lambda k: k != "compromised-instance"))
NEW = "new"


def ago(ts: object, now: datetime | None = None) -> str:
    """``2 h ago`` style age of an ISO timestamp; ``unknown`` if it cannot be read.

    Used for the store's own times (an incident's last activity), which this host's clock
    wrote: so "now" defaults to this host's clock, not GitLab's.
    """
    when = parse_ts(ts)
    if when is None:
        return "unknown"
    seconds = max(0, int(((now or timeutil.now()) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def default_incident_fields(now: datetime) -> dict[str, str]:
    """A new incident starts at once with these; the responder edits them later with ``i``.

    ``now`` is GitLab's time (``ServerClock.now()``): the window is compared with the server's
    timestamps, so a host clock minutes off must not move its start.
    """
    now = now.replace(microsecond=0)
    return {
        "title": f"Incident {now.astimezone():%Y-%m-%d %H:%M}",
        "kind": "compromised-instance",
        "window_start": format_iso(now - timedelta(days=30), "seconds"),
        # Open end: "until now", so reloads keep fetching what happens during the response.
        "window_end": "",
    }


class IncidentChoiceScreen(Screen[Any]):
    """Dismisses with the chosen incident, ``"new"``, or ``None`` to quit."""

    BINDINGS = [
        Binding("enter", "choose", "Open selected"),
        Binding("n", "new", "New incident"),
        Binding("escape", "quit_startup", "Quit", show=False),
    ]

    def __init__(self, incidents: list[Any], *, instance_url: str) -> None:
        super().__init__(classes="startup-screen")
        self._incidents = incidents
        self._url = instance_url

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            url = clean(self._url, kind="line").text
            yield Static(Text(f"Open incidents for {url}", style="bold"), classes="dialog-title")
            options = [
                Option(Text(self._label(inc)), id=f"incident-{inc.id}") for inc in self._incidents
            ]
            options.append(Option(Text("Start a new incident"), id=NEW))
            yield OptionList(*options, id="incident-list")
            hint = "enter: open   n: new incident   escape: quit"
            yield Static(Text(hint), classes="dialog-hint")

    @staticmethod
    def _label(incident: Any) -> str:
        title = clean(incident.title, kind="line", max_cells=40).text
        return f"Resume {title} (last active {ago(incident.last_active_at)})"

    def on_mount(self) -> None:
        options = self.query_one("#incident-list", OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#incident-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._dismiss_index(event.option_index)

    def action_choose(self) -> None:
        self._dismiss_index(self.query_one("#incident-list", OptionList).highlighted)

    def _dismiss_index(self, index: int | None) -> None:
        if index is None or index >= len(self._incidents):
            self.dismiss(NEW)
        else:
            self.dismiss(self._incidents[index])

    def action_new(self) -> None:
        self.dismiss(NEW)

    def action_quit_startup(self) -> None:
        self.dismiss(None)


class IncidentEditScreen(ModalScreen[dict[str, str] | None]):
    """Edit title, kind and window; dismisses with the changed fields, or ``None``."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, incident: Any) -> None:
        super().__init__()
        self._incident = incident

    def compose(self) -> ComposeResult:
        inc = self._incident
        kinds = [(k, k) for k in INCIDENT_KINDS]
        if inc.kind not in INCIDENT_KINDS:
            kinds.append((clean(inc.kind, kind="line").text, inc.kind))
        with Vertical(id="incident-form", classes="dialog"):
            yield Static(Text("Incident", style="bold"), classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Title", classes="form-label")
                yield Input(clean(inc.title, kind="line").text, id="inc-title", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Kind", classes="form-label")
                yield Select(kinds, value=inc.kind, allow_blank=False, id="inc-kind", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Window start", classes="form-label")
                yield Input(
                    inc.window_start or "", placeholder="ISO time", id="inc-start", compact=True
                )
            with Horizontal(classes="form-row"):
                yield Label("Window end", classes="form-label")
                yield Input(
                    inc.window_end or "", placeholder="empty: until now", id="inc-end", compact=True
                )
            yield Static("", id="inc-error", classes="dialog-error")
            yield Static(Text("ctrl+s or enter: save   escape: cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#inc-title", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        title = self.query_one("#inc-title", Input).value.strip()
        start = self.query_one("#inc-start", Input).value.strip()
        end = self.query_one("#inc-end", Input).value.strip()
        error = self.query_one("#inc-error", Static)
        begin, finish = parse_ts(start), parse_ts(end)
        if not title:
            error.update(Text("The title cannot be empty."))
            return
        if begin is None or (end and (finish is None or begin >= finish)):
            error.update(
                Text(
                    "The window needs an ISO start, and an ISO end after it or nothing (until now)."
                )
            )
            return
        kind = self.query_one("#inc-kind", Select).value
        self.dismiss({"title": title, "kind": str(kind), "window_start": start, "window_end": end})

    def action_cancel(self) -> None:
        self.dismiss(None)
