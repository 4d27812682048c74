"""The box above a pane's table that explains why data is missing or partial.

It takes ``Problem`` objects (their text is partly server text, so it is sanitised here) and is
hidden when there is nothing to say.  ``-coverage`` (a token or tier gap) and ``-error`` (a
failure) get different edges in ``styles/panes.tcss``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from console.problem import Problem
from console.sanitize import clean
from screens.safe import WARN_STYLE

__all__ = ["ProblemBox"]

_MAX_LINES = 6


class ProblemBox(Static):
    """Zero, one or several problems, each as sanitised text."""

    DEFAULT_CSS = """
    ProblemBox {
        height: auto;
        max-height: 8;
        padding: 0 1;
        margin: 0 0 1 0;
        display: none;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.problems: tuple[Problem, ...] = ()

    def show_problem(self, problem: Problem | None, *, coverage: bool = False) -> None:
        """One problem in full (title, detail, next step); ``None`` hides the box."""
        self.problems = () if problem is None else (problem,)
        if problem is None:
            self.display = False
            return
        text = Text(end="")
        text.append(clean(problem.title, kind="line").text, style="bold")
        text.append("\n" + clean(problem.detail, kind="text").text)
        if problem.next_step:
            text.append("\n" + clean(problem.next_step, kind="text").text, style="dim")
        self._show(text, coverage=coverage)

    def show_sources(self, problems: Sequence[tuple[str, Problem]]) -> None:
        """One line per failed source (``source: title: detail``); empty hides the box."""
        self.problems = tuple(p for _, p in problems)
        if not problems:
            self.display = False
            return
        text = Text(end="")
        for i, (source, problem) in enumerate(problems[:_MAX_LINES]):
            if i:
                text.append("\n")
            text.append("• ", style=WARN_STYLE)
            text.append(clean(source, kind="line").text + ": ", style="dim")
            text.append(clean(problem.title, kind="line").text, style="bold")
            text.append(": " + clean(problem.detail, kind="line", max_cells=160).text)
        if len(problems) > _MAX_LINES:
            text.append(f"\n… {len(problems) - _MAX_LINES} more")
        self._show(text, coverage=False)

    def _show(self, text: Text, *, coverage: bool) -> None:
        self.update(text)
        self.set_class(coverage, "-coverage")
        self.set_class(not coverage, "-error")
        self.display = True
