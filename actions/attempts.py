"""Attempts that sent nothing are journaled too: refusals and dry runs (issue 10.5).

A read-only or dry-run run, a typed confirmation that did not match, a plan another console's
lock refused, the console's own token left unconfirmed: each leaves one journal entry for the
plan, so the journal shows what the responder tried and why nothing reached GitLab.

Why an ordinary journal entry and not a new state or a separate record: the journal's states are
a CHECK constraint of the schema (a new one would rebuild the table) and the chain already covers
every entry. Entries that sent nothing use the two terminal states that never mean "changed":
``failed`` for a refusal and ``noop_already`` for a dry run, both with ``extra["not_sent"]``
naming why and ``error`` saying it in a sentence; ``t_sent``, ``http_status`` and ``request_id``
stay empty. Terminal states are never re-read by resume, never undone (undo needs ``done``) and
never count as an attempt of a non-repeatable step, so nothing downstream mistakes them for a
request. :func:`not_sent_word` is how the journal view names them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from actions.model import JSON, JournalPort, Plan, StepOutcome

__all__ = ["NOT_SENT", "journal_not_sent", "not_sent_word"]

log = logging.getLogger(__name__)

#: why nothing was sent → the state journaled and the word the journal view shows (short: it is
#: a column at 80 columns; the entry's ``error`` holds the whole sentence)
NOT_SENT: Final[Mapping[str, tuple[str, str]]] = {
    "read_only": ("failed", "refused: read-only"),
    "writer_elsewhere": ("failed", "refused: locked"),
    "confirmation": ("failed", "refused: confirm"),
    "cancelled": ("failed", "refused: cancelled"),
    "own_token_unconfirmed": ("failed", "refused: own token"),
    "dry_run": ("noop_already", "dry run"),
}
#: target ids journaled with a plan-wide entry (the count is always there)
MAX_IDS: Final = 500


def journal_not_sent(
    store: JournalPort,
    incident_id: int,
    plan: Plan,
    why: str,
    message: str,
    *,
    outcomes: Sequence[StepOutcome] = (),
) -> int | None:
    """Journal one entry for a ``plan`` that sent nothing; returns its id (None if the journal
    could not be written: a refusal must still reach the responder, so this never raises)."""
    if why not in NOT_SENT:
        raise ValueError(f"unknown reason {why!r}")
    state, _ = NOT_SENT[why]
    action = plan.action
    targets = plan.targets
    if len(targets) == 1:
        ttype, tid, label = targets[0].kind, targets[0].id, targets[0].safe_label
    else:
        kinds = sorted({t.kind for t in targets}) or sorted(action.target_kinds)
        ttype, tid, label = "plan", len(targets), f"{len(targets)} {'/'.join(kinds)} targets"
    params: dict[str, JSON] = {
        **action.params(),
        "count": len(targets),
        "target_ids": [t.id for t in targets[:MAX_IDS]],
    }
    extra: dict[str, Any] = {"not_sent": why}
    if outcomes:
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.state] = counts.get(o.state, 0) + 1
        extra["outcomes"] = counts
    try:
        entry = store.journal_intent(
            incident_id, action.name, ttype, tid, label, params, state=state, extra=extra
        )
        store.journal_update(entry, state, error=message[:500])
    except Exception as exc:  # a read-only database, a full disk: say so in the log only
        log.warning(
            "could not journal a %s attempt of %s: %s", why, action.name, type(exc).__name__
        )
        return None
    return entry


def not_sent_word(extra: Mapping[str, Any] | None) -> str | None:
    """``refused: read-only`` / ``dry run: nothing sent`` for an entry that sent nothing."""
    why = (extra or {}).get("not_sent")
    if isinstance(why, str) and why in NOT_SENT:
        return NOT_SENT[why][1]
    return None
