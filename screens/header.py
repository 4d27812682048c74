"""The two-line header: where we are connected, which incident, what mode, how far the review is.

The DRILL, OFFLINE, READ-ONLY and DRY-RUN badges sit first on the line so they survive
truncation at 80 columns: a responder must never mistake the drill for production, a cached view
for a live one, or a dry run for the real thing. The first line ends with the review and runbook
progress; the second names the instance (and the console holding the incident, when another
one does) and ends with the pane tabs and their keys, the active one highlighted, since the
footer has no room for them.

Everything shown is one immutable :class:`HeaderState`; the main screen changes it with
:meth:`ConsoleHeader.update` and a single watcher redraws, so no field can be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from console.sanitize import clean

__all__ = ["PANE_TABS", "ConsoleHeader", "HeaderState", "progress_text"]

#: (pane key, number key, tab label) in the order of the app's 1-5 key map.
PANE_TABS: tuple[tuple[str, str, str], ...] = (
    ("users", "1", "Users"),
    ("audit", "2", "Audit"),
    ("credentials", "3", "Creds"),
    ("runbook", "4", "Runbook"),
    ("journal", "5", "Journal"),
)


def progress_text(reviewed: int, total: int, root_reviewed: bool) -> str:
    """``reviewed 37/412, root ✓`` — root is called out because it is the first account to check."""
    return f"reviewed {reviewed}/{total}, root {'✓' if root_reviewed else '✗'}"


@dataclass(frozen=True, slots=True)
class HeaderState:
    """What the header shows; every field is handed down by the main screen."""

    instance_url: str = ""
    identity: str = ""
    incident_title: str = ""
    drill: bool = False
    offline: bool = False
    read_only: bool = False
    dry_run: bool = False
    #: Another console holding the incident for writing (``LockHolder.describe()``), if any.
    lock_holder: str | None = None
    review: tuple[int, int, bool] | None = None
    #: ``runbook 4/6 · 3 open`` as the runbook pane reported it.
    runbook: str = ""
    active_pane: str = ""

    def badges(self) -> list[str]:
        """The mode badges, most important first."""
        shown = []
        if self.drill:
            shown.append("DRILL")
        if self.offline:
            shown.append("OFFLINE")
        if self.read_only or self.offline or self.lock_holder is not None:
            shown.append("READ-ONLY")
        if self.dry_run:
            shown.append("DRY-RUN")
        return shown

    def progress(self) -> str:
        """``reviewed 3/40, root ✓ · runbook 4/6 · 3 open`` (either part may be missing)."""
        parts = []
        if self.review is not None:
            parts.append(progress_text(*self.review))
        if self.runbook:
            parts.append(clean(self.runbook, kind="line").text)
        return " · ".join(parts)


class ConsoleHeader(Widget):
    """Shows state handed down by the main screen; it never fetches anything itself."""

    COMPONENT_CLASSES = {
        "header-badge-drill",
        "header-badge-mode",
        "header-tab",
        "header-tab-active",
    }

    state: reactive[HeaderState] = reactive(HeaderState, init=False)

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Static(id="header-badges")
            yield Static(id="header-title")
            yield Static(id="header-progress")
        with Horizontal(id="header-bottom"):
            yield Static(id="header-instance")
            yield Static(id="header-tabs")

    def update(self, **changes: object) -> None:
        """Change some fields of the state (names of :class:`HeaderState`); one redraw."""
        self.state = replace(self.state, **changes)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self._render_state(self.state)

    def watch_state(self, state: HeaderState) -> None:
        self._render_state(state)

    def tabs_text(self) -> Text:
        """``1 Users  2 Audit  3 Creds  4 Runbook  5 Journal`` with the active pane highlighted."""
        tabs = Text(no_wrap=True)
        for pane, key, label in PANE_TABS:
            active = pane == self.state.active_pane
            style = self.get_component_rich_style("header-tab-active" if active else "header-tab")
            tabs.append(f" {key} {label} ", style=style)
        return tabs

    def _render_state(self, state: HeaderState) -> None:
        if not self.is_mounted:
            return
        badges = Text()
        for name in state.badges():
            style = "header-badge-drill" if name == "DRILL" else "header-badge-mode"
            badges.append(f" {name} ", style=self.get_component_rich_style(style))
            badges.append(" ")
        self.query_one("#header-badges", Static).update(badges)
        # The title is ours but may be edited by the responder: still literal text.
        title = clean(state.incident_title, kind="line").text or "(no incident)"
        self.query_one("#header-title", Static).update(Text(title, style="bold"))
        self.query_one("#header-progress", Static).update(Text(state.progress()))
        # Who holds the incident comes first: it is why nothing can be sent from here.
        where = Text()
        if state.lock_holder is not None:
            where.append("held by ", style="bold")
            where.append(clean(state.lock_holder, kind="line").text, style="bold")
            where.append(" · ")
        where.append(clean(state.instance_url, kind="line").text)
        if state.identity:
            where.append("  as ")
            where.append(clean(state.identity, kind="line").text)
        self.query_one("#header-instance", Static).update(where)
        self.query_one("#header-tabs", Static).update(self.tabs_text())
