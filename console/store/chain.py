"""The journal's hash chain: canonical JSON records, each hash committing to the previous one.

Every change to a journal entry (its intent and each later update) is appended to
``journal_chain`` as canonical JSON whose SHA-256 commits to the previous record of the same
incident, so an edited, reordered or deleted record is detected (except a truncated tail: anchor
the head hash outside, e.g. in the incident ticket).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from console.store.journal_model import JournalEntry

__all__ = ["ZERO_HASH", "ChainFold", "append_chain", "canonical_json", "chain_head", "fold_chain"]

ZERO_HASH: Final = "0" * 64

# The entry fields a chain record may carry, compared against the journal row.
_RECORDED_FIELDS: Final = (
    "action",
    "target_type",
    "target_id",
    "target_label",
    "params",
    "state",
    "pre_state",
    "post_state",
    "http_status",
    "request_id",
    "error",
    "t_intent",
    "t_sent",
    "t_done",
    "extra",
)


def canonical_json(value: object) -> str:
    """Sorted keys, ASCII only, no whitespace: the form that the journal chain hashes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _digest(prev_hash: str, text: str) -> str:
    return hashlib.sha256((prev_hash + text).encode("ascii")).hexdigest()


def chain_head(con: sqlite3.Connection, incident_id: int) -> str:
    """The newest chain hash of the incident (:data:`ZERO_HASH` before the first record)."""
    r = con.execute(
        "SELECT hash FROM journal_chain WHERE incident_id = ? ORDER BY seq DESC LIMIT 1",
        (incident_id,),
    ).fetchone()
    return str(r[0]) if r else ZERO_HASH


def append_chain(
    con: sqlite3.Connection, incident_id: int, entry_id: int, record: dict[str, Any]
) -> tuple[str, str]:
    """Append ``record`` inside the caller's transaction; returns ``(prev_hash, hash)``."""
    prev_hash = chain_head(con, incident_id)
    text = canonical_json(record)
    digest = _digest(prev_hash, text)
    con.execute(
        "INSERT INTO journal_chain (incident_id, entry_id, record, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?)",
        (incident_id, entry_id, text, prev_hash, digest),
    )
    return prev_hash, digest


@dataclass
class ChainFold:
    """An incident's chain read in order: its own problems and each entry's folded record."""

    problems: list[str] = field(default_factory=list)
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: plan records (``entry`` 0, a ``plan`` id): the whole plan, chained before its first step
    plans: dict[int, dict[str, Any]] = field(default_factory=dict)

    def mismatches(self, entries: Iterable[JournalEntry]) -> list[str]:
        """Every difference between the journal rows and what the chain recorded for them."""
        problems: list[str] = []
        rows = {e.id: e for e in entries}
        for entry_id in sorted(set(rows) - set(self.records)):
            problems.append(f"entry {entry_id}: not in the chain")
        for entry_id in sorted(set(self.records) - set(rows)):
            problems.append(f"entry {entry_id}: in the chain but missing from the journal")
        for entry_id, entry in rows.items():
            record = self.records.get(entry_id)
            if record is None:
                continue
            for key in _RECORDED_FIELDS:
                default: Any = {} if key in ("params", "extra") else None
                if getattr(entry, key) != record.get(key, default):
                    problems.append(f"entry {entry_id}: {key} differs from the chain")
            if (entry.prev_hash, entry.hash) != self.hashes[entry_id]:
                problems.append(f"entry {entry_id}: hash columns differ from the chain")
        return problems


def fold_chain(con: sqlite3.Connection, incident_id: int) -> ChainFold:
    """Check every link and hash of the incident's chain and fold the records per entry."""
    fold = ChainFold()
    expected_prev = ZERO_HASH
    for seq, entry_id, text, prev_hash, digest in con.execute(
        "SELECT seq, entry_id, record, prev_hash, hash FROM journal_chain "
        "WHERE incident_id = ? ORDER BY seq",
        (incident_id,),
    ):
        if prev_hash != expected_prev:
            fold.problems.append(f"record {seq}: broken link to the previous record")
        # A tampered row may hold anything (a blob, non-ASCII text, a JSON list): report it,
        # never crash the verification.
        if not isinstance(text, str) or not isinstance(prev_hash, str) or not text.isascii():
            fold.problems.append(f"record {seq}: not a canonical ASCII JSON record")
        elif _digest(prev_hash, text) != digest:
            fold.problems.append(f"record {seq}: content does not match its hash")
        try:
            record = json.loads(text) if isinstance(text, str | bytes) else None
        except ValueError:
            record = None
        if not isinstance(record, dict):
            fold.problems.append(f"record {seq}: not a JSON object")
            record = {}
        if record.get("entry") != entry_id or record.get("incident_id") != incident_id:
            fold.problems.append(f"record {seq}: names another entry or incident")
        if entry_id == 0 and isinstance(record.get("plan"), int):
            fold.plans[int(record["plan"])] = record
            expected_prev = digest
            continue
        fold.records.setdefault(entry_id, {}).update(record)
        fold.hashes[entry_id] = (prev_hash, digest)
        expected_prev = digest
    return fold
