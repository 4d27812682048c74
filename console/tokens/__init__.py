"""The API token in the OS keyring: :mod:`~console.tokens.policy` (which keyrings are
acceptable, and why one is refused), :mod:`~console.tokens.probe` (a hang-proof availability
probe in a child process) and :mod:`~console.tokens.store` (:class:`TokenStore`)."""

from __future__ import annotations

from console.problem import TokenStorageUnavailable
from console.tokens.policy import (
    ALLOWED_BACKENDS,
    PROBE_TIMEOUT,
    SERVICE,
    KeyringStatus,
    backend_label,
    check_backend,
    configured_backend_notes,
    token_key,
)
from console.tokens.probe import probe_keyring
from console.tokens.store import TokenStore

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
