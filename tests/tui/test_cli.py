"""Entry point (argv policy, usage errors, crash hook, subcommands), session resolution, logs."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from console import cli
from console.capabilities import SOURCE_ENV, SOURCE_KEYRING, SOURCE_PROMPT
from console.config import ConfigError
from console.paths import data_dir, log_dir
from console.profiles import Profile, ProfileBook
from console.secret import Secret
from console.session import (
    Launch,
    complete_login,
    connection_from_env,
    db_path,
    forget_token,
    latest_incident,
    plan_start,
)
from console.tokens import KeyringStatus, TokenStore, token_key
from tests.unit.test_tokens import MemoryKeyring

TOKEN = "glpat-clitest0123456789abcdefg"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_harden(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Keep in-process tests from changing the test runner's umask/dumpable flag."""
    import console.paths

    applied = ["umask 077 (test stub)"]
    monkeypatch.setattr(console.paths, "harden_process", lambda: applied)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    import threading

    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    return applied


@pytest.fixture
def fake_app(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    launches: list[Any] = []
    mod = types.ModuleType("console.app")

    def run(launch: Any) -> int:
        launches.append(launch)
        return 0

    mod.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "console.app", mod)
    monkeypatch.setattr(cli, "_require_terminal", lambda: None)  # pytest has no terminal
    return launches


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("incident-console: ")
    return lines[0]


# --- argv policy and usage errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--token", "abc"],
        ["--token=abc"],
        ["--private-token", "abc"],
        ["--url", "https://g.example", TOKEN],
        [f"--url=https://{TOKEN}@g.example"],
        ["drill", "--port", "0", "SIE-glpat-abcdefghijklmnop1234"],
    ],
)
def test_token_on_argv_is_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str], no_harden: list[str], fake_app: list[Any]
) -> None:
    assert cli.main(argv) == 2
    line = one_line_error(capsys)
    assert "refusing a token on the command line" in line
    assert TOKEN not in line and "abcdefghijklmnop1234" not in line
    assert fake_app == []


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--users", "abc"], "whole number"),
        (["--users", "0"], "between 1"),
        (["--latency-ms", "-5"], "between 0"),
        (["--tier", "gold"], "invalid choice"),
        (["--bogus"], "unrecognized arguments"),
        (["--url", "ftp://g.example"], "https://"),
        (["--url", "http://gitlab.example.com"], "plain http"),
        (["--demo", "--url", "https://g.example"], "cannot be combined"),
        (["--profile", "nope"], "no profile named 'nope'"),
        (["--url", "https://g.example", "--ca-bundle", "/nonexistent/ca.pem"], "does not exist"),
        (["diagnose", "extra"], "no arguments"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    no_harden: list[str],
    fake_app: list[Any],
) -> None:
    assert cli.main(argv) == 2
    assert needle in one_line_error(capsys)
    assert fake_app == []


def test_default_runs_app_with_launch(
    no_harden: list[str], fake_app: list[Any], restore_logging: None
) -> None:
    assert (
        cli.main(
            [
                "--demo",
                "--users",
                "300",
                "--latency-ms",
                "20",
                "--tier",
                "free",
                "--read-only",
                "--dry-run",
            ]
        )
        == 0
    )
    (launch,) = fake_app
    assert launch == Launch(
        demo=True,
        drill_users=300,
        drill_latency_ms=20.0,
        drill_tier="free",
        drill_process=True,
        read_only=True,
        dry_run=True,
    )


def test_url_without_scheme_gets_https(
    no_harden: list[str], fake_app: list[Any], restore_logging: None
) -> None:
    assert cli.main(["--url", "gitlab.example.com", "--resume"]) == 0
    assert fake_app[0].url == "https://gitlab.example.com"
    assert fake_app[0].resume is True
    assert fake_app[0].demo is False


def test_drill_subcommand_passes_argv(
    monkeypatch: pytest.MonkeyPatch, no_harden: list[str]
) -> None:
    got: list[list[str]] = []
    mod = types.ModuleType("console.drill.cli")
    mod.main = lambda argv: got.append(list(argv)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "console.drill.cli", mod)
    import console.drill

    monkeypatch.setattr(console.drill, "cli", mod, raising=False)
    assert cli.main(["drill", "--port", "0", "--users", "10"]) == 0
    assert got == [["--port", "0", "--users", "10"]]


