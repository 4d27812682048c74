"""The runbook's state for one incident: which steps are done, how we know, what stays open.

A step the console performs ticks itself from what actually happened: journal entries whose
outcome was verified (``done``, or ``noop_already``: a read showed it was already so), review
marks and the cache (a complete audit fetch for the incident window, the credentials
inventory). A step the console cannot do is ticked by hand (who, when, a note:
:mod:`console.store.runbook_ticks`). Open items (a blocked user to unblock later, an action whose
outcome is unknown, every blind spot) stay open until what closes them happens or a responder
closes them by hand. Everything here only reads the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from console.runbook.blindspots import INVENTORY_CACHE_KEY, blind_spots, cached_coverage
from console.runbook.steps import Step, steps_for
from console.runbook.versions import VersionCheck, check_version
from console.sanitize import safe

if TYPE_CHECKING:
    from console.audit.stored import WindowStatus
    from console.store import Incident, JournalEntry, RunbookTick, Store

__all__ = ["VERIFIED_STATES", "OpenItem", "RunbookState", "StepState", "evaluate"]

#: Journal states that mean "the server shows the change".
VERIFIED_STATES: Final = frozenset({"done", "noop_already"})
_PENDING: Final = frozenset({"intent", "sent", "unknown"})


@dataclass(frozen=True, slots=True)
class StepState:
    step: Step
    done: bool
    how: str  # "auto" | "hand" | "" (not done)
    evidence: str  # what ticked it, or what is missing (plain, display-safe text)
    tick: RunbookTick | None = None
    details: tuple[str, ...] = ()  # extra lines (the version check)


@dataclass(frozen=True, slots=True)
class OpenItem:
    key: str
    text: str
    step_key: str | None
    closed: bool
    closed_by: str = ""  # "auto: …" or the hand tick's author
    note: str = ""


@dataclass(frozen=True, slots=True)
class RunbookState:
    kind: str
    steps: tuple[StepState, ...]
    items: tuple[OpenItem, ...] = field(default=())
    version: VersionCheck | None = None

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def open_items(self) -> list[OpenItem]:
        return [i for i in self.items if not i.closed]

    def summary(self) -> str:
        """One line for the header: ``runbook 3/6 · 2 open``."""
        text = f"runbook {self.done}/{len(self.steps)}"
        if self.open_items:
            text += f" · {len(self.open_items)} open"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "done": self.done,
            "total": len(self.steps),
            "steps": [
                {
                    "key": s.step.key,
                    "text": s.step.text,
                    "done": s.done,
                    "how": s.how,
                    "evidence": s.evidence,
                    "ticked_by": s.tick.author if s.tick else None,
                    "ticked_at": s.tick.at if s.tick else None,
                    "note": s.tick.note if s.tick else None,
                }
                for s in self.steps
            ],
            "open_items": [
                {
                    "key": i.key,
                    "text": i.text,
                    "step": i.step_key,
                    "closed": i.closed,
                    "closed_by": i.closed_by,
                    "note": i.note,
                }
                for i in self.items
            ],
        }


def _label(entry: JournalEntry) -> str:
    label = entry.target_label or f"#{entry.target_id}"
    return safe(label, kind="line", max_cells=40)


def _verified(entries: Sequence[JournalEntry], actions: set[str]) -> list[JournalEntry]:
    return [e for e in entries if e.action in actions and e.state in VERIFIED_STATES]


def _subjects_covered(incident: Incident, entries: Sequence[JournalEntry]) -> tuple[bool, str]:
    """Whether every incident subject (username or id) has one of ``entries``."""
    if not entries:
        return False, "not done yet"
    names = {str(e.target_id) for e in entries} | {e.target_label.lower() for e in entries}
    subjects = [s.strip().lstrip("@") for s in incident.subjects if s.strip()]
    missing = [s for s in subjects if s.lower() not in names]
    labels = ", ".join(sorted({_label(e) for e in entries}))
    if missing:
        left = ", ".join(safe(m, kind="line", max_cells=40) for m in missing)
        return False, f"verified for {labels}; not yet for {left}"
    return True, f"verified for {labels}"


def _attempts(entries: Sequence[JournalEntry], actions: set[str]) -> str:
    """Why a console step is not ticked: never tried, or how the last attempt ended."""
    tried = [e for e in entries if e.action in actions]
    if not tried:
        return "not done yet"
    last = tried[-1]
    status = f", HTTP {last.http_status}" if last.http_status else ""
    return f"not verified: last attempt on {_label(last)} ended '{last.state}'{status}"


class _Facts:
    """What the rules read, fetched once per evaluation."""

    def __init__(self, store: Store, incident: Incident) -> None:
        from console.audit import events_cache_key

        self.store = store
        self.incident = incident
        self.entries = store.journal_entries(int(incident.id))
        self.audit = store.cache_get(int(incident.id), events_cache_key(*incident.window))
        self.inventory = store.cache_get(int(incident.id), INVENTORY_CACHE_KEY)

    def stored_audit(self) -> WindowStatus | None:
        """The incident window's audit events in the store's events table (the audit pane)."""
        from console.audit.stored import stored_window_status

        return stored_window_status(self.store, int(self.incident.id), self.incident.window)

    def blocked_not_unblocked(self) -> list[JournalEntry]:
        """Users whose last verified block/unblock is a block."""
        last: dict[str, JournalEntry] = {}
        for e in _verified(self.entries, {"block_user", "unblock_user"}):
            last[str(e.target_id)] = e
        return [e for e in last.values() if e.action == "block_user"]


def _auto(rule: str, facts: _Facts) -> tuple[bool, str]:
    if rule.startswith("verified:"):
        actions = set(rule.split(":", 1)[1].split(","))
        hits = _verified(facts.entries, actions)
        if "block_user" in actions and hits:
            return _subjects_covered(facts.incident, hits)
        if not hits:
            return False, _attempts(facts.entries, actions)
        labels = ", ".join(sorted({_label(e) for e in hits})[:10])
        more = f" and {len(hits) - 10} more" if len(hits) > 10 else ""
        return True, f"verified for {labels}{more}"
    if rule == "audit_window":
        stored = facts.stored_audit()
        if stored is not None:
            if not stored.complete:
                return False, f"fetch stopped part-way ({stored.count} events stored)"
            return True, (
                f"{stored.count} events of the incident window fetched {stored.fetched_at}"
            )
        if facts.audit is None or not isinstance(facts.audit[0], Mapping):
            return False, "the incident window's audit events are not fetched yet"
        value, fetched_at = facts.audit
        count = len(value.get("events") or ())
        if not value.get("complete", True):
            return False, f"fetch stopped part-way ({count} events, {fetched_at})"
        return True, f"{count} events of the incident window fetched {fetched_at}"
    if rule == "all_users_marked":
        p = facts.store.review_progress(int(facts.incident.id))
        if p.total and p.reviewed == p.total:
            return True, f"all {p.total} users have a review mark, root included"
        root = "root reviewed" if p.root_reviewed else "root not reviewed"
        return False, f"{p.reviewed}/{p.total} users reviewed ({root})"
    if rule == "inventory":
        if facts.inventory is None or not isinstance(facts.inventory[0], Mapping):
            return False, "the credentials inventory is not fetched yet"
        value, fetched_at = facts.inventory
        rows = len(value.get("rows") or ())
        if not value.get("complete", True):
            return False, f"inventory load was partial ({rows} credentials, {fetched_at})"
        return True, f"{rows} credentials fetched {fetched_at}"
    if rule == "unblocked":
        blocks = _verified(facts.entries, {"block_user"})
        if not blocks:
            return False, "nobody was blocked"
        left = facts.blocked_not_unblocked()
        if left:
            return False, "still blocked: " + ", ".join(sorted(_label(e) for e in left))
        return True, "every blocked user has a verified unblock"
    raise ValueError(f"unknown runbook rule {rule!r}")


def _open_items(
    facts: _Facts, ticks: Mapping[str, RunbookTick], coverage: Mapping[str, Any] | None
) -> list[OpenItem]:
    kind_steps = {s.key for s in steps_for(facts.incident.kind)}
    unblock_step = "account.unblock" if "account.unblock" in kind_steps else "instance.users"
    raw: list[tuple[str, str, str | None, bool, str]] = []
    blocked_now = {str(e.target_id) for e in facts.blocked_not_unblocked()}
    seen: set[str] = set()
    for e in _verified(facts.entries, {"block_user"}):
        tid = str(e.target_id)
        if tid in seen:
            continue
        seen.add(tid)
        raw.append(
            (
                f"open:unblock:{tid}",
                f"Unblock {_label(e)} when the investigation is done",
                unblock_step,
                tid not in blocked_now,
                "auto: unblock verified",
            )
        )
    for e in facts.entries:
        if e.state in _PENDING:
            raw.append(
                (
                    f"open:pending:{e.id}",
                    f"Journal entry {e.id} ({e.action} {_label(e)}) is '{e.state}': "
                    "resume or check it",
                    None,
                    False,
                    "",
                )
            )
    for spot in blind_spots(facts.store, facts.incident, coverage):
        raw.append(
            (
                f"open:blind:{spot.key}",
                f"Blind spot: {spot.text} {spot.how}",
                spot.covered_by,
                False,
                "",
            )
        )
    items = []
    for key, text, step, auto_closed, why in raw:
        tick = ticks.get(key)
        if auto_closed:
            items.append(OpenItem(key, text, step, True, why))
        elif tick is not None:
            items.append(OpenItem(key, text, step, True, tick.author, tick.note))
        else:
            items.append(OpenItem(key, text, step, False))
    return items


def evaluate(
    store: Store, incident: Incident, coverage: Mapping[str, Any] | None = None
) -> RunbookState:
    """The runbook state of ``incident`` (``coverage``: a snapshot, else the cached one)."""
    facts = _Facts(store, incident)
    ticks = store.runbook_ticks(int(incident.id))
    if coverage is None:
        cached = cached_coverage(store, int(incident.id))
        coverage = cached[0] if cached else None
    version = check_version((coverage or {}).get("version"), (coverage or {}).get("revision"))
    states: list[StepState] = []
    for step in steps_for(incident.kind):
        details: tuple[str, ...] = tuple(version.lines()) if step.key == "instance.update" else ()
        done, evidence = _auto(step.auto, facts) if step.auto else (False, "ticked by hand")
        tick = ticks.get(step.key)
        if done:
            states.append(StepState(step, True, "auto", evidence, tick, details))
        elif tick is not None:
            states.append(StepState(step, True, "hand", evidence, tick, details))
        else:
            states.append(StepState(step, False, "", evidence, None, details))
    return RunbookState(
        incident.kind, tuple(states), tuple(_open_items(facts, ticks, coverage)), version
    )
