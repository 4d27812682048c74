"""Reads that come back in one SQLite step, for the UI thread's pages of rows.

Python's ``sqlite3`` lets go of the interpreter lock around every step, that is every row, and
gets it back only when the running thread lets go in turn: up to the switch interval (5 ms)
per row while a loader thread is busy. A table page of 22 users read on the UI thread took
0.3 ms alone and 50-100 ms beside a busy thread (``bench/ui_reads.py``). Aggregated into one
JSON array by SQLite, the page is one step; orjson turns it back into rows.

Only for columns that are TEXT, INTEGER or NULL (the store keeps no REAL or BLOB): SQLite
writes REALs with 15 significant digits and refuses BLOBs in JSON.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

__all__ = ["one_step_rows"]


def one_step_rows(
    con: sqlite3.Connection, columns: str, rest: str, params: Sequence[Any]
) -> list[list[Any]]:
    """The rows of ``SELECT {columns} {rest}``, read in one step (rows in no set order)."""
    sql = f"SELECT json_group_array(json_array({columns})) {rest}"
    row = con.execute(sql, params).fetchone()
    if row is None or not row[0]:
        return []
    rows: list[list[Any]] = orjson.loads(row[0])
    return rows
