"""The coverage panel: what this token can and cannot see on this instance.

A responder who is not an administrator, or who is on a tier without audit events, must know
which conclusions the console cannot support before trusting an empty list. Shown at startup when
anything is limited, and later with ``v``, where it also lists the incident's blind spots (what
the REST API never shows, what this token or tier could not read, what was skipped), each with
the runbook step that covers it elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.capabilities import Coverage, CoverageLine
from console.sanitize import clean

if TYPE_CHECKING:  # the runbook loads with the blind spots, not in front of the first rows
    from console.runbook import BlindSpot

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

    def __init__(
        self,
        coverage: Coverage | None,
        *,
        startup: bool = False,
        blind_spots: Sequence[BlindSpot] = (),
        url: str = "",
    ) -> None:
        """Show ``coverage`` and the incident's ``blind_spots``.

        Args:
            coverage: The result of the capability check (None: it has not run, e.g. offline).
            startup: True while starting up, when ``q`` quits instead of closing.
            blind_spots: What the console could not see in this incident (``v``, not startup).
            url: The instance, when there is no capability check to name it.
        """
        super().__init__()
        self._coverage = coverage
        self._startup = startup
        self._blind = tuple(blind_spots)
        self._url = coverage.url if coverage is not None else url

    def compose(self) -> ComposeResult:
        with Vertical(id="coverage-box", classes="dialog"):
            yield Static(Text("What this token can see", style="bold"), classes="dialog-title")
            yield Static(self._summary(), id="coverage-summary")
            with VerticalScroll(id="coverage-lines"):
                if self._coverage is None:
                    yield Static(
                        Text(
                            "· the capability check has not run in this session "
                            "(offline): blind spots below are from the cache"
                        ),
                        classes="coverage-line",
                    )
                else:
                    for line in self._coverage.lines():
                        yield Static(self._line(line), classes="coverage-line")
                if self._blind:
                    yield Static(
                        Text("Blind spots of this incident", style="bold"),
                        id="coverage-blind-title",
                    )
                for spot in self._blind:
                    yield Static(self._blind_line(spot), classes="coverage-blind")
            hint = "enter: continue   q: quit" if self._startup else "enter / escape: close"
            yield Static(Text(hint), classes="dialog-hint")

    def _summary(self) -> Text:
        return Text(clean(self._url or "", kind="line").text, style="bold")

    def _blind_line(self, spot: BlindSpot) -> Text:
        """``✗ what was not seen`` then ``→ step: how``; the texts are ours but may quote
        server text (a source's title), so they stay literal."""
        text = Text("✗ ", style=self.get_component_rich_style("coverage-gap"))
        text.append(clean(spot.text, kind="text").text)
        from console.runbook import step_by_key  # with the blind spots, not at start-up

        step = step_by_key(spot.covered_by)
        text.append("\n  → ", style="dim")
        if step is not None:
            text.append(clean(step.text, kind="line").text.rstrip("."), style="italic")
            text.append(" — ")
        text.append(clean(spot.how, kind="text").text)
        return text

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
