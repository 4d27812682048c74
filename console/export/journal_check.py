"""Journal verification: re-walk the hash chain and name the head, or the first broken entry.

Two inputs, one check (:func:`console.store.chain.fold_chain`, never a second implementation):
the live store (``incident-console journal verify``), and the chain records of an evidence
bundle's ``journal.jsonl``, loaded into an in-memory table of the same shape.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.store import ZERO_HASH
from console.store.chain import fold_chain

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["JournalCheck", "chain_records", "check_journal", "check_records", "parse_jsonl"]


@dataclass(frozen=True, slots=True)
class JournalCheck:
    ok: bool
    head: str
    records: int
    problems: tuple[str, ...] = field(default=())

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "head": self.head,
            "records": self.records,
            "first_problem": self.first_problem,
            "problems": list(self.problems),
        }


def check_journal(store: Store, incident_id: int) -> JournalCheck:
    """The live journal: chain links and hashes, and every row against its chain record."""
    problems = store.journal_problems(incident_id)
    head = store.journal_head(incident_id)
    count = len(chain_records(store, incident_id))
    return JournalCheck(not problems, head, count, tuple(problems))


def chain_records(store: Store, incident_id: int) -> list[dict[str, Any]]:
    """The incident's chain records in order, as the bundle's ``journal.jsonl`` carries them."""
    rows = store._conn().execute(
        "SELECT seq, entry_id, record, prev_hash, hash FROM journal_chain "
        "WHERE incident_id = ? ORDER BY seq",
        (incident_id,),
    )
    return [
        {"seq": r[0], "entry_id": r[1], "record": r[2], "prev_hash": r[3], "hash": r[4]}
        for r in rows
    ]


_TABLE = (
    "CREATE TABLE journal_chain (seq INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL, "
    "entry_id INTEGER NOT NULL, record TEXT NOT NULL, prev_hash TEXT NOT NULL, "
    "hash TEXT NOT NULL)"
)


def check_records(
    records: Iterable[Mapping[str, Any]], incident_id: int, expected_head: str | None = None
) -> JournalCheck:
    """Verify exported chain records in file order (``seq`` renumbered by position, so a
    swapped or deleted line breaks a link); ``expected_head`` also catches a cut tail."""
    con = sqlite3.connect(":memory:")
    try:
        con.execute(_TABLE)
        problems: list[str] = []
        count = 0
        for line_no, rec in enumerate(records, start=1):
            count += 1
            try:
                con.execute(
                    "INSERT INTO journal_chain VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        line_no,
                        incident_id,
                        int(rec["entry_id"]),
                        rec["record"],
                        rec["prev_hash"],
                        rec["hash"],
                    ),
                )
            except (KeyError, TypeError, ValueError, sqlite3.Error):
                problems.append(f"record {line_no}: not a journal chain record")
        fold = fold_chain(con, incident_id)
        problems.extend(fold.problems)
        row = con.execute("SELECT hash FROM journal_chain ORDER BY seq DESC LIMIT 1").fetchone()
        head = str(row[0]) if row else ZERO_HASH
    finally:
        con.close()
    if expected_head is not None and head != expected_head:
        problems.append(
            f"head {head[:16]}… differs from the recorded head {expected_head[:16]}…"
            " (records missing at the end?)"
        )
    return JournalCheck(not problems, head, count, tuple(problems))


def parse_jsonl(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """JSON Lines → objects, and a problem per line that is not a JSON object."""
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            problems.append(f"line {n}: not JSON")
            continue
        if isinstance(value, dict):
            out.append(value)
        else:
            problems.append(f"line {n}: not a JSON object")
    return out, problems
