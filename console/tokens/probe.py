"""A hang-proof keyring probe: availability is checked in a child process with a hard timeout.

A locked collection can block forever waiting for an unlock prompt that cannot appear over SSH,
so the child is killed (its whole process group) after ``PROBE_TIMEOUT``. A locked collection
counts as unavailable; we never call ``unlock()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import Any, Final

from console.sanitize import safe
from console.tokens.policy import (
    ALLOWED_BACKENDS,
    PROBE_TIMEOUT,
    KeyringStatus,
    _unavailable,
    configured_backend_notes,
)

__all__ = ["probe_keyring"]


# The probe runs in a child so a hung D-Bus call or unlock prompt can be killed.
# It never calls unlock() and never creates a collection (both would prompt).
_PROBE_CODE: Final = r"""
import json, os, sys

def out(ok, cause, reason, backend=None):
    sys.stdout.write(json.dumps({"ok": ok, "cause": cause, "reason": reason,
                                 "backend": backend}) + "\n")
    sys.stdout.flush()
    os._exit(0)

def brief(exc):
    text = " ".join(str(exc).split())
    return (type(exc).__name__ + ": " + text)[:300]

plat = sys.platform
if plat == "darwin":
    try:
        from keyring.backends.macOS import Keyring
        Keyring.priority
    except Exception as exc:
        out(False, "no_backend", "macOS Keychain not usable: " + brief(exc))
    out(True, "ok", "macOS Keychain", "keyring.backends.macOS.Keyring")
if plat.startswith("win"):
    try:
        from keyring.backends.Windows import WinVaultKeyring
        WinVaultKeyring.priority
    except Exception as exc:
        out(False, "no_backend", "Windows Credential Locker not usable: " + brief(exc))
    out(True, "ok", "Windows Credential Locker", "keyring.backends.Windows.WinVaultKeyring")

try:
    import secretstorage
    from secretstorage.exceptions import ItemNotFoundException, SecretStorageException
except Exception as exc:
    secretstorage = None
    import_error = brief(exc)

if secretstorage is not None:
    try:
        conn = secretstorage.dbus_init()
    except SecretStorageException as exc:
        out(False, "service_absent", "cannot connect to the D-Bus session bus: " + brief(exc))
    if not secretstorage.check_service_availability(conn):
        kde = "kde" in os.environ.get("XDG_CURRENT_DESKTOP", "").lower()
        if kde:
            try:
                from keyring.backends.kwallet import DBusKeyring
                if DBusKeyring.priority >= 1:
                    out(True, "ok", "KWallet", "keyring.backends.kwallet.DBusKeyring")
            except Exception:
                pass
        out(False, "service_absent",
            "no Secret Service is running or activatable on the session bus "
            "(gnome-keyring-daemon is not started)")
    try:
        collection = secretstorage.Collection(conn)
    except ItemNotFoundException:
        out(False, "no_collection",
            "the Secret Service has no default keyring; creating one needs a graphical prompt")
    except SecretStorageException as exc:
        out(False, "error", "the Secret Service failed: " + brief(exc))
    if collection.is_locked():
        out(False, "locked",
            "Secret Service is running but the login keyring is locked; unlocking needs a "
            "graphical prompt that cannot appear over SSH")
    try:
        from keyring.backends.SecretService import Keyring
        Keyring.priority
    except Exception as exc:
        out(False, "error", "keyring's Secret Service backend is not usable: " + brief(exc))
    out(True, "ok", "Secret Service", "keyring.backends.SecretService.Keyring")

try:
    from keyring.backends.libsecret import Keyring as LibSecret
    if LibSecret.priority >= 1:
        out(True, "ok", "Secret Service (libsecret)", "keyring.backends.libsecret.Keyring")
except Exception as exc:
    import_error = import_error + "; libsecret: " + brief(exc)
out(False, "no_backend", "no OS keyring library is installed (" + import_error + ")")
"""


def _probe_env(environ: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    for name in ("GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "PYTHON_KEYRING_BACKEND"):
        env.pop(name, None)
    return env


def probe_keyring(
    *, timeout: float = PROBE_TIMEOUT, environ: dict[str, str] | None = None
) -> KeyringStatus:
    """Find an acceptable, unlocked OS keyring without risking a hang (child process)."""
    env = _probe_env(environ)
    notes = configured_backend_notes(dict(os.environ if environ is None else environ))
    linux_like = not (sys.platform == "darwin" or sys.platform.startswith("win"))
    if linux_like and not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return _unavailable(
            "no_dbus",
            "Secret Service not reachable: DBUS_SESSION_BUS_ADDRESS is unset — normal for SSH "
            "logins on servers",
            notes,
        )
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-P", "-c", _PROBE_CODE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return _unavailable("error", f"could not start the keyring probe ({exc.strerror})", notes)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return _unavailable(
            "timeout",
            f"the keyring did not answer within {timeout:g} s (probably locked and waiting for "
            "an unlock prompt that cannot appear over SSH)",
            notes,
        )
    try:
        result: dict[str, Any] = json.loads(out.decode("utf-8", "replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return _unavailable(
            "error", f"the keyring probe failed (exit status {proc.returncode})", notes
        )
    reason = safe(result.get("reason", ""), kind="line", max_cells=300)
    backend = result.get("backend")
    if result.get("ok") and isinstance(backend, str) and backend in ALLOWED_BACKENDS:
        return KeyringStatus(True, backend, reason, [], "ok", notes)
    return _unavailable(str(result.get("cause", "error")), reason or "unknown", notes)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=2)
