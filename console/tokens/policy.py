"""Keyring policy: which OS keyrings may hold the token, and how a refusal is explained.

We never let ``keyring`` choose a backend on its own: with keyrings.alt installed and no Secret
Service it silently picks a plaintext file. Only real OS keyrings are accepted (Secret Service,
libsecret, KWallet, macOS Keychain, Windows Credential Locker), whatever ``PYTHON_KEYRING_BACKEND``
or ``keyringrc.cfg`` say (we report that they were ignored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from console.config import normalize_url
from console.sanitize import safe

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "ALLOWED_BACKENDS",
    "PROBE_TIMEOUT",
    "SERVICE",
    "KeyringStatus",
    "backend_label",
    "check_backend",
    "configured_backend_notes",
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
    import configparser  # keyring's settings file: read only when the notes are asked for

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


def _unavailable(cause: str, reason: str, notes: list[str]) -> KeyringStatus:
    return KeyringStatus(False, None, reason, [_UNLOCK_RECIPE, _ENV_RECIPE], cause, notes)
