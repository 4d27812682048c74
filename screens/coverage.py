"""The coverage panel: what this token can and cannot see on this instance.

A responder who is not an administrator, or who is on a tier without audit events, must know
which conclusions the console cannot support before trusting an empty list. Shown at startup when
anything is limited, and later with ``v``.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.capabilities import Coverage, CoverageLine
from console.sanitize import clean

__all__ = ["CoverageScreen", "needs_attention"]

_FINE_LEVELS = frozenset({"ok", "info"})
_ICONS = {"ok": "✓", "info": "·", "warn": "!", "warning": "!"}
_STYLES = {
    "ok": "coverage-ok",
    "info": "coverage-info",
    "warn": "coverage-warn",
    "warning": "coverage-warn",
}


def _level(line: CoverageLine) -> str:
    return str(line.level).lower()


def needs_attention(coverage: Coverage) -> bool:
    """Whether any capability line is a warning or a gap (so startup should stop and show it)."""
    return any(_level(line) not in _FINE_LEVELS for line in coverage.lines())


class CoverageScreen(ModalScreen[bool]):
    """Dismisses ``True`` to continue, ``False`` when the responder quits at startup."""

    COMPONENT_CLASSES = {"coverage-ok", "coverage-info", "coverage-warn", "coverage-gap"}

    BINDINGS = [
        Binding("enter", "proceed", "Continue"),
        Binding("escape", "proceed", "Close", show=False),
        Binding("q", "stop", "Quit"),
    ]

    def __init__(self, coverage: Coverage, *, startup: bool = False) -> None:
        """Show ``coverage`` (a ``console.capabilities.Coverage``).

        Args:
            coverage: The result of the capability check.
            startup: True while starting up, when ``q`` quits instead of closing.
        """
        super().__init__()
        self._coverage = coverage
        self._startup = startup

    def compose(self) -> ComposeResult:
        with Vertical(id="coverage-box", classes="dialog"):
            yield Static(Text("What this token can see", style="bold"), classes="dialog-title")
            yield Static(self._summary(), id="coverage-summary")
            with VerticalScroll(id="coverage-lines"):
                for line in self._coverage.lines():
                    yield Static(self._line(line), classes="coverage-line")
            hint = "enter: continue   q: quit" if self._startup else "enter / escape: close"
            yield Static(Text(hint), classes="dialog-hint")

    def _summary(self) -> Text:
        url = clean(self._coverage.url or "", kind="line").text
        return Text(url, style="bold")

    def _line(self, line: CoverageLine) -> Text:
        level = _level(line)
        icon = _ICONS.get(level, "✗")
        style = self.get_component_rich_style(_STYLES.get(level, "coverage-gap"))
        text = Text(f"{icon} ", style=style)
        text.append(clean(line.text, kind="text").text)
        return text

    def action_proceed(self) -> None:
        self.dismiss(True)

    def action_stop(self) -> None:
        self.dismiss(not self._startup)
