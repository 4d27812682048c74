"""Logging: a 0600 file in the log dir, with every record redacted before it is written.

Redaction is :func:`console.redact.redact_tokens`: the exact token values registered with
:func:`console.redact.register_secret`, credential header and query values, and anything shaped
like a GitLab token. HTTP-library debug logging
(urllib3, httpx, httpcore, http.client) stays off: it would print request headers.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
from pathlib import Path
from typing import Final

from console.paths import log_dir, open_private_file, private_dir
from console.redact import redact_tokens
from console.sanitize import safe

__all__ = [
    "LOG_FILE",
    "RedactingFilter",
    "RedactingFormatter",
    "current_log_path",
    "open_private",
    "redact",
    "setup_logging",
]

LOG_FILE: Final = "console.log"
_QUIET: Final = ("urllib3", "httpx", "httpcore", "requests", "gitlab", "hpack", "asyncio")

_lock = threading.Lock()


def redact(text: str) -> str:
    """What every log line goes through: registered token values, token shapes, credentials."""
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
    """Create ``path`` with mode 0600 if missing and tighten it if it exists; a symlink, another
    owner's file or one others can write is refused (:class:`console.paths.UnsafePathError`)."""
    os.close(open_private_file(path, os.O_WRONLY | os.O_APPEND, create=True))


_handler: logging.FileHandler | None = None


def current_log_path() -> Path | None:
    """The file log records go to now (what "see the log" messages name), or ``None``."""
    with _lock:
        return Path(_handler.baseFilename) if _handler is not None else None


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
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
