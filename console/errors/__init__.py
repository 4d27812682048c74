"""Turn any failure into one clear sentence plus a next step (:class:`Problem`).

``describe_error`` never returns a traceback and never the API token. It dispatches on the
exception's family: :mod:`~console.errors.http` (status codes, error bodies, redirects),
:mod:`~console.errors.network` (DNS, TLS, refused, timeouts) and :mod:`~console.errors.local`
(keyring, store, files). An exception nobody anticipated is written, with its traceback and
redacted, to the log file the message then names.
"""

from __future__ import annotations

import logging
import sys

import httpx

from console.api.pages import HttpStatusError
from console.api.retry import parse_retry_after
from console.errors.http import (
    _http_problem,
    httpx_status_problem,
    url_problem,
)
from console.errors.local import _file_problem, _keyring_failure, _store_problem
from console.errors.network import _network_problem
from console.logs import current_log_path
from console.problem import (
    ConfigError,
    ConsoleError,
    Problem,
    ProblemError,
    TokenStorageUnavailable,
)
from console.redact import redact_tokens
from console.sanitize import safe
from console.secret import Secret

__all__ = [
    "ConfigError",
    "ConsoleError",
    "Problem",
    "ProblemError",
    "TokenStorageUnavailable",
    "describe_error",
    "parse_retry_after",
    "redact_tokens",
]

log = logging.getLogger(__name__)


def describe_error(
    exc: BaseException,
    *,
    url: str | None = None,
    ca_bundle: str | None = None,
    secret: Secret | None = None,
) -> Problem:
    """Explain ``exc`` as a :class:`Problem`. Never raises, never includes a traceback/token."""
    try:
        return _describe(exc, url=url, ca_bundle=ca_bundle, secret=secret)
    except Exception as inner:  # a describer must never be the thing that crashes
        return _unexpected(
            exc, f"{type(exc).__name__} (and describing it failed: {type(inner).__name__})."
        )


def _unexpected(exc: BaseException, detail: str) -> Problem:
    """Log ``exc`` with its traceback (redacted by the log handler) and point at that log."""
    path = current_log_path()
    if path is not None:  # never through logging's last resort: stderr, unredacted
        log.error("unexpected error: %s", detail, exc_info=(type(exc), exc, exc.__traceback__))
    where = (
        f"The details (tokens redacted) are in {safe(str(path), kind='line', max_cells=160)}; "
        "please report it."
        if path is not None
        else "Please report it, with the steps that led to it."
    )
    return Problem("Unexpected error", detail, where, "internal")


def _describe(
    exc: BaseException, *, url: str | None, ca_bundle: str | None, secret: Secret | None
) -> Problem:
    if isinstance(exc, ProblemError):
        return exc.problem
    if isinstance(exc, ConfigError):
        return Problem(
            "Invalid settings",
            safe(redact_tokens(str(exc), secret), kind="line", max_cells=300),
            "Fix the value and try again.",
            "config",
        )
    keyring = _keyring_failure(exc)
    if keyring is not None:
        return keyring
    local = _store_problem(exc)
    if local is not None:
        return local
    if isinstance(exc, HttpStatusError):  # a refused answer read through httpx
        return _http_problem(
            exc.response_code,
            exc.error_message,
            exc.response_body,
            exc.headers,
            url=url,
            secret=secret,
        )
    if "requests" in sys.modules:  # python-gitlab's and requests' errors exist only once loaded
        from console.errors.python_gitlab import requests_problem

        client = requests_problem(exc, url=url, ca_bundle=ca_bundle, secret=secret)
        if client is not None:
            return client
    if isinstance(exc, httpx.HTTPStatusError):
        return httpx_status_problem(exc, url=url, secret=secret)
    bad_url = url_problem(exc, url=url)
    if bad_url is not None:
        return bad_url
    net = _network_problem(exc, url=url, ca_bundle=ca_bundle)
    if net is not None:
        return net
    file = _file_problem(exc)
    if file is not None:
        return file
    if isinstance(exc, KeyboardInterrupt):
        return Problem("Interrupted", "Stopped at your request.", "", "interrupted")
    return _unexpected(
        exc,
        f"{type(exc).__name__}: "
        + (safe(redact_tokens(str(exc), secret), kind="line", max_cells=200) or "no details"),
    )
