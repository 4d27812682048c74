"""The incident report in Markdown, for the incident ticket and a colleague who was not there.

Sections: summary, timeline (histogram and entries), actions and outcomes, reviewed users with
marks and notes, rotated and revoked credentials, runbook state with open items, blind spots,
notes. Server text is redacted, sanitised and Markdown-escaped (a username cannot become a link,
a heading or a table column). No secret is ever in it: the store holds none.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from console import timeutil
from console.logs import redact
from console.runbook import RunbookState, blind_spots, cached_coverage, evaluate, step_by_key
from console.sanitize import safe
from console.timeline import TimelineItem
from console.timeline_sources import Timeline, event_status, open_timeline
from console.timeutil import format_iso, normalize_ts

if TYPE_CHECKING:
    from console.store import Incident, Store

__all__ = ["REPORT_SECTIONS", "md", "render_report"]

REPORT_SECTIONS: Final = (
    "Summary",
    "Timeline",
    "Actions and outcomes",
    "Reviewed users",
    "Rotated and revoked credentials",
    "Runbook",
    "Blind spots",
    "Notes",
)
MAX_TIMELINE_EVENTS: Final = 300
# Enough to stop server text from becoming a link, an image, emphasis, code, HTML or a table
# column; text is never at the start of a line, so # + - need no escape.
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|~])")


def md(value: object, cells: int = 200) -> str:
    """Server text for Markdown: one line, redacted, sanitised, special characters escaped."""
    if value is None or value == "":
        return "—"
    text = safe(redact(str(value)), kind="line", max_cells=cells)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _ts(value: str | None) -> str:
    return normalize_ts(value) or "—"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(row) + " |" for row in rows)
    return out


def _summary(
    store: Store, incident: Incident, state: RunbookState, head: str, now: str
) -> list[str]:
    iid = int(incident.id)
    progress = store.review_progress(iid)
    entries = store.journal_entries(iid)
    done = sum(1 for e in entries if e.state in ("done", "noop_already"))
    events = event_status(store, incident)
    cov = cached_coverage(store, iid)
    version = state.version.lines()[0] if state.version else "unknown"
    lines = [
        f"- **Incident:** #{iid} {md(incident.title)} ({incident.kind.replace('-', ' ')}, "
        f"{incident.status})",
        f"- **Instance:** {md(incident.instance_url)}",
        f"- **Window:** {incident.window_start or 'open'} → {incident.window_end or 'now'}",
        f"- **Subjects:** {', '.join(md(s) for s in incident.subjects) or 'none named'}",
        f"- **Opened:** {incident.created_at}; **report written:** {now}",
        f"- **Users reviewed:** {progress.reviewed} of {progress.total}"
        + (" (root included)" if progress.root_reviewed else " (root not reviewed)"),
        f"- **Audit events in the window:** {events[0] if events else 'not fetched'}"
        + ("" if events is None or events[1] else " (fetch incomplete)"),
        f"- **Response actions:** {len(entries)} journaled, {done} verified",
        f"- **Runbook:** {state.done} of {len(state.steps)} steps done, "
        f"{len(state.open_items)} open items",
        f"- **GitLab:** {md(version, 120)}"
        + (f" (capability check {cov[1]})" if cov else " (no capability check cached)"),
        f"- **Journal head (SHA-256):** `{head}`",
    ]
    note = cov[0].get("clock_note") if cov else None
    if note:
        lines.append(f"- **Clock:** {md(note)}")
    return lines


def _timeline(timeline: Timeline) -> list[str]:
    out = ["Activity per day (audit events, actions and notes):", "", "```"]
    out.extend(timeline.histogram(("event", "action", "note"), "day", 40))
    out.extend(["```", ""])
    # Only the newest events are read (a window of keys from the end), never all of them.
    keys = timeline.keys(("event",), timeline.kind_counts().get("event", 0))
    skipped = max(0, len(keys) - MAX_TIMELINE_EVENTS)
    newest = list(keys[skipped:])
    found = timeline.rows(newest)
    events = [found[k] for k in newest if k in found]
    shown: list[TimelineItem] = list(
        heapq.merge(timeline.iter_items(("action", "note")), events, key=lambda i: (i.when, i.kind))
    )
    if skipped:
        out.append(
            f"The {skipped} oldest audit events are left out here; all are in `audit_events.jsonl`."
        )
        out.append("")
    out.extend(
        _table(
            ("Time (UTC)", "Kind", "Who", "What"),
            ((i.when, i.kind, md(i.who, 40), md(i.what)) for i in shown),
        )
    )
    return out


def _actions(store: Store, iid: int) -> list[str]:
    entries = store.journal_entries(iid)
    if not entries:
        return ["No response action was sent (nor refused or dry-run journaled)."]
    return _table(
        ("#", "Time (UTC)", "Action", "Target", "Outcome", "HTTP", "Request id"),
        (
            (
                str(e.id),
                _ts(e.t_done or e.t_sent or e.t_intent),
                e.action,
                md(e.target_label or e.target_id, 60),
                e.state + (f": {md(e.error, 120)}" if e.error else ""),
                str(e.http_status or "—"),
                md(e.request_id, 60),
            )
            for e in entries
        ),
    )


def _users(store: Store, iid: int) -> list[str]:
    notes: dict[str, list[str]] = {}
    for n in store.notes(iid, "user"):
        notes.setdefault(n.object_id, []).append(f"{md(n.text, 160)} ({md(n.author, 30)})")
    marks = store.marks(iid, "user")
    ids = sorted(
        {int(k) for k in marks if str(k).lstrip("-").isdigit()}
        | {int(k) for k in notes if k.lstrip("-").isdigit()}
    )
    rows = {r.id: r for r in store.users_by_ids(iid, ids)}
    if not ids:
        return ["No user has a review mark or a note yet."]
    body = []
    for uid in ids:
        row = rows.get(uid)
        mark = marks.get(uid)
        body.append(
            (
                str(uid),
                md(row.username if row else "?", 40),
                md(row.name if row else "", 40),
                (mark.mark or "—") if mark else "—",
                md(mark.note if mark else None, 160),
                "; ".join(notes.get(str(uid), [])) or "—",
            )
        )
    return _table(("Id", "Username", "Name", "Mark", "Mark note", "Notes"), body)


def _credentials(store: Store, iid: int) -> list[str]:
    entries = [
        e for e in store.journal_entries(iid) if e.action in ("rotate_token", "revoke_token")
    ]
    if not entries:
        return ["No credential was rotated or revoked through the console."]
    body = []
    for e in entries:
        post = e.post_state if isinstance(e.post_state, dict) else {}
        replacement = ""
        if e.action == "rotate_token" and post.get("new_token_id") is not None:
            replacement = (
                f"new token #{md(post.get('new_token_id'), 20)}, expires "
                f"{md(post.get('new_expires_at'), 30)}"
            )
        body.append(
            (
                md(e.target_label or e.target_id, 60),
                e.action.replace("_token", ""),
                e.state,
                _ts(e.t_done or e.t_intent),
                replacement or "—",
            )
        )
    return [
        "Token values are never recorded; the new value was shown once to the responder.",
        "",
        *_table(("Token", "Action", "Outcome", "Time (UTC)", "Replacement"), body),
    ]


def _runbook(state: RunbookState) -> list[str]:
    out = []
    for s in state.steps:
        box = "x" if s.done else " "
        how = ""
        if s.how == "auto":
            how = f" — *done by the console:* {md(s.evidence)}"
        elif s.how == "hand" and s.tick is not None:
            how = f" — *ticked by {md(s.tick.author, 40)} at {s.tick.at}*" + (
                f": {md(s.tick.note)}" if s.tick.note else ""
            )
        elif s.step.auto:
            how = f" — {md(s.evidence)}"
        out.append(f"- [{box}] {s.step.text}{how}")
        out.extend(f"  - {md(line)}" for line in s.details)
    items = state.items
    out.extend(["", "Open items:", ""])
    if not state.open_items:
        out.append("- none")
    for item in items:
        if item.closed:
            continue
        step = step_by_key(item.step_key) if item.step_key else None
        where = f" (step: {step.text})" if step else ""
        out.append(f"- [ ] {md(item.text, 400)}{where}")
    closed = [i for i in items if i.closed]
    if closed:
        out.extend(["", "Closed items:", ""])
        out.extend(
            f"- [x] {md(i.text, 400)} — {md(i.closed_by, 60)}"
            + (f": {md(i.note)}" if i.note else "")
            for i in closed
        )
    return out


def _blind(store: Store, incident: Incident) -> list[str]:
    out = ["What the console could not see in this incident, and the step that covers it:", ""]
    for spot in blind_spots(store, incident):
        step = step_by_key(spot.covered_by)
        covered = step.text if step else spot.covered_by
        out.append(f"- {md(spot.text, 400)} *Covered by:* {covered} {md(spot.how, 400)}")
    return out


def _notes(store: Store, iid: int) -> list[str]:
    notes = store.notes(iid)
    if not notes:
        return ["No notes."]
    return [
        f"- {n.created_at} **{md(n.author, 40)}** on {n.object_type} "
        f"{md(n.object_id, 40)}: {md(n.text, 2000)}"
        for n in notes
    ]


def render_report(
    store: Store,
    incident: Incident,
    *,
    now: datetime | None = None,
    state: RunbookState | None = None,
) -> str:
    """The whole report as Markdown text."""
    iid = int(incident.id)
    when = format_iso(now or timeutil.now(), "seconds")
    state = state or evaluate(store, incident)
    head = store.journal_head(iid)
    sections: dict[str, list[str]] = {
        "Summary": _summary(store, incident, state, head, when),
        "Timeline": _timeline(open_timeline(store, incident)),
        "Actions and outcomes": _actions(store, iid),
        "Reviewed users": _users(store, iid),
        "Rotated and revoked credentials": _credentials(store, iid),
        "Runbook": _runbook(state),
        "Blind spots": _blind(store, incident),
        "Notes": _notes(store, iid),
    }
    out = [f"# Incident report: {md(incident.title)}", ""]
    for title in REPORT_SECTIONS:
        out.extend([f"## {title}", "", *sections[title], ""])
    out.append(
        "Written by incident-console. Verify the evidence bundle with "
        "`incident-console verify DIR`; compare the journal head with the ticket."
    )
    return "\n".join(out) + "\n"
