"""Test isolation: no test touches the real home directory, keyring or GitLab.

Every test gets private XDG/HOME directories; the keyring is pinned to keyring's ``fail`` backend
so an accidental real lookup raises instead of reaching the user's Secret Service; Textual
animations are off. Tests that need a real keyring start their own private Secret Service.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_SCRUB = (
    "GITLAB_URL",
    "GITLAB_TOKEN",
    "GITLAB_HOST",
    "GITLAB_PRIVATE_TOKEN",
    "PYTHON_GITLAB_CFG",
    "DBUS_SESSION_BUS_ADDRESS",
    "KEYRING_PROPERTY_KEYRING",
)


def pytest_configure(config: pytest.Config) -> None:
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.setdefault("TZ", "UTC")
    for name in _SCRUB:
        os.environ.pop(name, None)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME and every XDG directory at a fresh temporary directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture(scope="session")
def drill() -> Iterator[Any]:
    """A seeded drill instance (2,000 users, Ultimate tier) shared by the session's tests.

    Tests must not mutate it; use ``fresh_drill`` for tests that block, revoke or rotate.
    """
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=2000))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_drill() -> Iterator[Any]:
    """A private drill instance a test may change."""
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=300))
    server.start()
    try:
        yield server
    finally:
        server.stop()
