"""How a response run's steps read on the run screen: the result cell of each outcome (or of a
plan step before a resume runs), the detail line under the table, and a failed run's sentence.

Server text in outcomes (messages, request ids, labels) goes through ``console.sanitize`` here.
"""

from __future__ import annotations

from rich.text import Text

from actions import StepOutcome
from console.sanitize import safe

__all__ = [
    "STATE_STYLE",
    "STATE_WORD",
    "describe_failure",
    "outcome_cell",
    "outcome_detail",
    "step_cell",
]

STATE_STYLE = {
    "done": "green",
    "noop_already": "green",
    "would_do": "cyan",
    "not_found": "yellow",
    "forbidden": "yellow",
    "refused": "yellow",
    "skipped": "dim",
    "failed": "bold red",
    "unknown": "bold red",
    # plan step states shown before a resume runs
    "not started": "dim",
    "in flight": "yellow",
    "verified after resume": "green",
    "already done": "green",
    "needs attention": "bold red",
    "taken over": "dim",
    "dropped": "dim",
}
STATE_WORD = {
    "done": "done",
    "noop_already": "already",
    "would_do": "would do",
    "not_found": "not found",
    "forbidden": "forbidden",
    "refused": "refused",
    "skipped": "skipped",
    "failed": "FAILED",
    "unknown": "UNKNOWN",
}


def step_cell(state: str, detail: str = "") -> Text:
    """A journaled plan step's state (before a resume runs), with its detail dimmed."""
    cell = Text(state, style=STATE_STYLE.get(state, ""))
    if detail:
        cell.append("  " + safe(detail, kind="line", max_cells=80), style="dim")
    return cell


def outcome_cell(out: StepOutcome) -> Text:
    """The result column for one step's outcome."""
    word = STATE_WORD.get(out.state, out.state)
    message = safe(out.message, kind="line", max_cells=200)
    style = STATE_STYLE.get(out.state, "")
    if out.attention is not None:
        cell = Text("NEEDS ATTENTION", style="bold red")
        cell.append(
            "  " + safe(out.attention.text, kind="line", max_cells=120) + "  (v)", style="bold"
        )
    elif message.lower().startswith(word.lower()):
        cell = Text(message, style=style)
    else:
        cell = Text(word, style=style)
        if message:
            cell.append("  " + message, style="dim")
    return cell


def outcome_detail(out: StepOutcome) -> Text:
    """The detail line for the highlighted step: its whole message, request id, follow-up."""
    line = Text(f"#{out.target.id}: ", style="bold")
    line.append(safe(out.message, kind="line", max_cells=300))
    if out.request_id:
        line.append(f"  (request {safe(out.request_id, kind='line', max_cells=40)})", style="dim")
    if out.attention is not None and out.attention.action:
        line.append(
            f"\nv: {safe(out.attention.text, kind='line', max_cells=120)}", style="bold yellow"
        )
    return line


def describe_failure(exc: BaseException) -> str:
    """One line for a run that failed outright (never a traceback)."""
    try:
        from console.errors import describe_error

        return describe_error(exc).one_line()
    except Exception:
        return safe(f"{type(exc).__name__}: {exc}", kind="line", max_cells=200)
