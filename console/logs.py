"""Logging: a 0600 file in the log dir, with every record redacted before it is written.

Redaction removes the exact token values registered with :func:`register_secret`,
``PRIVATE-TOKEN`` / ``Authorization`` / ``JOB-TOKEN`` header values, ``private_token=`` query
values and anything shaped like a GitLab token (``gl[a-z]{2,8}-…``). HTTP-library debug logging
(urllib3, httpx, httpcore, http.client) stays off: it would print request headers.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
from pathlib import Path
from typing import Final

from console.errors import redact_tokens
from console.paths import log_dir, private_dir
from console.sanitize import safe
from console.secret import Secret

__all__ = [
    "LOG_FILE",
    "RedactingFilter",
    "RedactingFormatter",
    "open_private",
    "redact",
    "register_secret",
    "registered_secrets",
    "setup_logging",
]

LOG_FILE: Final = "console.log"
_QUIET: Final = ("urllib3", "httpx", "httpcore", "requests", "gitlab", "hpack", "asyncio")

_lock = threading.Lock()
_secrets: list[Secret] = []


def register_secret(secret: Secret) -> None:
    """Make every later log record mask this exact token value."""
    with _lock:
        if secret not in _secrets:
            _secrets.append(secret)


def registered_secrets() -> tuple[Secret, ...]:
    """The token values registered so far (for redaction outside logging)."""
    with _lock:
        return tuple(_secrets)


def forget_secrets() -> None:
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    with _lock:
        secrets = list(_secrets)
    for s in secrets:
        text = s.redact(text)
    return redact_tokens(text)


class RedactingFilter(logging.Filter):
    """Rewrites the record's message (args folded in) and any exception text, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Belt and braces: redacts the final formatted line too, and neutralises terminal control
    characters (a server's error body in a message must not act on a terminal that ``cat``s or
    ``tail -f``s the log)."""

    def format(self, record: logging.LogRecord) -> str:
        return safe(redact(super().format(record)), kind="text")


def open_private(path: Path) -> None:
    """Create ``path`` with mode 0600 if missing and tighten it if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


_handler: logging.Handler | None = None


def setup_logging(level: int = logging.INFO, *, directory: Path | None = None) -> Path:
    """Attach the redacting 0600 file handler to the root logger (idempotent). Returns the path."""
    global _handler
    directory = private_dir(directory or log_dir())
    path = directory / LOG_FILE
    open_private(path)
    with _lock:
        root = logging.getLogger()
        if _handler is not None:
            root.removeHandler(_handler)
            _handler.close()
        handler = logging.FileHandler(path, encoding="utf-8", delay=False)
        handler.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        root.setLevel(min(level, root.level) if root.level else level)
        _handler = handler
        for other in root.handlers:
            if not any(isinstance(f, RedactingFilter) for f in other.filters):
                other.addFilter(RedactingFilter())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    http.client.HTTPConnection.debuglevel = 0
    return path