def test_crash_hook_prints_one_redacted_line_and_writes_0600_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = Secret("customtoken-not-gl-shaped-123")
    from console.redact import register_secret

    register_secret(secret)

    def explode(token: str) -> None:
        raise RuntimeError(f"boom with {token} and {TOKEN}")

    try:
        explode(secret.reveal())
    except RuntimeError as exc:
        cli._excepthook(type(exc), exc, exc.__traceback__)
    line = one_line_error(capsys)
    assert "unexpected error" in line and "crash.log" in line
    assert TOKEN not in line and secret.reveal() not in line
    log = log_dir() / "crash.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text()
    assert "RuntimeError" in text and "explode" in text  # a real traceback ...
    assert TOKEN not in text and secret.reveal() not in text  # ... redacted, without locals


def test_unexpected_exception_in_main_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_harden: list[str],
    restore_logging: None,
) -> None:
    mod = types.ModuleType("console.app")

    def run(launch: Any) -> int:
        raise ValueError(f"kaputt {TOKEN}")

    mod.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "console.app", mod)
    monkeypatch.setattr(cli, "_require_terminal", lambda: None)  # pytest has no terminal
    assert cli.main(["--demo"]) == 1
    line = one_line_error(capsys)
    assert "ValueError" in line and TOKEN not in line


# --- real processes ------------------------------------------------------------------------------


def run_cli(
    *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_console_bad_flag() -> None:
    proc = run_cli("--nope")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unrecognized arguments: --nope" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_diagnose_real_process() -> None:
    plaintext = "keyrings.alt.file.PlaintextKeyring"
    proc = run_cli("diagnose", env_extra={"PYTHON_KEYRING_BACKEND": plaintext})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Versions: Python 3." in out and "textual " in out and "python-gitlab " in out
    assert "Token storage: no usable OS keyring" in out
    assert "DBUS_SESSION_BUS_ADDRESS is unset" in out
    assert "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring ignored: insecure" in out
    assert "Paths:" in out and str(data_dir()) in out
    assert "Hardening: umask 077" in out
    assert "Profiles: none" in out


# --- session resolution --------------------------------------------------------------------------


def test_connection_from_env_glab_host_and_scrub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("GITLAB_HOST", "gitlab.example.com")
    conn = connection_from_env()
    assert conn is not None
    assert conn.config.url == "https://gitlab.example.com"
    assert conn.token.reveal() == TOKEN and conn.token_source == SOURCE_ENV
    assert "GITLAB_TOKEN" not in os.environ
    assert TOKEN not in repr(conn)


def test_connection_from_env_mapping_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"GITLAB_URL": "https://g.example/api/v4", "GITLAB_TOKEN": TOKEN}
    conn = connection_from_env(env)
    assert conn is not None and conn.url == "https://g.example"
    assert "GITLAB_TOKEN" not in env
    assert connection_from_env({"GITLAB_URL": "https://g.example"}) is None
    with pytest.raises(ConfigError, match="no GitLab URL"):
        connection_from_env({"GITLAB_TOKEN": TOKEN})
    with pytest.raises(ConfigError, match="plain http"):
        connection_from_env({"GITLAB_TOKEN": TOKEN, "GITLAB_URL": "http://gitlab.example.com"})
    conn = connection_from_env({"GITLAB_TOKEN": TOKEN}, url="https://override.example")
    assert conn is not None and conn.url == "https://override.example"


def test_db_paths_keep_drills_apart() -> None:
    real, drill = db_path(False), db_path(True)
    assert real == data_dir() / "incidents.sqlite"
    assert drill == data_dir() / "drill.sqlite"
    assert stat.S_IMODE(data_dir().stat().st_mode) == 0o700


def test_plan_start_demo_starts_drill() -> None:
    plan = plan_start(Launch(demo=True, drill_users=30, drill_tier="free"))
    try:
        assert plan.drill is not None and plan.connection is not None
        assert plan.connection.is_drill and plan.connection.url == plan.drill.url
        assert plan.connection.token_source == "drill"
    finally:
        plan.drill.stop()  # type: ignore[union-attr]


