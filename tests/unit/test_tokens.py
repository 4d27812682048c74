"""Keyring policy: allowed backends only, the hang-proof probe, TokenStore."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from console.errors import TokenStorageUnavailable
from console.secret import Secret
from console.tokens import (
    SERVICE,
    KeyringStatus,
    TokenStore,
    check_backend,
    configured_backend_notes,
    probe_keyring,
    token_key,
)

TOKEN = "glpat-tokenstest0123456789abcd"


class MemoryKeyring(KeyringBackend):
    """An in-memory backend built through keyring's own API."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.data:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.data[(service, username)]


class PlaintextKeyring(MemoryKeyring):
    """Looks like keyrings.alt's plaintext file backend."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


class LowPriorityKeyring(MemoryKeyring):
    priority = 0.5  # type: ignore[assignment]


# --- TokenStore with an explicit backend ---------------------------------------------------------


def test_round_trip_in_memory_backend() -> None:
    backend = MemoryKeyring()
    store = TokenStore(backend)
    key = token_key("https://GitLab.example.com/api/v4/", "prod")
    assert key == "https://gitlab.example.com profile=prod"
    assert store.available
    assert store.get(key) is None
    store.set(key, Secret(TOKEN))
    assert backend.data == {(SERVICE, key): TOKEN}
    got = store.get(key)
    assert isinstance(got, Secret) and got.reveal() == TOKEN
    assert store.get(token_key("https://gitlab.example.com", "other")) is None
    assert store.delete(key) is True
    assert store.get(key) is None
    assert store.delete(key) is False
    assert TOKEN not in repr(store)


@pytest.mark.parametrize(
    ("backend", "needle"),
    [
        (PlaintextKeyring(), "insecure"),
        (LowPriorityKeyring(), "priority"),
        (fail.Keyring(), "not a keyring"),
        (null.Keyring(), "not a keyring"),
    ],
)
def test_refused_backends(backend: KeyringBackend, needle: str) -> None:
    reason = check_backend(backend)
    assert reason is not None and needle in reason
    with pytest.raises(TokenStorageUnavailable, match="refused"):
        TokenStore(backend)


def test_chainer_containing_insecure_backend_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = chainer.ChainerBackend()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), PlaintextKeyring()])
    reason = check_backend(chain)
    assert reason is not None and "keyrings.alt.file.PlaintextKeyring" in reason
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), MemoryKeyring()])
    assert check_backend(chain) is None


# --- the probe and the env/config it ignores -----------------------------------------------------


def test_no_dbus_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    status = probe_keyring()
    assert not status.available
    assert status.cause == "no_dbus"
    assert "DBUS_SESSION_BUS_ADDRESS is unset" in status.reason
    text = status.explanation()
    assert "will NOT be saved" in text
    assert "dbus-run-session -- bash" in text
    assert "gnome-keyring-daemon --unlock" in text
    assert "GITLAB_URL and GITLAB_TOKEN" in text
    store = TokenStore(status=status)
    assert not store.available
    assert store.get("k") is None
    assert store.delete("k") is False
    with pytest.raises(TokenStorageUnavailable) as info:
        store.set("k", Secret(TOKEN))
    assert "will NOT be saved" in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    ("named", "needle"),
    [
        ("keyrings.alt.file.PlaintextKeyring", "insecure backend refused"),
        ("keyrings.alt.file.EncryptedKeyring", "insecure backend refused"),
        ("keyring.backends.fail.Keyring", "not a keyring"),
        ("keyring.backends.null.Keyring", "not a keyring"),
        ("keyring.backends.chainer.ChainerBackend", "chainer"),
        ("mypkg.SomeKeyring", "only OS keyrings"),
    ],
)
def test_python_keyring_backend_is_ignored_and_reported(
    monkeypatch: pytest.MonkeyPatch, named: str, needle: str
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", named)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    status = probe_keyring()
    assert not status.available  # the named backend was not used to "succeed"
    assert status.backend is None
    joined = " ".join(status.notes)
    assert f"PYTHON_KEYRING_BACKEND={named} ignored" in joined
    assert needle in joined
    assert needle in status.explanation()


def test_keyringrc_default_is_ignored(isolated_home: Path) -> None:
    rc = Path(os.environ["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    rc.parent.mkdir(parents=True)
    rc.write_text(
        "[backend]\ndefault-keyring=keyrings.alt.file.PlaintextKeyring\nkeyring-path=/tmp/evil\n"
    )
    notes = configured_backend_notes({})
    assert any(
        "keyringrc.cfg default-keyring=keyrings.alt.file.PlaintextKeyring" in n and "insecure" in n
        for n in notes
    )
    assert any("keyring-path ignored" in n for n in notes)


# --- fake secretstorage modules for the probe child ----------------------------------------------

FAKE_BASE = textwrap.dedent(
    """
    import os, time
    __version_tuple__ = (3, 5, 0)
    MARK = os.environ["FAKE_SS_MARK"]

    class exceptions:
        class SecretStorageException(Exception): pass
        class ItemNotFoundException(SecretStorageException): pass
        class SecretServiceNotAvailableException(SecretStorageException): pass

    import sys
    sys.modules["secretstorage.exceptions"] = exceptions

    class Conn:
        def close(self): pass

    def check_service_availability(conn):
        return AVAILABLE

    class Collection:
        def __init__(self, conn, path=None):
            pass
        def is_locked(self):
            return LOCKED
        def unlock(self):
            open(MARK, "w").write("unlock called")
            while True:
                time.sleep(1)
    """
)


def fake_secretstorage(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "fakes" / "secretstorage"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_BASE + textwrap.dedent(body))
    mark = tmp_path / "mark"
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fakes"))
    monkeypatch.setenv("FAKE_SS_MARK", str(mark))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    return mark


def test_locked_keyring_that_never_answers_times_out_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("FAKE_SS_PID", str(pidfile))
    fake_secretstorage(
        tmp_path,
        """
        AVAILABLE = True
        LOCKED = True
        def dbus_init():
            open(os.environ["FAKE_SS_PID"], "w").write(str(os.getpid()))
            while True:          # a D-Bus call waiting for an unlock prompt that never comes
                time.sleep(1)
        """,
        monkeypatch,
    )
    start = time.monotonic()
    status = probe_keyring(timeout=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 10  # the probe's child would wait forever; 1 s timeout plus a loaded machine
    assert not status.available
    assert status.cause == "timeout"
    assert "did not answer within 1 s" in status.reason
    assert "will NOT be saved" in status.explanation()
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the hung child was killed and reaped


def test_locked_collection_is_unavailable_and_never_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mark = fake_secretstorage(
        tmp_path,
        """
        AVAILABLE = True
        LOCKED = True
        def dbus_init():
            return Conn()
        """,
        monkeypatch,
    )
    status = probe_keyring(timeout=5.0)
    assert status.cause == "locked", status
    assert "locked" in status.reason and "over SSH" in status.reason
    assert not mark.exists()  # unlock() was never called


def test_secret_service_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_secretstorage(
        tmp_path,
        """
        AVAILABLE = False
        LOCKED = False
        def dbus_init():
            return Conn()
        """,
        monkeypatch,
    )
    status = probe_keyring(timeout=5.0)
    assert status.cause == "service_absent", status
    assert "gnome-keyring-daemon" in status.reason


def test_unlocked_fake_reports_secret_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_secretstorage(
        tmp_path,
        """
        AVAILABLE = True
        LOCKED = False
        def dbus_init():
            return Conn()
        def get_default_collection(conn, session=None):
            return Collection(conn)
        """,
        monkeypatch,
    )
    status = probe_keyring(timeout=5.0)
    assert status.available, status
    assert status.backend == "keyring.backends.SecretService.Keyring"
    assert status.label == "Secret Service"
    assert status.explanation().startswith("Token storage: Secret Service")


def test_status_explanation_lists_ignored_notes() -> None:
    st = KeyringStatus(False, None, "x", ["a"], "error", ["PYTHON_KEYRING_BACKEND=y ignored: z"])
    text = st.explanation()
    assert "no usable OS keyring (x)" in text
    assert "  • a" in text
    assert text.endswith("PYTHON_KEYRING_BACKEND=y ignored: z")
