"""Reads aggregated into one SQLite step give back exactly the rows a row-wise read gives."""

from __future__ import annotations

import sqlite3

from console.store.one_step import one_step_rows

AWKWARD = [
    (1, "plain", None, 0),
    (2, "ünïcødé ✓ 名前", "", -1),
    (3, 'quote " back\\slash', "tab\tnew\nline\r", 9223372036854775807),
    (4, "\x1b[31mred\x1b[0m \x00 nul", '{"json": [1, 2]}', -9223372036854775808),
    (5, "[]", "null", 2**53 + 1),
    (6, "\u202e right-to-left \ufeff", "\U0001f600", 42),
]


def test_one_step_rows_equal_a_row_wise_read() -> None:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", AWKWARD)
    rest = "FROM t WHERE id IN (?, ?, ?, ?, ?, ?, ?)"
    params = [1, 2, 3, 4, 5, 6, 99]
    row_wise = {r[0]: list(r) for r in con.execute(f"SELECT id, a, b, n {rest}", params)}
    one_step = {r[0]: r for r in one_step_rows(con, "id, a, b, n", rest, params)}
    assert one_step == row_wise
    assert all(type(one_step[k][3]) is int for k in one_step)


def test_no_rows_is_an_empty_list() -> None:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    assert one_step_rows(con, "id", "FROM t WHERE id = ?", [1]) == []