def test_plan_start_env_wins_and_skips_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding(TokenStore):
        def __init__(self, *a: Any, **kw: Any) -> None:
            raise AssertionError("keyring must not be touched")

    import console.session

    monkeypatch.setattr(console.session, "TokenStore", Exploding)
    env = {"GITLAB_URL": "https://g.example", "GITLAB_TOKEN": TOKEN}
    plan = plan_start(Launch(), environ=env, book=ProfileBook(Path("/nonexistent")))
    assert plan.connection is not None and plan.connection.token_source == SOURCE_ENV
    assert any("GITLAB_TOKEN" in n for n in plan.notes)


def test_plan_start_profile_keyring_and_login(tmp_path: Path) -> None:
    book = ProfileBook(tmp_path / "p.toml")
    book.add(Profile("prod", "https://gitlab.example.com"))
    backend = MemoryKeyring()
    store = TokenStore(backend)

    plan = plan_start(Launch(), store=store, book=book)  # default profile, no token yet
    assert plan.connection is None and plan.pending is not None
    assert plan.pending.profile_name == "prod" and plan.pending.can_save
    conn = complete_login(plan.pending, Secret(TOKEN), remember=True, store=store)
    assert conn.token_source == SOURCE_KEYRING
    assert backend.data[("gitlab-incident-console", token_key(conn.url, "prod"))] == TOKEN

    plan2 = plan_start(Launch(profile="prod"), store=store, book=book)
    assert plan2.connection is not None and plan2.connection.token_source == SOURCE_KEYRING
    assert plan2.connection.token.reveal() == TOKEN
    assert forget_token(conn.url, "prod", store) is True
    assert plan_start(Launch(), store=store, book=book).pending is not None


def test_plan_start_new_url_without_keyring(tmp_path: Path) -> None:
    book = ProfileBook(tmp_path / "p.toml")
    none = KeyringStatus(False, None, "no D-Bus", ["x"], "no_dbus")
    store = TokenStore(status=none)
    plan = plan_start(Launch(url="https://new.example.org"), store=store, book=book)
    assert plan.pending is not None and plan.pending.is_new_profile
    assert not plan.pending.can_save
    conn = complete_login(plan.pending, Secret(TOKEN), remember=True, store=store, book=book)
    assert conn.token_source == SOURCE_PROMPT  # memory only
    saved = ProfileBook.load(tmp_path / "p.toml")
    assert saved.names() == ["new.example.org"]
    assert TOKEN not in (tmp_path / "p.toml").read_text()


def test_plan_start_needs_profile_and_unknown_profile(tmp_path: Path) -> None:
    book = ProfileBook(tmp_path / "p.toml")
    store = TokenStore(MemoryKeyring())
    assert plan_start(Launch(), store=store, book=book).needs_profile
    with pytest.raises(ConfigError, match="No profile named"):
        plan_start(Launch(profile="ghost"), store=store, book=book)


def test_latest_incident_matches_instance() -> None:
    class Inc:
        def __init__(self, id: int, url: str) -> None:
            self.id, self.instance_url = id, url

    class FakeStore:
        def list_incidents(self, status: str | None = "open") -> list[Any]:
            return [
                Inc(3, "https://other.example"),
                Inc(2, "https://g.example/"),
                Inc(1, "https://g.example"),
            ]

    inc = latest_incident(FakeStore(), "https://G.example/api/v4")
    assert inc is not None and inc.id == 2
    assert latest_incident(FakeStore(), "https://none.example") is None


# --- logging -------------------------------------------------------------------------------------


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


def test_logging_redacts_and_is_private(restore_logging: None) -> None:
    from console.logs import setup_logging
    from console.redact import register_secret

    odd = Secret("opaque-value-without-prefix-42")
    register_secret(odd)
    path = setup_logging(logging.INFO)
    log = logging.getLogger("console.test")
    log.info("token %s and %s", TOKEN, odd.reveal())
    log.warning("headers {'PRIVATE-TOKEN': 'abc123secret', 'Authorization': 'Bearer xyz789'}")
    log.info("url https://g.example/api/v4/user?private_token=qqq111")
    try:
        raise RuntimeError(f"inside {TOKEN}")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger("urllib3").debug("never %s", TOKEN)
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for leaked in (TOKEN, odd.reveal(), "abc123secret", "xyz789", "qqq111"):
        assert leaked not in text
    assert "token *** and ***" in text and "RuntimeError: inside ***" in text
    assert "never" not in text
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
