"""Masking secrets in any text before it is shown, logged or raised.

One leaf module (it imports only :mod:`console.secret`) so that logging, error descriptions and
the action engine share one registry of live token values without importing each other.
Redaction removes the exact token values registered with :func:`register_secret` (a server or
proxy may echo a token back in an error body), anything shaped like a GitLab token
(``gl[a-z]{2,8}-…``), and ``PRIVATE-TOKEN`` / ``Authorization`` / ``JOB-TOKEN`` header and
``private_token=`` query values.
"""

from __future__ import annotations

import re
import threading
from typing import Final

from console.secret import Secret

__all__ = [
    "TOKEN_PATTERN",
    "forget_secrets",
    "redact_tokens",
    "register_secret",
    "registered_secrets",
]

# GitLab token shapes (glpat-, gldt-, glrt-, glsoat-…), possibly behind an instance prefix.
TOKEN_PATTERN: Final = re.compile(r"gl[a-z]{2,8}-[A-Za-z0-9._-]{16,}")
_QUERY_TOKEN: Final = re.compile(r"(?i)((?:private|access|job)_token=)[^&\s'\"]+")
_HEADER_TOKEN: Final = re.compile(
    r"(?i)((?:private-token|job-token|authorization)['\"]?\s*[:=]\s*['\"]?(?:bearer\s+|basic\s+)?)"
    r"[^\s'\",;}]+"
)

_lock = threading.Lock()
_secrets: list[Secret] = []


def register_secret(secret: Secret) -> None:
    """Make every later redaction (log records, error text) mask this exact token value."""
    with _lock:
        if secret not in _secrets:
            _secrets.append(secret)


def registered_secrets() -> tuple[Secret, ...]:
    """The token values registered so far."""
    with _lock:
        return tuple(_secrets)


def forget_secrets() -> None:
    """Drop every registered value (tests; a process never needs to unlearn a token)."""
    with _lock:
        _secrets.clear()


def redact_tokens(text: str, secret: Secret | None = None) -> str:
    """Mask ``secret``, every registered token, token-shaped strings and credential
    header/query values in ``text``."""
    if secret is not None:
        text = secret.redact(text)
    for registered in registered_secrets():
        text = registered.redact(text)
    text = TOKEN_PATTERN.sub("***", text)
    text = _QUERY_TOKEN.sub(r"\1***", text)
    return _HEADER_TOKEN.sub(r"\1***", text)
