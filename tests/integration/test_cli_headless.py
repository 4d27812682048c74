"""Headless commands: incidents, export, verify, journal show/verify; read-only, no token,
exit codes a script can test (0 ok, 1 verification failed, 2 usage or environment)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import main
from tests.demo_incident import Demo, demo_on_private_drill


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from demo_on_private_drill(tmp_path_factory)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_incidents_lists_with_runbook_progress(demo: Demo, capsys) -> None:
    code, out, _ = _run(capsys, "incidents", "--db", str(demo.db), "--json")
    assert code == 0
    [row] = json.loads(out)
    assert row["id"] == demo.incident.id and row["runbook"].startswith("runbook 4/6")
    assert row["journal_head"] == demo.store.journal_head(demo.incident.id)
    code, out, _ = _run(capsys, "incidents", "--db", str(demo.db))
    assert code == 0 and "mchen phished" in out and "compromised-account" in out


def test_export_then_verify_then_tamper(demo: Demo, capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "bundle"
    code, out, err = _run(
        capsys,
        "export",
        "--db",
        str(demo.db),
        "--incident",
        str(demo.incident.id),
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    assert demo.store.journal_head(demo.incident.id) in out
    code, out, _ = _run(capsys, "verify", str(out_dir))
    assert code == 0 and out.startswith("OK:")
    code, out, err = _run(
        capsys,
        "export",
        "--db",
        str(demo.db),
        "--incident",
        str(demo.incident.id),
        "--out",
        str(out_dir),
    )
    assert code == 2 and "already exists" in err

    copy = tmp_path / "copy"
    shutil.copytree(out_dir, copy)
    os.chmod(copy, 0o755)
    users = copy / "users.jsonl"
    os.chmod(users, 0o644)
    users.write_bytes(users.read_bytes().replace(b"mchen", b"mchem", 1))
    code, out, _ = _run(capsys, "verify", str(copy), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["first_problem"].startswith("users.jsonl:")
    code, out, _ = _run(capsys, "verify", str(copy))
    assert code == 1 and out.startswith("FAILED: users.jsonl")


def test_journal_show_and_verify(demo: Demo, capsys, tmp_path: Path) -> None:
    db = ["--db", str(demo.db), "--incident", str(demo.incident.id)]
    code, out, _ = _run(capsys, "journal", "show", *db, "--json")
    assert code == 0
    shown = json.loads(out)
    assert [e["action"] for e in shown["entries"]][:2] == ["block_user", "reset_password"]
    assert all(e["request_id"] for e in shown["entries"])
    first = shown["entries"][0]
    assert (first["method"], first["path"]) == ("POST", "/users/7/block")
    assert first["verification"] == "verified"
    code, out, _ = _run(capsys, "journal", "show", *db, "--action", "block_user")
    assert code == 0 and "POST   /users/7/block" in out and "/users/7 " not in out
    code, out, _ = _run(capsys, "journal", "verify", *db)
    assert code == 0 and shown["head"] in out

    tampered = tmp_path / "t.db"
    src, con = sqlite3.connect(demo.db), sqlite3.connect(tampered)
    src.backup(con)
    src.close()
    con.execute("UPDATE journal SET target_label = 'someone-else' WHERE id = 1")
    con.commit()
    con.close()
    code, out, _ = _run(
        capsys, "journal", "verify", "--db", str(tampered), "--incident", str(demo.incident.id)
    )
    assert code == 1 and out.startswith("FAILED: entry 1: target_label differs from the chain")


def test_usage_and_environment_errors_exit_2(demo: Demo, capsys, tmp_path: Path) -> None:
    code, _, err = _run(
        capsys, "journal", "verify", "--db", str(tmp_path / "none.db"), "--incident", "1"
    )
    assert code == 2 and "no console database" in err
    code, _, err = _run(capsys, "journal", "show", "--db", str(demo.db), "--incident", "99")
    assert code == 2 and "no incident #99" in err
    code, _, err = _run(capsys, "export", "--db", str(demo.db))
    assert code == 2 and "--incident" in err
    code, _, err = _run(capsys, "verify", str(tmp_path / "nothing"))
    assert code == 2 and "not a directory" in err


def test_the_store_is_opened_read_only(demo: Demo) -> None:
    from console.export import open_read_only

    with open_read_only(demo.db) as store, pytest.raises(sqlite3.OperationalError):
        store.set_mark(demo.incident.id, "user", 1, "flagged")
