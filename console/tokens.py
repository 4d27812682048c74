"""Keyring policy: which OS keyrings may hold the token, a hang-proof probe, and ``TokenStore``.

We never let ``keyring`` choose a backend on its own: with keyrings.alt installed and no Secret
Service it silently picks a plaintext file. Only real OS keyrings are accepted (Secret Service,
libsecret, KWallet, macOS Keychain, Windows Credential Locker), whatever ``PYTHON_KEYRING_BACKEND``
or ``keyringrc.cfg`` say (we report that they were ignored).

Availability is probed in a child process with a hard timeout, because a locked collection can
block forever waiting for an unlock prompt that cannot appear over SSH. A locked collection counts
as unavailable; we never call ``unlock()``. When nothing can serve, the caller keeps the token in
memory for the session and shows :meth:`KeyringStatus.explanation`.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Final

import keyring.errors
from keyring.backend import KeyringBackend

from console.config import normalize_url
from console.errors import TokenStorageUnavailable
from console.sanitize import safe
from console.secret import Secret

__all__ = [
    "ALLOWED_BACKENDS",
    "PROBE_TIMEOUT",
    "SERVICE",
    "KeyringStatus",
    "TokenStorageUnavailable",
    "TokenStore",
    "backend_label",
    "check_backend",
    "configured_backend_notes",
    "probe_keyring",
    "token_key",
]

SERVICE: Final = "gitlab-incident-console"
PROBE_TIMEOUT: Final = 3.0

ALLOWED_BACKENDS: Final[dict[str, str]] = {
    "keyring.backends.SecretService.Keyring": "Secret Service",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Locker",
}

_INSECURE_MODULES: Final = ("keyrings.alt", "keyrings.cryptfile", "keyrings_alt")
_NOT_A_KEYRING: Final = ("keyring.backends.fail", "keyring.backends.null")

_UNLOCK_RECIPE: Final = (
    "run inside an unlocked keyring: `dbus-run-session -- bash`, then "
    "`gnome-keyring-daemon --unlock` (type the password, then Ctrl-D; do not pipe it from echo), "
    "then start the console in that shell"
)
_ENV_RECIPE: Final = (
    "for unattended use, set GITLAB_URL and GITLAB_TOKEN in the environment (the console reads "
    "the token once and removes it from its environment)"
)


def backend_label(name: str | None) -> str:
    if not name:
        return "no keyring"
    return ALLOWED_BACKENDS.get(name, name.rsplit(".", 2)[-2] if "." in name else name)


def token_key(url: str, profile: str) -> str:
    """The keyring username for a profile: normalized base URL plus profile name."""
    return f"{normalize_url(url)} profile={profile}"


@dataclass(frozen=True)
class KeyringStatus:
    """Whether an acceptable OS keyring can store the token, and if not, exactly why."""

    available: bool
    backend: str | None
    reason: str
    advice: list[str] = field(default_factory=list)
    cause: str = "ok"  # ok | no_dbus | service_absent | no_collection | locked | refused |
    #                    timeout | no_backend | error | explicit
    notes: list[str] = field(default_factory=list)  # e.g. "PYTHON_KEYRING_BACKEND … ignored"

    @property
    def label(self) -> str:
        return backend_label(self.backend)

    def explanation(self) -> str:
        """The exact user-facing text (status screen, ``diagnose``, login form)."""
        lines: list[str] = []
        if self.available:
            lines.append(f"Token storage: {self.label} ({self.backend}), unlocked.")
        else:
            lines.append(f"Token storage: no usable OS keyring ({self.reason}).")
            lines.append(
                "Your token will NOT be saved; it is kept in memory for this session only and "
                "you will be asked for it next time."
            )
            if self.advice:
                lines.append("To save it securely, either:")
                lines.extend(f"  • {a}" for a in self.advice)
        lines.extend(self.notes)
        return "\n".join(lines)


def configured_backend_notes(environ: dict[str, str] | None = None) -> list[str]:
    """Say which keyring settings (env var, keyringrc.cfg) we ignore, and why."""
    env = os.environ if environ is None else environ
    notes: list[str] = []
    named = env.get("PYTHON_KEYRING_BACKEND", "").strip()
    if named:
        notes.append(
            f"PYTHON_KEYRING_BACKEND={safe(named, kind='line', max_cells=80)} ignored: "
            + _why_ignored(named)
        )
    try:
        from keyring.util import platform_

        rc = platform_.config_root() / "keyringrc.cfg"
        if rc.is_file():
            parser = configparser.RawConfigParser()
            parser.read(rc, encoding="utf-8")
            default = parser.get("backend", "default-keyring", fallback="").strip()
            if default:
                notes.append(
                    f"keyringrc.cfg default-keyring={safe(default, kind='line', max_cells=80)} "
                    f"ignored: {_why_ignored(default)}"
                )
            if parser.get("backend", "keyring-path", fallback="").strip():
                notes.append("keyringrc.cfg keyring-path ignored: no code is loaded from it.")
    except (OSError, configparser.Error, ImportError):
        pass
    return notes


def _why_ignored(name: str) -> str:
    refusal = _refusal_by_name(name)
    if refusal:
        return refusal + "."
    if name in ALLOWED_BACKENDS:
        return "the console selects OS keyrings itself (this one is allowed)."
    return "only OS keyrings (Secret Service, KWallet, Keychain, Credential Locker) are used."


def _refusal_by_name(name: str) -> str | None:
    low = name.lower()
    if any(name.startswith(m) for m in _INSECURE_MODULES) or "plaintext" in low:
        return f"insecure backend refused ({name.rsplit('.', 1)[-1]} stores secrets on disk)"
    if any(name.startswith(m) for m in _NOT_A_KEYRING):
        return "not a keyring (it cannot store anything)"
    if name.startswith("keyring.backends.chainer"):
        return "the chainer may fall through to insecure backends"
    return None


def _class_path(obj: object) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_backend(backend: KeyringBackend) -> str | None:
    """Return why ``backend`` is refused, or ``None`` if it may hold the token."""
    name = _class_path(backend)
    refusal = _refusal_by_name(name)
    if refusal is not None and not name.startswith("keyring.backends.chainer"):
        return refusal
    chained = getattr(backend, "backends", None)
    if name.startswith("keyring.backends.chainer") or isinstance(chained, list | tuple):
        inner = list(chained or [])
        if not inner:
            return "the chainer has no backends"
        for sub in inner:
            sub_refusal = check_backend(sub)
            if sub_refusal is not None:
                return f"the chainer includes {_class_path(sub)}: {sub_refusal}"
    try:
        priority = float(type(backend).priority)
    except Exception as exc:
        return f"{name} is not usable here ({safe(str(exc), kind='line', max_cells=120)})"
    if priority < 1:
        return f"{name} is not a recommended keyring (priority {priority:g} < 1)"
    return None


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


def _unavailable(cause: str, reason: str, notes: list[str]) -> KeyringStatus:
    return KeyringStatus(False, None, reason, [_UNLOCK_RECIPE, _ENV_RECIPE], cause, notes)


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


def _secret_service_no_prompt() -> KeyringBackend:
    """keyring's Secret Service backend, except that it never prompts: locked → KeyringLocked."""
    import secretstorage
    from keyring.backends import SecretService

    class NoPromptSecretService(SecretService.Keyring):
        def get_preferred_collection(self) -> Any:
            bus = secretstorage.dbus_init()
            try:
                collection = secretstorage.Collection(bus)
            except secretstorage.exceptions.SecretStorageException as exc:
                bus.close()
                raise keyring.errors.InitError(
                    "The Secret Service has no usable default keyring."
                ) from exc
            if collection.is_locked():
                bus.close()
                raise keyring.errors.KeyringLocked(
                    "The keyring is locked; unlocking would need a graphical prompt."
                )
            return collection

        def unlock(self, item: Any) -> None:
            if item.is_locked():
                raise keyring.errors.KeyringLocked("The keyring item is locked.")

    return NoPromptSecretService()  # type: ignore[no-untyped-call]


