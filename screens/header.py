"""The two-line header: where we are connected, which incident, what mode, how far the review is.

The DRILL, READ-ONLY and DRY-RUN badges sit first on the line so they survive truncation at 80
columns: a responder must never mistake the drill for production or a dry run for the real thing.
The second line ends with the pane tabs and their keys (``1 Users  2 Audit  3 Credentials``), the
active one highlighted, since the footer has no room for them.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from console.sanitize import clean

__all__ = ["PANE_TABS", "ConsoleHeader", "progress_text"]

#: (pane key, number key, tab label) in the order of the app's 1/2/3 key map.
PANE_TABS: tuple[tuple[str, str, str], ...] = (
    ("users", "1", "Users"),
    ("audit", "2", "Audit"),
    ("credentials", "3", "Credentials"),
)


def progress_text(reviewed: int, total: int, root_reviewed: bool) -> str:
    """``reviewed 37/412, root ✓`` — root is called out because it is the first account to check."""
    return f"reviewed {reviewed}/{total}, root {'✓' if root_reviewed else '✗'}"


class ConsoleHeader(Widget):
    """Shows state handed down by the main screen; it never fetches anything itself."""

    COMPONENT_CLASSES = {
        "header-badge-drill", "header-badge-mode", "header-tab", "header-tab-active",
    }

    instance_url: reactive[str] = reactive("")
    identity: reactive[str] = reactive("")
    incident_title: reactive[str] = reactive("")
    drill: reactive[bool] = reactive(False)
    read_only: reactive[bool] = reactive(False)
    dry_run: reactive[bool] = reactive(False)
    progress: reactive[tuple[int, int, bool] | None] = reactive(None)
    active_pane: reactive[str] = reactive("")

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Static(id="header-badges")
            yield Static(id="header-title")
            yield Static(id="header-progress")
        with Horizontal(id="header-bottom"):
            yield Static(id="header-instance")
            yield Static(id="header-tabs")

    def on_mount(self) -> None:
        self._refresh_all()

    def watch_instance_url(self) -> None:
        self._refresh_all()

    def watch_identity(self) -> None:
        self._refresh_all()

    def watch_incident_title(self) -> None:
        self._refresh_all()

    def watch_drill(self) -> None:
        self._refresh_all()

    def watch_read_only(self) -> None:
        self._refresh_all()

    def watch_dry_run(self) -> None:
        self._refresh_all()

    def watch_progress(self) -> None:
        self._refresh_all()

    def watch_active_pane(self) -> None:
        self._refresh_all()

    def tabs_text(self) -> Text:
        """``1 Users  2 Audit  3 Credentials`` with the active pane highlighted."""
        tabs = Text(no_wrap=True)
        for pane, key, label in PANE_TABS:
            active = pane == self.active_pane
            style = self.get_component_rich_style("header-tab-active" if active else "header-tab")
            tabs.append(f" {key} {label} ", style=style)
        return tabs

    def badges(self) -> list[str]:
        """The mode badges currently shown, most important first."""
        shown = []
        if self.drill:
            shown.append("DRILL")
        if self.read_only:
            shown.append("READ-ONLY")
        if self.dry_run:
            shown.append("DRY-RUN")
        return shown

    def _refresh_all(self) -> None:
        if not self.is_mounted:
            return
        badges = Text()
        for name in self.badges():
            style = "header-badge-drill" if name == "DRILL" else "header-badge-mode"
            badges.append(f" {name} ", style=self.get_component_rich_style(style))
            badges.append(" ")
        self.query_one("#header-badges", Static).update(badges)
        # The title is ours but may be edited by the responder: still literal text.
        title = clean(self.incident_title, kind="line").text or "(no incident)"
        self.query_one("#header-title", Static).update(Text(title, style="bold"))
        progress = "" if self.progress is None else progress_text(*self.progress)
        self.query_one("#header-progress", Static).update(Text(progress))
        where = Text(clean(self.instance_url, kind="line").text)
        if self.identity:
            where.append("  as ")
            where.append(clean(self.identity, kind="line").text)
        self.query_one("#header-instance", Static).update(where)
        self.query_one("#header-tabs", Static).update(self.tabs_text())
