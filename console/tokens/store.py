"""``TokenStore``: one token per (GitLab base URL, profile) in an acceptable OS keyring.

When nothing can serve, the caller keeps the token in memory for the session and shows
:meth:`~console.tokens.policy.KeyringStatus.explanation`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.errors import TokenStorageUnavailable
from console.sanitize import safe
from console.secret import Secret
from console.tokens.policy import (
    ALLOWED_BACKENDS,
    PROBE_TIMEOUT,
    SERVICE,
    KeyringStatus,
    _class_path,
    _unavailable,
    check_backend,
)
from console.tokens.probe import probe_keyring

if TYPE_CHECKING:  # keyring loads with the first backend, not with the console's start-up
    from keyring.backend import KeyringBackend

__all__ = ["TokenStore"]


def _secret_service_no_prompt() -> KeyringBackend:
    """keyring's Secret Service backend, except that it never prompts: locked → KeyringLocked."""
    import keyring.errors
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
        import keyring.errors

        try:
            self._backend.delete_password(SERVICE, profile_key)
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    def __repr__(self) -> str:
        return f"TokenStore({self.status.label}, available={self.available})"
