"""The journal: a write-ahead log of response actions (intent → sent → final state).

Each entry is committed durably before the request it describes is sent, and every change is
also appended to the hash chain (:mod:`console.store.chain`), so :meth:`JournalStore.verify_chain`
detects an edited, reordered or deleted record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from console.store.chain import append_chain, chain_head, fold_chain
from console.store.errors import StoreError
from console.store.journal_model import JOURNAL_PENDING_STATES, JOURNAL_STATES, JournalEntry
from console.store.plans import PlanStore
from console.store.values import dbstr, dumps, loads_opt
from console.timeutil import utc_now

__all__ = ["JOURNAL_PENDING_STATES", "JOURNAL_STATES", "JournalEntry", "JournalStore"]

_JOURNAL_JSON_FIELDS: Final = frozenset({"params", "pre_state", "post_state", "extra"})
_JOURNAL_UPDATABLE: Final = frozenset(
    {
        "pre_state",
        "post_state",
        "http_status",
        "request_id",
        "error",
        "t_sent",
        "t_done",
        "extra",
        "target_label",
    }
)
_JOURNAL_COLS: Final = (
    "id, incident_id, action, target_type, target_id, target_label, params, state, pre_state, "
    "post_state, http_status, request_id, error, t_intent, t_sent, t_done, prev_hash, hash, extra"
)
_SELECT_JOURNAL: Final = f"SELECT {_JOURNAL_COLS} FROM journal"  # noqa: S608


def _row_to_journal(r: Sequence[Any]) -> JournalEntry:
    return JournalEntry(
        id=r[0],
        incident_id=r[1],
        action=r[2],
        target_type=r[3],
        target_id=r[4],
        target_label=r[5],
        params=json.loads(r[6]),
        state=r[7],
        pre_state=loads_opt(r[8]),
        post_state=loads_opt(r[9]),
        http_status=r[10],
        request_id=r[11],
        error=r[12],
        t_intent=r[13],
        t_sent=r[14],
        t_done=r[15],
        prev_hash=r[16],
        hash=r[17],
        extra=json.loads(r[18]),
    )


class JournalStore(PlanStore):
    """Write entries (each write also extends the chain), read them back, verify the chain."""

    def journal_intent(
        self,
        incident_id: int,
        action: str,
        target_type: str,
        target_id: int | str,
        target_label: str = "",
        params: Mapping[str, Any] | None = None,
        pre_state: Any = None,
        *,
        state: str = "intent",
        extra: Mapping[str, Any] | None = None,
        plan_step: tuple[int, int] | None = None,
    ) -> int:
        """Record (and commit, durably) the intent to act on one target; returns the entry id.

        ``state`` may be ``noop_already`` when a pre-read showed nothing needs doing.
        ``plan_step`` (plan id, step index) marks that step ``started`` in the same transaction.
        """
        if plan_step is not None:
            extra = {**(extra or {}), "plan": plan_step[0], "step": plan_step[1]}
        if state not in JOURNAL_STATES:
            raise StoreError(f"unknown journal state {state!r}")
        now = utc_now()
        record: dict[str, Any] = {
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "target_label": dbstr(target_label) or "",
            "params": dict(params or {}),
            "state": state,
            "pre_state": pre_state,
            "t_intent": now,
            "extra": dict(extra or {}),
        }
        if state != "intent":
            record["t_done"] = now
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO journal (incident_id, action, target_type, target_id, target_label, "
                "params, state, pre_state, t_intent, t_done, extra, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '')",
                (
                    incident_id,
                    action,
                    target_type,
                    target_id,
                    record["target_label"],
                    dumps(record["params"]),
                    state,
                    None if pre_state is None else dumps(pre_state),
                    now,
                    record.get("t_done"),
                    dumps(record["extra"]),
                ),
            )
            entry_id = int(cur.lastrowid or 0)
            record = {"entry": entry_id, "incident_id": incident_id, **record}
            prev_hash, digest = append_chain(con, incident_id, entry_id, record)
            con.execute(
                "UPDATE journal SET prev_hash = ?, hash = ? WHERE id = ?",
                (prev_hash, digest, entry_id),
            )
            if plan_step is not None:
                cur = con.execute(
                    "UPDATE plan_steps SET state = 'started', entry_id = ? "
                    "WHERE plan_id = ? AND idx = ? AND state = 'planned'",
                    (entry_id, *plan_step),
                )
                if cur.rowcount != 1:  # rolled back with the intent: never send twice
                    raise StoreError(f"plan {plan_step[0]} step {plan_step[1]} is not planned")
        return entry_id

    def journal_update(self, entry_id: int, state: str, **fields: Any) -> JournalEntry:
        """Move an entry to ``state`` and record response fields (committed before returning).

        ``t_sent`` is stamped automatically on ``sent`` and ``t_done`` on any final state.
        ``extra`` is merged into the entry's existing extra (its plan link is kept).
        """
        if state not in JOURNAL_STATES:
            raise StoreError(f"unknown journal state {state!r}")
        unknown = set(fields) - _JOURNAL_UPDATABLE
        if unknown:
            raise StoreError(f"cannot update journal fields {sorted(unknown)}")
        now = utc_now()
        changes: dict[str, Any] = {"state": state, **fields}
        if state == "sent" and "t_sent" not in fields:
            changes["t_sent"] = now
        if state not in JOURNAL_PENDING_STATES and "t_done" not in fields:
            changes["t_done"] = now
        if "target_label" in changes:
            changes["target_label"] = dbstr(changes["target_label"]) or ""
        if "error" in changes and changes["error"] is not None:
            changes["error"] = dbstr(changes["error"])
        with self._write() as con:
            row = con.execute(
                "SELECT incident_id FROM journal WHERE id = ?", (entry_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no journal entry #{entry_id}")
            incident_id = row[0]
            if "extra" in changes:
                old = con.execute("SELECT extra FROM journal WHERE id = ?", (entry_id,)).fetchone()
                changes["extra"] = {**json.loads(old[0] or "{}"), **dict(changes["extra"] or {})}
            record = {"entry": entry_id, "incident_id": incident_id, **changes}
            prev_hash, digest = append_chain(con, incident_id, entry_id, record)
            columns = {
                k: (dumps(v) if k in _JOURNAL_JSON_FIELDS and v is not None else v)
                for k, v in changes.items()
            }
            columns["prev_hash"] = prev_hash
            columns["hash"] = digest
            assignments = ", ".join(f"{k} = ?" for k in columns)
            con.execute(
                f"UPDATE journal SET {assignments} WHERE id = ?",  # noqa: S608 (keys checked)
                (*columns.values(), entry_id),
            )
        entry = self.journal_entry(entry_id)
        assert entry is not None
        return entry

    def journal_entry(self, entry_id: int) -> JournalEntry | None:
        r = self._conn().execute(_SELECT_JOURNAL + " WHERE id = ?", (entry_id,)).fetchone()
        return _row_to_journal(r) if r else None

    def journal_entries(self, incident_id: int) -> list[JournalEntry]:
        rows = self._conn().execute(
            _SELECT_JOURNAL + " WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [_row_to_journal(r) for r in rows]

    def journal_pending(self, incident_id: int) -> list[JournalEntry]:
        """Entries left in ``intent``, ``sent`` or ``unknown``: re-read them before anything."""
        rows = self._conn().execute(
            _SELECT_JOURNAL + " WHERE incident_id = ? "
            "AND state IN ('intent', 'sent', 'unknown') ORDER BY id",
            (incident_id,),
        )
        return [_row_to_journal(r) for r in rows]

    def journal_head(self, incident_id: int) -> str:
        """The newest chain hash: paste it into the incident ticket as an external anchor."""
        return chain_head(self._conn(), incident_id)

    def journal_problems(self, incident_id: int) -> list[str]:
        """Every inconsistency between the chain records, their hashes and the journal rows."""
        fold = fold_chain(self._conn(), incident_id)
        return (
            fold.problems
            + fold.mismatches(self.journal_entries(incident_id))
            + self.plan_problems(incident_id, fold)
        )

    def verify_chain(self, incident_id: int) -> bool:
        """True if the journal and its hash chain are consistent (see :meth:`journal_problems`)."""
        return not self.journal_problems(incident_id)
