"""End to end: after real CLI runs and the headless session against a drill, no file under the
temporary HOME (config, data, state, cache, log dirs) contains the token."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from console.paths import cache_dir, config_dir, data_dir, log_dir, state_dir

REPO = Path(__file__).resolve().parents[2]


def scan(root: Path, needles: list[str]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for needle in needles:
                if needle.encode() in data:
                    hits.append(f"{path}: {needle[:6]}…")
    return hits


@pytest.fixture
def restore_logging() -> Any:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    import console.logs

    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    console.logs._handler = None
    root.setLevel(level)


def test_token_never_reaches_disk(
    drill: Any,
    isolated_home: Path,
    tmp_path: Path,
    restore_logging: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from console.drill.server import DrillServer

    admin = DrillServer.ADMIN_TOKEN
    user = DrillServer.USER_TOKEN
    cfg_token = "glpat-cfgfiletoken0123456789ab"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)

    # 1. The real CLI, with the token in the environment: diagnose, and a crash path.
    proc = subprocess.run(
        [sys.executable, "-m", "console", "diagnose"],
        env=env | {"GITLAB_URL": drill.url, "GITLAB_TOKEN": admin},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert admin not in proc.stdout + proc.stderr
    crash = (
        "import os, console.cli as c\n"
        "from console.session import connection_from_env\n"
        "conn = connection_from_env()\n"
        "c.install_excepthook()\n"
        "raise RuntimeError('crashed holding ' + conn.token.reveal())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", crash],
        env=env | {"GITLAB_URL": drill.url, "GITLAB_TOKEN": admin},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "crashed holding ***" in proc.stderr and admin not in proc.stderr
    assert (log_dir() / "crash.log").is_file()

    # 2. The headless session pieces the app runs in workers, with logging on.
    from console.logs import setup_logging
    from console.session import Launch, check_connection, db_path, plan_start

    setup_logging(logging.DEBUG)
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", admin)
    plan = plan_start(Launch())
    assert plan.connection is not None
    assert "GITLAB_TOKEN" not in os.environ
    coverage = check_connection(plan.connection, keyring=None)
    assert coverage.ok and coverage.is_admin
    logging.getLogger("console.test").info("connected with %s", plan.connection.token.reveal())
    from console.store import Store

    store = Store.open(db_path(plan.connection.is_drill))
    try:
        incident = store.create_incident(
            "drill check",
            "compromised-account",
            plan.connection.profile_name,
            plan.connection.url,
            None,
            None,
        )
        store.cache_put(incident.id, "coverage", [ln.text for ln in coverage.lines()])
    finally:
        store.close()

    # A failed login with the user token is described, and nothing of it is written either.
    from console.capabilities import check_capabilities
    from console.config import ConnectionConfig, build_gitlab
    from console.secret import Secret

    weak = check_capabilities(build_gitlab(ConnectionConfig(url=drill.url), Secret(user)))
    assert not weak.is_admin

    # 3. Profiles: save one, import a python-gitlab cfg holding a token, move it to a keyring.
    from console.profiles import (
        Profile,
        ProfileBook,
        import_python_gitlab_cfg,
        move_token_to_keyring,
    )
    from console.tokens import TokenStore
    from tests.unit.test_tokens import MemoryKeyring

    book = ProfileBook.load()
    book.add(Profile("drill", drill.url))
    cfg = isolated_home / ".python-gitlab.cfg"
    cfg.write_text(f"[work]\nurl = {drill.url}\nprivate_token = {cfg_token}\n")
    imported = import_python_gitlab_cfg(existing=book.names())
    for item in imported.profiles:
        book.add(item.profile)
    book.save()
    assert imported.plaintext_sections == ["work"]
    assert move_token_to_keyring("work", TokenStore(MemoryKeyring()), agreed=True)

    for h in logging.getLogger().handlers:
        h.flush()

    # 4. Scan everything we may have written.
    for directory in (config_dir(), data_dir(), state_dir(), cache_dir(), log_dir()):
        assert directory.is_relative_to(isolated_home)
    assert (log_dir() / "console.log").stat().st_size > 0
    assert (config_dir() / "profiles.toml").is_file()
    assert db_path(False).is_file()
    hits = scan(isolated_home, [admin, user, cfg_token])
    assert hits == []
