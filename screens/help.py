"""The help modal: every key that works right now, read from the live bindings, plus the workflow.

A hand-kept key list drifts from the code; this one is built from ``Screen.active_bindings`` of the
screen underneath (focused widget, its ancestors, the screen and the app), so a pane's own keys
show up as soon as the pane has focus.

Sections are ordered by what a responder looks for: the active pane's keys first (including the
table's enter and space, which mean "open" and "select" there), then the pane's quick filters,
then the screen's and the app's keys, and the table's cursor movement last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.widgets import DataTable, Input, Static

from screens.widgets.virtual_table import VirtualTable

__all__ = ["HelpEntry", "HelpScreen", "collect_bindings"]

WORKFLOW = (
    "Work through an incident in three passes. 1 Users: review every account (filter with /, "
    "mark cleared or flagged, select rows with space and press a for actions such as block). "
    "2 Audit events: look at what happened in the incident window, per user or instance-wide. "
    "3 Credentials: find and revoke tokens and keys an attacker could keep using. "
    "Every action is journaled before it is sent and verified afterwards; your marks, filters "
    "and place are saved as you go, so after a crash or disconnect start the console again "
    "and it resumes the incident."
)


@dataclass(frozen=True)
class HelpEntry:
    """One key in one group."""

    group: str
    key: str
    description: str
    enabled: bool
    rank: int = 0
    """Section order: 0 pane, 1 pane filters, 2 screen, 3 everywhere, 4 navigation."""
    shown: bool = False
    """Also in the footer: listed first within its section."""
    detail: str = ""
    """The binding's tooltip: what the footer's short words leave out (shown dim after them)."""


# Table bindings that belong with the pane's own keys (they open or select the pane's rows).
_ROW_ACTIONS = frozenset({"select_row", "toggle_selection", "select_cursor", "select"})
# Focused low-level widgets whose other keys are plain cursor movement.
_NAVIGATION_WIDGETS = (ScrollableContainer, ScrollView, DataTable, Input)


def _group_title(node: DOMNode) -> str:
    if node.BINDING_GROUP_TITLE:
        return node.BINDING_GROUP_TITLE
    if isinstance(node, App):
        return "Everywhere"
    if isinstance(node, Screen):
        return "This screen"
    # "CredentialsPane" -> "Credentials pane", "VirtualTable" -> "Virtual table"
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", type(node).__name__)
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else "Widget"


def _describe(binding: Binding) -> str:
    return binding.description or binding.action.replace("_", " ")


def _owner(node: DOMNode) -> DOMNode:
    """The widget a table's open/select keys act for: its nearest ancestor with key bindings."""
    for ancestor in node.ancestors:
        if isinstance(ancestor, Screen) or type(ancestor).BINDINGS:
            return ancestor
    return node


def _section(node: DOMNode, binding: Binding) -> tuple[int, str]:
    if isinstance(node, App):
        return 3, _group_title(node)
    if isinstance(node, Screen):
        return 2, _group_title(node)
    if isinstance(node, _NAVIGATION_WIDGETS):
        owner = _owner(node)
        if binding.action in _ROW_ACTIONS:
            return (2 if isinstance(owner, Screen) else 0), _group_title(owner)
        # The record panes' table is the common case (and lists that declare the same keys,
        # BINDING_GROUP_TITLE "Navigation"); a list that moves differently (Textual's own
        # OptionList or DataTable in a pane) says whose keys these are.
        if (
            isinstance(node, VirtualTable)
            or node.BINDING_GROUP_TITLE == "Navigation"
            or isinstance(owner, Screen)
        ):
            return 4, "Navigation"
        return 4, f"Navigation ({_group_title(owner)})"
    title = _group_title(node)
    if binding.group is not None and binding.group.description:
        return 1, f"{title}: {binding.group.description}"
    return 0, title


