"""Safe local files (issue 8.6): the unsafe-path matrix, a full disk, damage, and the log.

Every refusal is checked by its exact sentence: it must name the real file and directory and
say what is wrong. The tests run as root in CI, so "another user" is made with ``os.chown``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import sqlite3
import stat
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console import paths
from console.errors import describe_error
from console.logs import setup_logging
from console.paths import UnsafePathError, private_dir, private_dirs
from console.profiles import Profile, ProfileBook
from console.store import Store, StoreCorruptError, StoreFullError

OTHER_UID = 54321  # no such user: shown as "uid 54321"
needs_chown = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another uid needs root"
)


def _me() -> str:
    uid = os.getuid()
    return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def _book(tmp_path: Path) -> Path:
    path = tmp_path / "cfg" / "profiles.toml"
    book = ProfileBook(path)
    book.add(Profile(name="prod", url="https://gitlab.example.com"))
    book.save()
    return path


@pytest.fixture
def restore_logging() -> Iterator[None]:
    import console.logs

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    console.logs._handler = None
    root.setLevel(level)


# --- directories ---------------------------------------------------------------------------------


def test_all_four_directories_are_created_private() -> None:
    made = private_dirs()
    expected = [paths.config_dir(), paths.data_dir(), paths.state_dir(), paths.cache_dir()]
    assert made == expected
    assert [_mode(p) for p in made] == [0o700] * 4


@pytest.mark.parametrize("which", ["config_dir", "data_dir", "state_dir", "cache_dir"])
def test_a_0777_directory_is_tightened(which: str) -> None:
    loose = getattr(paths, which)()
    loose.mkdir(parents=True)
    os.chmod(loose, 0o777)
    private_dirs()
    assert _mode(loose) == 0o700


def test_a_symlinked_data_directory_is_refused_by_name(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o777)
    data = paths.data_dir()
    data.parent.mkdir(parents=True)
    data.symlink_to(elsewhere)
    with pytest.raises(UnsafePathError) as caught:
        private_dirs()
    problem = describe_error(caught.value)
    assert problem.title == "Unsafe local directory"
    assert problem.detail == (
        f"{data} is a symbolic link (to {elsewhere}); the console keeps its profiles, database "
        "and logs only in a directory that you alone own."
    )
    assert problem.next_step == (
        f"Remove the link (rm {data}) and start again: the console then creates a private "
        "directory in its place."
    )
    assert _mode(elsewhere) == 0o777  # never chmod-ed through the link


@needs_chown
def test_a_directory_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError) as caught:
        private_dir(foreign)
    problem = describe_error(caught.value)
    assert problem.detail == (
        f"{foreign} belongs to uid {OTHER_UID}, not to you ({_me()}); the console keeps its "
        "profiles, database and logs only in a directory that you alone own."
    )


def test_the_cli_refuses_a_symlinked_directory_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from console import cli

    started: list[Any] = []
    fake = types.ModuleType("console.app")
    fake.run = started.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "console.app", fake)
    monkeypatch.setattr(paths, "harden_process", list)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    state = paths.state_dir()
    state.parent.mkdir(parents=True)
    (tmp_path / "other").mkdir()
    state.symlink_to(tmp_path / "other")
    assert cli.main(["--demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"incident-console: Unsafe local directory: {state} is a symbolic link")
    assert "Traceback" not in err and not started
    assert not (tmp_path / "other" / "log").exists()  # nothing written through the link


# --- files ---------------------------------------------------------------------------------------


@needs_chown
def test_profiles_owned_by_another_user_are_refused(tmp_path: Path) -> None:
    path = _book(tmp_path)
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError) as caught:
        ProfileBook.load(path)
    problem = describe_error(caught.value)
    assert problem.title == "Unsafe local file"
    assert problem.detail == (
        f"profiles.toml in {path.parent} belongs to uid {OTHER_UID}, not to you ({_me()}); the "
        "console does not use a file that someone else could have written."
    )
    assert problem.next_step == (
        f"Check who created it and what it says; if it is yours, chown {os.getuid()} {path}; "
        "otherwise move it away and start again."
    )


def test_group_writable_profiles_are_refused(tmp_path: Path) -> None:
    path = _book(tmp_path)
    os.chmod(path, 0o664)
    with pytest.raises(UnsafePathError) as caught:
        ProfileBook.load(path)
    assert describe_error(caught.value).detail == (
        f"profiles.toml in {path.parent} is writable by its group (mode 0664); the console does "
        "not use a file that someone else could have written."
    )
    assert describe_error(caught.value).next_step == (
        f"Check that its content is yours, then chmod 600 {path} and start again."
    )


def test_world_readable_profiles_are_only_tightened(tmp_path: Path) -> None:
    path = _book(tmp_path)
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)
    book = ProfileBook.load(path)
    assert book.names() == ["prod"]
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_symlinked_profiles_are_refused(tmp_path: Path) -> None:
    real = _book(tmp_path)
    link_dir = tmp_path / "cfg2"
    link_dir.mkdir(mode=0o700)
    (link_dir / "profiles.toml").symlink_to(real)
    with pytest.raises(UnsafePathError, match=r"profiles\.toml in .* is a symbolic link"):
        ProfileBook.load(link_dir / "profiles.toml")


def test_a_world_writable_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "data" / "incidents.sqlite"
    Store.open(db).close()
    os.chmod(db, 0o666)
    with pytest.raises(UnsafePathError) as caught:
        Store.open(db)
    assert describe_error(caught.value).detail == (
        f"incidents.sqlite in {db.parent} is writable by its group and all users (mode 0666); "
        "the console does not use a file that someone else could have written."
    )


@needs_chown
def test_a_database_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "data" / "incidents.sqlite"
    Store.open(db).close()
    os.chown(db, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError, match=f"belongs to uid {OTHER_UID}, not to you"):
        Store.open(db)


@needs_chown
def test_a_log_file_owned_by_another_user_is_refused(tmp_path: Path, restore_logging: None) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o700)
    (logs / "console.log").write_text("planted\n")
    os.chown(logs / "console.log", OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError, match=r"console\.log in .* belongs to uid 54321"):
        setup_logging(directory=logs)


# --- full disk and damage ------------------------------------------------------------------------


def test_a_full_disk_at_open_is_disk_full_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "data" / "incidents.sqlite"
    Store.open(db).close()
    from console.store import connection

    def full(self: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(connection.StoreBase, "_conn", full)
    with pytest.raises(StoreFullError) as caught:
        Store.open(db)
    problem = describe_error(caught.value)
    assert problem.title == "Disk full" and problem.kind == "disk_full"
    assert problem.detail == (
        f"The console could not write incidents.sqlite in {db.parent}: the disk (or your quota) "
        "is full."
    )
    assert problem.next_step == (
        f"Free space on this machine (df -h {db.parent}), then retry; nothing saved before is "
        "damaged."
    )


def test_an_io_error_with_no_free_space_is_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reports a failed -shm/-wal allocation as "disk I/O error": the free space decides."""
    db = tmp_path / "data" / "incidents.sqlite"
    Store.open(db).close()
    from console.store import connection

    def io_error(self: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError("disk I/O error")

    real = os.statvfs(db.parent)
    empty = os.statvfs_result((*real[:4], 0, *real[5:]))  # f_bavail = 0
    monkeypatch.setattr(connection.StoreBase, "_conn", io_error)
    monkeypatch.setattr(connection.os, "statvfs", lambda p: empty)
    with pytest.raises(StoreFullError):
        Store.open(db)
    monkeypatch.setattr(connection.os, "statvfs", lambda p: real)
    if real.f_bavail * real.f_frsize >= 1 << 20:
        with pytest.raises(StoreCorruptError):  # with space left, an I/O error is not "full"
            Store.open(db)


@contextlib.contextmanager
def _tiny_tmpfs(where: Path) -> Iterator[Path]:
    where.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


@needs_chown
def test_a_really_full_disk(tmp_path: Path) -> None:
    with _tiny_tmpfs(tmp_path / "tiny") as tiny:
        data = tiny / "data"
        with contextlib.suppress(OSError), open(tiny / "filler", "wb") as fh:
            while True:
                fh.write(b"x" * 4096)
                fh.flush()
        with pytest.raises(StoreFullError) as caught:
            Store.open(data / "incidents.sqlite")
        assert describe_error(caught.value).detail == (
            f"The console could not write incidents.sqlite in {data}: the disk (or your quota) "
            "is full."
        )


def test_a_damaged_database_names_the_real_file_and_directory(tmp_path: Path) -> None:
    db = tmp_path / "data" / "incidents.sqlite"
    db.parent.mkdir(mode=0o700)
    db.write_bytes(b"this is not a database, it is a ransom note" * 100)
    os.chmod(db, 0o600)
    with pytest.raises(StoreCorruptError) as caught:
        Store.open(db)
    problem = describe_error(caught.value)
    assert problem.title == "Local database damaged"
    assert problem.detail.startswith(
        f"incidents.sqlite in {db.parent} is damaged and cannot be used: "
    )
    assert problem.next_step == (
        f"Move incidents.sqlite out of {db.parent} (keep it for the record) and start again; "
        "GitLab itself is not affected."
    )
    assert "console.db" not in problem.one_line()


# --- the log that messages point at --------------------------------------------------------------


def test_an_unexpected_error_is_in_the_log_the_message_names(
    tmp_path: Path, restore_logging: None
) -> None:
    log_path = setup_logging(directory=tmp_path / "logs")
    token = "glpat-" + "Q" * 20
    try:
        raise RuntimeError(f"exploded holding {token}")
    except RuntimeError as exc:
        problem = describe_error(exc)
    assert problem.title == "Unexpected error"
    assert problem.detail == "RuntimeError: exploded holding ***"
    assert problem.next_step == (
        f"The details (tokens redacted) are in {log_path}; please report it."
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    logged = log_path.read_text()
    assert "RuntimeError: exploded holding ***" in logged
    assert "Traceback (most recent call last)" in logged
    assert token not in logged


def test_without_a_log_the_message_does_not_point_at_one() -> None:
    problem = describe_error(RuntimeError("boom"))
    assert "log" not in problem.next_step
    assert problem.next_step == "Please report it, with the steps that led to it."


def test_diagnose_reports_a_refused_profiles_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from console import cli
    from console.profiles import profiles_path

    path = profiles_path()
    book = ProfileBook(path)
    book.add(Profile(name="prod", url="https://gitlab.example.com"))
    book.save()
    os.chmod(path, 0o646)
    monkeypatch.setattr(paths, "harden_process", list)
    assert cli.main(["diagnose"]) == 0
    out = capsys.readouterr().out
    assert (
        f"Profiles: refused (Unsafe local file: profiles.toml in {path.parent} is writable by "
        "all users (mode 0646)"
    ) in out


@needs_chown
def test_a_planted_wal_file_is_refused(tmp_path: Path) -> None:
    """SQLite replays a -wal file into the database on open: another user's one is refused."""
    db = tmp_path / "data" / "incidents.sqlite"
    Store.open(db).close()
    wal = Path(f"{db}-wal")
    wal.write_bytes(b"")
    os.chown(wal, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError, match=r"incidents\.sqlite-wal in .* belongs to uid 54321"):
        Store.open(db)


@needs_chown
def test_startup_refuses_a_foreign_profiles_file_instead_of_using_its_url() -> None:
    """Issue 8: another user's profiles.toml pointing elsewhere was accepted silently."""
    from console.profiles import profiles_path
    from console.session import Launch
    from console.startup_steps import plan_launch

    path = profiles_path()
    book = ProfileBook(path)
    book.add(Profile(name="prod", url="https://attacker.example"))
    book.save()
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError) as caught:
        plan_launch(Launch())
    assert "attacker.example" not in describe_error(caught.value).one_line()
    assert describe_error(caught.value).detail.startswith(
        f"profiles.toml in {path.parent} belongs to uid {OTHER_UID}, not to you"
    )


def test_the_app_crash_message_names_the_log_that_holds_the_traceback(
    tmp_path: Path, restore_logging: None
) -> None:
    from console.app import IncidentConsoleApp
    from console.session import Launch

    app = IncidentConsoleApp(Launch(demo=True))
    log_path = setup_logging(directory=tmp_path / "logs")
    try:
        raise RuntimeError("boom " + "glpat-" + "Z" * 20)
    except RuntimeError as exc:
        app._handle_exception(exc)
    shown = [str(r) for r in app._exit_renderables]
    assert shown == [
        "incident-console stopped after an internal error: RuntimeError: boom ***\n"
        f"The full traceback (tokens redacted) is in {log_path}."
    ]
    for handler in logging.getLogger().handlers:
        handler.flush()
    logged = log_path.read_text()
    assert "Traceback (most recent call last)" in logged and "RuntimeError: boom ***" in logged


def test_the_app_crash_message_does_not_name_a_log_that_was_never_opened() -> None:
    from console.app import IncidentConsoleApp
    from console.session import Launch

    app = IncidentConsoleApp(Launch(demo=True))
    app._handle_exception(RuntimeError("boom"))
    assert [str(r) for r in app._exit_renderables] == [
        "incident-console stopped after an internal error: RuntimeError: boom\n"
        "No log file could be opened, so the traceback was not kept."
    ]
