"""Whole plans in the journal: every step of a run recorded before its first request is sent.

A plan row holds the action and its parameters; one step row per target starts ``planned`` and
becomes ``started`` in the same transaction as its journal intent, so after a crash the steps
that never reached the wire are known exactly, and resume can finish them. The plan itself is
appended to the hash chain (``entry`` 0), so a step added or removed afterwards is detected.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from console.store.chain import ChainFold, append_chain
from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.journal_model import PLAN_STEP_STATES, PlanRecord, PlanStep
from console.store.values import dbstr, dumps
from console.timeutil import utc_now

__all__ = ["PlanStore"]

_STEP_COLS: Final = "plan_id, idx, target_type, target_id, target_label, state, entry_id, note"


def _step(r: Sequence[Any]) -> PlanStep:
    return PlanStep(
        int(r[0]),
        int(r[1]),
        str(r[2]),
        r[3],
        str(r[4]),
        str(r[5]),
        None if r[6] is None else int(r[6]),
        r[7],
    )


class PlanStore(StoreBase):
    """Create plans, link their steps to journal entries, list what is left to do."""

    def plan_create(
        self,
        incident_id: int,
        action: str,
        params: Mapping[str, Any] | None,
        targets: Iterable[tuple[str, int | str, str]],
        *,
        title: str = "",
    ) -> int:
        """Journal a whole plan (committed) and return its id.

        Steps of older open plans for the same action on the same targets are marked
        ``superseded``: this plan takes them over, so no target is left planned twice.
        """
        steps = [(kind, tid, dbstr(label) or "") for kind, tid, label in targets]
        now = utc_now()
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO action_plans (incident_id, action, params, title, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (incident_id, action, dumps(dict(params or {})), dbstr(title) or "", now),
            )
            plan_id = int(cur.lastrowid or 0)
            con.executemany(
                "INSERT INTO plan_steps (plan_id, idx, target_type, target_id, target_label) "
                "VALUES (?, ?, ?, ?, ?)",
                [(plan_id, i, kind, tid, label) for i, (kind, tid, label) in enumerate(steps)],
            )
            self._supersede(con, incident_id, plan_id, action, steps)
            record = {
                "entry": 0,
                "incident_id": incident_id,
                "plan": plan_id,
                "action": action,
                "params": dict(params or {}),
                "created_at": now,
                "steps": [[kind, tid, label] for kind, tid, label in steps],
            }
            append_chain(con, incident_id, 0, record)
        return plan_id

    @staticmethod
    def _supersede(
        con: sqlite3.Connection,
        incident_id: int,
        plan_id: int,
        action: str,
        steps: Sequence[tuple[str, int | str, str]],
    ) -> None:
        keys = {(kind, str(tid)) for kind, tid, _ in steps}
        rows = con.execute(
            "SELECT s.plan_id, s.idx, s.target_type, s.target_id FROM plan_steps s "
            "JOIN action_plans p ON p.id = s.plan_id WHERE p.incident_id = ? AND p.action = ? "
            "AND s.state = 'planned' AND s.plan_id != ?",
            (incident_id, action, plan_id),
        ).fetchall()
        for pid, idx, kind, tid in rows:
            if (kind, str(tid)) in keys:
                con.execute(
                    "UPDATE plan_steps SET state = 'superseded', note = ? "
                    "WHERE plan_id = ? AND idx = ?",
                    (f"taken over by plan {plan_id}", pid, idx),
                )

    def plan_step_set(self, plan_id: int, index: int, state: str, note: str | None = None) -> None:
        """Mark a step refused, dropped or planned again (``started`` comes with the intent)."""
        if state not in PLAN_STEP_STATES or state == "started":
            raise StoreError(f"cannot set a plan step to {state!r}")
        with self._write() as con:
            con.execute(
                "UPDATE plan_steps SET state = ?, note = ? WHERE plan_id = ? AND idx = ? "
                "AND state != 'started'",
                (state, dbstr(note), plan_id, index),
            )

    def plan_drop_open(self, plan_id: int, note: str = "dropped by the responder") -> int:
        """Drop every step of ``plan_id`` not yet started; returns how many."""
        with self._write() as con:
            cur = con.execute(
                "UPDATE plan_steps SET state = 'dropped', note = ? "
                "WHERE plan_id = ? AND state = 'planned'",
                (note, plan_id),
            )
            return int(cur.rowcount)

    def plan(self, plan_id: int) -> PlanRecord | None:
        con = self._conn()
        r = con.execute(
            "SELECT id, incident_id, action, params, title, created_at FROM action_plans "
            "WHERE id = ?",
            (plan_id,),
        ).fetchone()
        if r is None:
            return None
        steps = tuple(
            _step(s)
            for s in con.execute(
                f"SELECT {_STEP_COLS} FROM plan_steps WHERE plan_id = ? ORDER BY idx",  # noqa: S608
                (plan_id,),
            )
        )
        return PlanRecord(
            int(r[0]), int(r[1]), str(r[2]), json.loads(r[3]), str(r[4]), str(r[5]), steps
        )

    def plans_open(self, incident_id: int) -> list[PlanRecord]:
        """Plans with steps still ``planned`` (never sent), oldest first."""
        ids = [
            int(r[0])
            for r in self._conn().execute(
                "SELECT DISTINCT p.id FROM action_plans p JOIN plan_steps s ON s.plan_id = p.id "
                "WHERE p.incident_id = ? AND s.state = 'planned' ORDER BY p.id",
                (incident_id,),
            )
        ]
        return [p for p in (self.plan(i) for i in ids) if p is not None]

    def plans_recent(self, incident_id: int, limit: int = 5) -> list[PlanRecord]:
        ids = [
            int(r[0])
            for r in self._conn().execute(
                "SELECT id FROM action_plans WHERE incident_id = ? ORDER BY id DESC LIMIT ?",
                (incident_id, limit),
            )
        ]
        return [p for p in (self.plan(i) for i in ids) if p is not None]

    def plan_problems(self, incident_id: int, fold: ChainFold) -> list[str]:
        """Plans whose rows differ from the chained record (a step added, removed or edited)."""
        problems: list[str] = []
        ids = [
            int(r[0])
            for r in self._conn().execute(
                "SELECT id FROM action_plans WHERE incident_id = ?", (incident_id,)
            )
        ]
        for pid in sorted(set(ids) | set(fold.plans)):
            plan = self.plan(pid)
            record = fold.plans.get(pid)
            if plan is None or record is None:
                problems.append(f"plan {pid}: in the {'chain' if plan is None else 'store'} only")
                continue
            steps = [[s.target_type, s.target_id, s.target_label] for s in plan.steps]
            if steps != record.get("steps") or plan.action != record.get("action"):
                problems.append(f"plan {pid}: steps differ from the chain")
        return problems