def collect_bindings(screen: Screen[object]) -> list[HelpEntry]:
    """The screen's active bindings, by section: pane, pane filters, screen, app, navigation."""
    app = screen.app
    entries: list[HelpEntry] = []
    seen: dict[tuple[str, str], int] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system or binding.key.startswith("super+"):
            # Textual's own plumbing, and super+ keys, which a terminal over SSH never sends.
            continue
        rank, group = _section(active.node, binding)
        key = app.get_key_display(binding)
        description = _describe(binding)
        same = seen.get((group, binding.action))
        if same is not None and entries[same].description == description:
            # One line for "O" and "shift+o": same action, same words (footer key first).
            first = entries[same]
            pair = (key, first.key) if binding.show and not first.shown else (first.key, key)
            keys = ", ".join(pair)
            entries[same] = replace(first, key=keys, shown=first.shown or binding.show)
            continue
        seen[(group, binding.action)] = len(entries)
        entries.append(
            HelpEntry(
                group=group,
                key=key,
                description=description,
                enabled=active.enabled,
                rank=rank,
                shown=binding.show,
                detail=binding.tooltip,
            )
        )
    # Stable: within a section, footer keys first, then chain order.
    entries.sort(key=lambda entry: (entry.rank, not entry.shown))
    return entries


class HelpScreen(ModalScreen[None]):
    """Keys grouped by where they come from; escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close help"),
        Binding("q", "close", "Close help", show=False),
        Binding("question_mark", "close", "Close help", show=False),
        # The same movement keys as every list.
        Binding("down,j", "scroll('down')", "Scroll down", show=False),
        Binding("up,k", "scroll('up')", "Scroll up", show=False),
        Binding("pagedown,ctrl+d", "scroll('page_down')", "Page down", show=False),
        Binding("pageup,ctrl+u", "scroll('page_up')", "Page up", show=False),
        Binding("home,g", "scroll('home')", "Top", show=False),
        Binding("end,G", "scroll('end')", "Bottom", show=False),
    ]

    def __init__(self, entries: list[HelpEntry]) -> None:
        super().__init__()
        self.entries = entries

    def groups(self) -> dict[str, list[HelpEntry]]:
        groups: dict[str, list[HelpEntry]] = {}
        for entry in self.entries:
            groups.setdefault(entry.group, []).append(entry)
        return groups

    def plain_text(self) -> str:
        """The whole help as plain lines (what the tables show, without styling)."""
        lines = []
        for title, entries in self.groups().items():
            lines.append(title)
            lines.extend(
                f"  {e.key}  {e.description}" + (f" ({e.detail})" if e.detail else "")
                for e in entries
            )
        return "\n".join([*lines, "Workflow", WORKFLOW])

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(Text("Keys (escape closes)", style="bold"), classes="dialog-title")
            for title, entries in self.groups().items():
                yield Static(Text(title, style="bold underline"), classes="help-group")
                yield Static(self._table(entries), classes="help-keys")
            yield Static(Text("Workflow", style="bold underline"), classes="help-group")
            yield Static(Text(WORKFLOW), classes="help-workflow")

    @staticmethod
    def _table(entries: list[HelpEntry]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(min_width=8, no_wrap=True)
        table.add_column()
        for entry in entries:
            style = "" if entry.enabled else "dim"
            note = "" if entry.enabled else " (not available here)"
            words = Text(entry.description + note, style=style)
            if entry.detail:
                words.append(f" ({entry.detail})", style="dim")
            table.add_row(Text(entry.key, style="bold " + style), words)
        return table

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, where: str) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        if where in ("down", "up"):
            box.scroll_relative(y=1 if where == "down" else -1, animate=False)
        elif where in ("page_down", "page_up"):
            page = max(1, box.scrollable_content_region.height - 1)
            box.scroll_relative(y=page if where == "page_down" else -page, animate=False)
        elif where == "home":
            box.scroll_home(animate=False)
        else:
            box.scroll_end(animate=False)
