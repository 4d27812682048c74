"""Exports of the demo's compromised-account incident: the report, the evidence bundle and its
verification (a changed byte, a deleted or swapped journal line, a rewritten manifest), and no
secret anywhere in what leaves the console."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.export import (
    MANIFEST,
    REPORT_SECTIONS,
    BundleError,
    check_journal,
    export_bundle,
    render_report,
    verify_bundle,
)
from console.runbook import evaluate
from tests.demo_incident import Demo, demo_on_private_drill


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from demo_on_private_drill(tmp_path_factory)


@pytest.fixture(scope="module")
def bundle(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "incident-1"
    export_bundle(demo.store, demo.incident, out)
    return out


def _copy(bundle: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(bundle, dest)
    os.chmod(dest, 0o755)
    for p in dest.iterdir():
        os.chmod(p, 0o644)
    return dest


def test_the_runbook_ticks_itself_for_what_the_console_did(demo: Demo) -> None:
    state = {s.step.key: s for s in evaluate(demo.store, demo.incident).steps}
    for key in ("account.block", "account.audit", "account.credentials", "account.password"):
        assert state[key].done and state[key].how == "auto", (key, state[key].evidence)
    # GitLab refused the 2FA reset for an admin, and mchen is still blocked: both stay open
    assert not state["account.2fa"].done and not state["account.unblock"].done


def test_bundle_has_every_file_read_only_and_verifies(demo: Demo, bundle: Path) -> None:
    names = {p.name for p in bundle.iterdir()}
    assert {
        "report.md",
        "users.jsonl",
        "audit_events.jsonl",
        "credentials.jsonl",
        "journal.jsonl",
        "journal_entries.jsonl",
        "instance.json",
        "runbook.json",
        MANIFEST,
    } <= names
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o555
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in bundle.iterdir())
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["journal_head"] == demo.store.journal_head(demo.incident.id)
    for name, meta in manifest["files"].items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == meta["sha256"]
    users = [json.loads(line) for line in (bundle / "users.jsonl").read_text().splitlines()]
    assert len(users) == 300 and any(u["username"] == "mchen" for u in users)
    instance = json.loads((bundle / "instance.json").read_text())
    assert instance["coverage"]["version"] == "18.4.1-ee"
    check = verify_bundle(bundle)
    assert check.ok, check.problems
    assert check.journal_head == manifest["journal_head"] and check.signature == "not signed"


def test_export_refuses_an_existing_directory(demo: Demo, bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(demo.store, demo.incident, bundle)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(demo.store, demo.incident, tmp_path / "empty")


@pytest.mark.parametrize(
    "name",
    [
        "report.md",
        "users.jsonl",
        "audit_events.jsonl",
        "credentials.jsonl",
        "journal.jsonl",
        "instance.json",
    ],
)
def test_one_changed_byte_in_any_file_fails_and_names_it(
    bundle: Path, tmp_path: Path, name: str
) -> None:
    copy = _copy(bundle, tmp_path)
    data = bytearray((copy / name).read_bytes())
    middle = len(data) // 2
    data[middle] = ord("X") if data[middle] != ord("X") else ord("Y")
    (copy / name).write_bytes(bytes(data))
    check = verify_bundle(copy)
    assert not check.ok
    assert check.first_problem is not None and check.first_problem.startswith(f"{name}:")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _rehash(copy: Path) -> None:
    """What a forger would do: recompute every hash in the manifest."""
    manifest = json.loads((copy / MANIFEST).read_text())
    for name in manifest["files"]:
        manifest["files"][name]["sha256"] = hashlib.sha256((copy / name).read_bytes()).hexdigest()
    (copy / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("forge_manifest", [False, True])
def test_a_deleted_journal_line_fails_naming_the_record(
    bundle: Path, tmp_path: Path, forge_manifest: bool
) -> None:
    copy = _copy(bundle, tmp_path)
    lines = _lines(copy / "journal.jsonl")
    assert len(lines) >= 4
    del lines[1]
    (copy / "journal.jsonl").write_text("".join(lines))
    if forge_manifest:
        _rehash(copy)
    check = verify_bundle(copy)
    assert not check.ok
    chain = [p for p in check.problems if p.startswith("journal.jsonl record")]
    assert chain and chain[0].startswith("journal.jsonl record 2: broken link"), check.problems


def test_a_deleted_last_journal_line_fails_on_the_head(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "journal.jsonl").write_text("".join(_lines(copy / "journal.jsonl")[:-1]))
    _rehash(copy)
    check = verify_bundle(copy)
    assert not check.ok and "differs from the recorded head" in check.problems[-1]


def test_two_swapped_journal_lines_fail(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    lines = _lines(copy / "journal.jsonl")
    lines[1], lines[2] = lines[2], lines[1]
    (copy / "journal.jsonl").write_text("".join(lines))
    _rehash(copy)
    check = verify_bundle(copy)
    assert not check.ok
    assert any(p.startswith("journal.jsonl record 2: broken link") for p in check.problems)


def test_a_missing_or_extra_file_fails(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "users.jsonl").unlink()
    (copy / "planted.txt").write_text("x")
    problems = verify_bundle(copy).problems
    assert "users.jsonl: missing" in problems and "planted.txt: not in the manifest" in problems


def test_a_bundle_without_its_journal_fails_even_with_a_rewritten_manifest(
    bundle: Path, tmp_path: Path
) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "journal.jsonl").unlink()
    manifest = json.loads((copy / MANIFEST).read_text())
    del manifest["files"]["journal.jsonl"]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    check = verify_bundle(copy)
    assert not check.ok and check.first_problem is not None
    assert check.first_problem.startswith("journal.jsonl: not in the manifest")


def test_no_secret_appears_in_any_export(demo: Demo, bundle: Path) -> None:
    assert len(demo.secrets) == 3  # the API token, the reset password, the rotated token
    blobs = {p.name: p.read_bytes() for p in bundle.iterdir()}
    blobs["report (rendered again)"] = render_report(demo.store, demo.incident).encode()
    for secret in demo.secrets:
        for name, blob in blobs.items():
            assert secret.encode() not in blob, f"a secret leaked into {name}"


def test_report_reads_well_with_every_section(demo: Demo, bundle: Path) -> None:
    text = (bundle / "report.md").read_text()
    positions = [text.index(f"\n## {title}\n") for title in REPORT_SECTIONS]
    assert positions == sorted(positions)
    assert text.startswith("# Incident report: mchen phished")
    head = demo.store.journal_head(demo.incident.id)
    assert f"`{head}`" in text
    assert "- [x] Block the user to mitigate any current risk." in text
    assert (
        "- [ ] After completing an investigation and mitigating impacts, unblock the user." in text
    )
    assert "Unblock mchen when the investigation is done" in text
    assert "| 7 | mchen | Michael Chen | flagged |" in text
    assert "Hand the new password over by phone" in text
    assert "rotate | done" in text and "new token #" in text
    assert "Server-side Git hooks are never visible" in text
    assert "18.4.1-ee" in text and "█" in text


def test_journal_verification_names_the_tampered_entry(demo: Demo, tmp_path: Path) -> None:
    check = check_journal(demo.store, demo.incident.id)
    assert check.ok and check.head == demo.store.journal_head(demo.incident.id)
    db = tmp_path / "tampered.db"
    src, con = sqlite3.connect(demo.db), sqlite3.connect(db)
    src.backup(con)
    src.close()
    con.execute("UPDATE journal SET state = 'failed' WHERE id = 1")
    con.commit()
    con.close()
    from console.export import open_read_only

    with open_read_only(db) as store:
        bad = check_journal(store, demo.incident.id)
    assert not bad.ok and bad.first_problem == "entry 1: state differs from the chain"


def _keygen() -> str:
    tool = shutil.which("ssh-keygen")
    if tool is None:
        pytest.skip("ssh-keygen is not installed")
    return tool


def test_signed_bundle_verifies_and_a_changed_manifest_fails(demo: Demo, tmp_path: Path) -> None:
    tool = _keygen()
    key = tmp_path / "id_ed25519"
    subprocess.run(
        [tool, "-q", "-t", "ed25519", "-N", "", "-C", "alice@example.com", "-f", str(key)],
        check=True,
    )
    out = tmp_path / "signed"
    export_bundle(demo.store, demo.incident, out, sign_key=key)
    assert (out / "manifest.json.sig").is_file()
    check = verify_bundle(out, require_signature=True)
    assert check.ok, check.problems
    assert "Good" in check.signature
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"alice@example.com {(tmp_path / 'id_ed25519.pub').read_text()}")
    assert verify_bundle(out, allowed_signers=signers, identity="alice@example.com").ok
    assert not verify_bundle(out, allowed_signers=signers, identity="mallory@example.com").ok

    copy = _copy(out, tmp_path)
    _rehash_manifest_only: Any = json.loads((copy / MANIFEST).read_text())
    _rehash_manifest_only["journal_head"] = "0" * 64
    (copy / MANIFEST).write_text(json.dumps(_rehash_manifest_only))
    forged = verify_bundle(copy)
    assert not forged.ok
    assert any(p.startswith("manifest.json.sig: signature check failed") for p in forged.problems)
    (copy / "manifest.json.sig").unlink()
    assert not verify_bundle(copy, require_signature=True).ok