def _instantiate(name: str) -> KeyringBackend:
    if name == "keyring.backends.SecretService.Keyring":
        return _secret_service_no_prompt()
    if name not in ALLOWED_BACKENDS:  # pragma: no cover - the probe only reports allowed ones
        raise TokenStorageUnavailable(f"{name} is not an allowed keyring")
    module_name, _, cls_name = name.rpartition(".")
    import importlib

    module = importlib.import_module(module_name)
    backend: KeyringBackend = getattr(module, cls_name)()
    return backend


class TokenStore:
    """Stores one token per (GitLab base URL, profile) in an acceptable OS keyring.

    ``TokenStore(backend)`` uses an explicit backend (it must pass :func:`check_backend`);
    ``TokenStore()`` probes (child process, ≤ ``probe_timeout`` s) and uses what it found. When no
    keyring can serve, ``available`` is False, ``get`` returns None and ``set`` raises
    :class:`TokenStorageUnavailable`: the caller keeps the token in memory only.
    """

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        *,
        status: KeyringStatus | None = None,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._backend: KeyringBackend | None
        if backend is not None:
            refusal = check_backend(backend)
            if refusal is not None:
                raise TokenStorageUnavailable(f"Keyring refused: {refusal}.")
            self._backend = backend
            self.status = KeyringStatus(
                True, _class_path(backend), "explicit backend", [], "explicit"
            )
            return
        self.status = status if status is not None else probe_keyring(timeout=probe_timeout)
        self._backend = None
        if self.status.available and self.status.backend:
            try:
                self._backend = _instantiate(self.status.backend)
            except Exception as exc:
                self.status = _unavailable(
                    "error",
                    f"{self.status.label} could not be opened "
                    f"({safe(str(exc), kind='line', max_cells=120)})",
                    list(self.status.notes),
                )

    @property
    def available(self) -> bool:
        return self._backend is not None

    def get(self, profile_key: str) -> Secret | None:
        if self._backend is None:
            return None
        value = self._backend.get_password(SERVICE, profile_key)
        return Secret(value) if value and value.strip() else None

    def set(self, profile_key: str, token: Secret) -> None:
        if self._backend is None:
            raise TokenStorageUnavailable(self.status.explanation())
        self._backend.set_password(SERVICE, profile_key, token.reveal())

    def delete(self, profile_key: str) -> bool:
        """Remove the stored token; False if there was none (or no keyring)."""
        if self._backend is None:
            return False
        try:
            self._backend.delete_password(SERVICE, profile_key)
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    def __repr__(self) -> str:
        return f"TokenStore({self.status.label}, available={self.available})"
