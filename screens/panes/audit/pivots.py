"""What the audit pane says and offers: the filter bar's words and the pivots of one event.

Pure functions of the view and the event; server strings go through ``safe_cell`` (the bar) or
the chooser's ``safe_text``.
"""

from __future__ import annotations

from rich.text import Text

from console.audit import CATEGORY_ORDER, AuditEvent
from console.audit.hunts import hunt_by_key
from console.audit.view import AuditView, scope_label
from console.store import EventCounts
from screens.modals.choice import Choice
from screens.safe import safe_cell

__all__ = ["filter_bar_text", "pivot_choices"]


def _user_label(view: AuditView) -> str | None:
    if view.user_id is None:
        return None
    return f"@{view.username} (#{view.user_id})" if view.username else f"#{view.user_id}"


def filter_bar_text(view: AuditView, shown: int, total: int, counts: dict[str, int]) -> Text:
    """Counts, every active filter (scope, hunt, fields, categories, search) and the count per
    category for the current filter."""
    f = view
    bar = Text(end="")
    bar.append(f"{shown:,} of {total:,} events", style="bold")
    if f.categories:
        bar.append("  only: ", style="bold")
        bar.append(", ".join(c for c in CATEGORY_ORDER if c in f.categories))
    if f.scope != "instance":
        bar.append(f"  scope: {scope_label(f.scope)}", style="bold")
    hunt = hunt_by_key(f.hunt) if f.hunt else None
    if hunt is not None:
        bar.append("  hunt: ", style="bold")
        bar.append(hunt.title)
    for label, value in (
        ("user", _user_label(f)),
        ("author", f.author),
        ("ip", f.ip),
        ("event", f.event_name),
        ("entity", " ".join(map(str, f.entity)) if f.entity else None),
        ("target", " ".join(f.target) if f.target else None),
        ("since", f.since),
        ("until", f.until),
    ):
        if value:
            bar.append(f"  {label}: ", style="bold")
            bar.append_text(safe_cell(value, max_cells=30))
    if f.search:
        bar.append("  search: ", style="bold")
        bar.append_text(safe_cell(f.search, max_cells=30))
    if counts:
        # a broad search's counts stop early: each is then "at least"
        more = "+" if isinstance(counts, EventCounts) and counts.capped else ""
        bar.append("  ")
        bar.append(
            " ".join(f"{c}:{counts[c]:,}{more}" for c in CATEGORY_ORDER if counts.get(c)),
            style="dim",
        )
    if not (f.is_filtered or f.search):
        bar.append("  / search · H hunts · P pivots · ? keys", style="dim")
    return bar


def pivot_choices(ev: AuditEvent) -> list[Choice]:
    """Where ``P`` can go from ``ev`` (only the pivots the event has data for)."""
    choices: list[Choice] = []
    author = ev.author_id is not None and ev.author_id > 0
    if author:
        choices.append(("a", f"Dossier of the author @{ev.author_name}", ""))
    if ev.ip_address:
        choices.append(("i", f"Every event from {ev.ip_address}", ""))
        choices.append(
            (
                "u",
                f"Every user seen from {ev.ip_address}",
                "signed in from it, or the author of an event from it",
            )
        )
    if ev.target_type and ev.target_id:
        choices.append(("t", f"Every event about {ev.target_type} {ev.target_id}", ""))
        choices.append(
            (
                "c",
                f"{ev.target_type} {ev.target_details or ev.target_id} in the credentials pane",
                "",
            )
        )
    if ev.entity_type in ("Group", "Project") and ev.entity_id is not None:
        choices.append(("s", f"{ev.entity_type} #{ev.entity_id}'s own audit events", ""))
    if author:
        choices.append(("e", f"Every event by or about @{ev.author_name}", ""))
    return choices
