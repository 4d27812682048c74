"""The audit pane's rows: category keys, columns, cells, the detail modal's parts, coverage.

Pure functions of an ``AuditEvent``: every server string goes through ``safe_cell`` or
``field_line``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Final

from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding

from console.audit import CATEGORY_LABELS, AuditEvent, parse_time
from console.capabilities import Coverage
from console.problem import Problem
from screens.modals.detail import codepoint_report, field_line, sanitize_json
from screens.safe import WARN_STYLE, safe_cell
from screens.widgets.virtual_table import CellRow, Column

__all__ = [
    "CATEGORY_GROUP",
    "CATEGORY_KEYS",
    "COLUMNS",
    "HUNT_LETTERS",
    "audit_detail_parts",
    "coverage_problem",
    "event_cells",
    "not_admin_refusal",
    "short_time",
]


# Quick filter keys → category. Chosen to avoid the app's keys (1-5 ? / : escape enter space a q y
# E T ctrl+p), the main screen's v and i, and the table's j/k/g/G: K is keys, p is repositories.
CATEGORY_KEYS: tuple[tuple[str, str], ...] = (
    ("s", "SIGNIN"),
    ("t", "TOKEN"),
    ("K", "KEY"),
    ("m", "2FA"),
    ("p", "REPO"),
    ("c", "CONFIG"),
    ("n", "RUNNER"),
    ("h", "HOOK"),
    ("u", "USER"),
    ("w", "INSTANCE"),
    ("o", "OTHER"),
)
#: The help screen lists the category keys as their own section under this title.
CATEGORY_GROUP = Binding.Group("category filters (a key shows only it, + then a key adds, 0 all)")

#: ``H`` then this key runs the hunt (``console.audit.hunts.HUNTS`` by key).
HUNT_LETTERS: Final[dict[str, str]] = {
    "admins": "a",
    "tokens": "t",
    "keys": "k",
    "runners": "r",
    "hooks": "h",
    "2fa": "2",
    "members": "m",
    "settings": "s",
    "streaming": "l",
    "apps": "o",
    "repo": "x",
}

# At 80 columns: time, category, event, author and target; the summary and IP appear as the
# terminal widens (lowest priority number first). The detail line shows the event name and
# summary whole; the detail modal (enter) has everything.
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
    parts.append(
        Text(json.dumps(cleaned, indent=2, ensure_ascii=False, sort_keys=True, default=str), end="")
    )
    report = codepoint_report(found)
    if report:
        parts.append(Text(""))
        parts.append(Text("Suspicious characters:", style=WARN_STYLE))
        parts.extend(report)
    return parts


def event_cells(e: AuditEvent) -> CellRow:
    target = " ".join(x for x in (e.target_type, e.target_details or e.target_id) if x)
    return {
        "time": safe_cell(short_time(e.created_at), max_cells=20),  # raw if unparsable
        "category": Text(e.category, style=_CATEGORY_STYLE.get(e.category, ""), end=""),
        "event": safe_cell(e.event_name or "(legacy)", max_cells=40),
        "author": safe_cell(
            e.author_name or (f"#{e.author_id}" if e.author_id is not None else "")
        ),
        "target": safe_cell(target, max_cells=40),
        "ip": safe_cell(e.ip_address, max_cells=40),
        "summary": safe_cell(e.summary, max_cells=120),
    }


def not_admin_refusal(cov: Coverage | None) -> bool:
    """A 403 from a non-administrator on a licensed instance: a rights gap, not a tier gap."""
    return (
        cov is not None and cov.audit_status == 403 and cov.is_admin is False and cov.tier != "free"
    )


def coverage_problem(cov: Coverage) -> Problem:
    """Why there are no audit events: Free tier, or (on a licensed instance) not an admin."""
    from console.audit import free_tier_problem

    problem = free_tier_problem(cov.audit_status)
    if not not_admin_refusal(cov):
        return problem
    return replace(
        problem,
        title="Audit events need an administrator token",
        detail=(
            "GitLab answered 403: instance audit events are admin-only and this token "
            "belongs to a non-administrator."
        ),
        next_step=(
            "Reconnect with an administrator token, or review contribution events and "
            "the users' sign-in fields in the dossier, and the credentials inventory."
        ),
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
