"""CSV and JSON Lines writers: formula injection neutralised, terminal tricks made visible,
tokens redacted; Markdown cells cannot become links or columns."""

from __future__ import annotations

import csv
import io
import json

from console.export import csv_cell, write_csv, write_jsonl
from console.export.report import md


def test_csv_cells_that_start_a_formula_are_neutralised():
    rows = [
        {
            "username": '=HYPERLINK("http://evil","x")',
            "name": "+1+1",
            "email": "-2",
            "state": "@SUM(A1)",
            "id": -5,
        }
    ]
    out = io.StringIO()
    assert write_csv(rows, ("id", "username", "name", "email", "state"), out) == 1
    [header, row] = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == ["id", "username", "name", "email", "state"]
    assert row == ["-5", '\'=HYPERLINK("http://evil","x")', "'+1+1", "'-2", "'@SUM(A1)"]


def test_csv_cells_are_one_sanitised_line_and_never_hold_a_token():
    assert csv_cell("evil\x1b[31m\nname") == "evil␛[31m⏎name"
    assert csv_cell("a\u202egnp.exe") == "a⟨U+202E⟩gnp.exe"
    assert csv_cell("leaked glpat-abcdefghijklmnopqrstu") == "leaked ***"
    assert csv_cell(["a", "=b"]) == "a; =b"
    assert csv_cell(None) == "" and csv_cell(True) == "true"


def test_jsonl_cleans_strings_but_keeps_types():
    out = io.StringIO()
    write_jsonl([{"id": 3, "name": "x\x07y", "tags": ["\u200bz"], "ok": None}], out)
    value = json.loads(out.getvalue())
    assert value == {"id": 3, "name": "x␇y", "tags": ["⟨U+200B⟩z"], "ok": None}
    raw = io.StringIO()
    write_jsonl([{"record": '{"a":"\\u001b"}'}], raw, raw=True)
    assert json.loads(raw.getvalue())["record"] == '{"a":"\\u001b"}'


def test_markdown_text_cannot_become_a_link_a_column_or_html():
    assert md("[click](http://evil)") == "\\[click\\](http://evil)"
    assert md("a|b") == "a\\|b" and md("<img src=x>") == "\\<img src=x\\>"
    assert md("line\nbreak") == "line⏎break" and md(None) == "—"
