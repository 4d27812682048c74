"""HTTP for actions: one request per write, bounded retries for reads, headers captured.

Writes are sent exactly once (``obey_rate_limit=False``, no retries): the journal verifies
instead. Reads retry 5xx, timeouts and resets under :data:`console.api.DEFAULT_POLICY`'s bounded
backoff; a 429 is returned to the runner (which pauses visibly, or halts on a long wait) and
python-gitlab's own rate-limit sleep is never used. Every request has a short timeout, so a
hanging server costs seconds and the runner's breaker stops the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import gitlab
import gitlab.exceptions
import requests

from actions.model import JSON, ApplyResult, HttpFailure
from console.api.retry import DEFAULT_POLICY, RetryPolicy, is_transient_status, parse_retry_after
from console.errors import redact_tokens
from console.sanitize import safe

__all__ = ["READ_POLICY", "READ_TIMEOUT", "WRITE_TIMEOUT", "HttpFailure", "get_json", "http"]

WRITE_TIMEOUT = 10.0
READ_TIMEOUT = 8.0
#: the console's one read policy, with one transient retry: an action read that times out
#: twice means the server is unreachable, and the runner's breaker stops the run
READ_POLICY = replace(DEFAULT_POLICY, transient_retries=1)
#: how long a read's transient retries may sleep (tests and the bench replace it)
retry_sleep: Callable[[float], None] = time.sleep


_local = threading.local()


def _capture_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """python-gitlab's exceptions drop the headers; this hook keeps the last response."""
    _local.last = response


def _ensure_hook(gl: gitlab.Gitlab) -> None:
    hooks = gl.session.hooks.setdefault("response", [])
    if _capture_response not in hooks:
        hooks.append(_capture_response)


def _message(exc: gitlab.exceptions.GitlabError) -> str:
    msg = exc.error_message
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    # Redacted: a proxy or server that echoes the request would put our token in the journal.
    text = redact_tokens(msg if isinstance(msg, str) else repr(msg))
    return safe(text, kind="line", max_cells=200)


def _once(
    gl: gitlab.Gitlab,
    verb: str,
    path: str,
    query: Mapping[str, JSON] | None,
    data: Mapping[str, JSON] | None,
    timeout: float,
) -> ApplyResult:
    request = f"{verb.upper()} {path}"
    _ensure_hook(gl)
    _local.last = None
    try:
        resp = gl.http_request(
            verb,
            path,
            query_data=dict(query) if query else None,
            post_data=dict(data) if data is not None else None,
            timeout=timeout,
            obey_rate_limit=False,
            retry_transient_errors=False,
            max_retries=0,
        )
    except gitlab.exceptions.GitlabError as exc:
        # a thread-local: "last" exists only in threads that have had a response
        last: requests.Response | None = getattr(_local, "last", None)
        headers: Mapping[str, str] = last.headers if last is not None else {}
        raise HttpFailure(
            exc.response_code,
            _message(exc),
            request_id=headers.get("X-Request-Id"),
            retry_after=parse_retry_after(headers) if exc.response_code == 429 else None,
            request=request,
        ) from None
    except requests.RequestException as exc:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        raise HttpFailure(None, f"{request}: {kind}", transport=True, request=request) from None
    body: JSON = None
    if resp.content and "json" in resp.headers.get("Content-Type", ""):
        try:
            body = resp.json()
        except ValueError:
            body = None
    return ApplyResult(resp.status_code, resp.headers.get("X-Request-Id"), body)


def http(
    gl: gitlab.Gitlab,
    verb: str,
    path: str,
    *,
    data: Mapping[str, JSON] | None = None,
    query: Mapping[str, JSON] | None = None,
    timeout: float = WRITE_TIMEOUT,
    read: bool = False,
    policy: RetryPolicy = READ_POLICY,
) -> ApplyResult:
    """Send one request; a read (``read=True``) retries transient failures under ``policy``.

    Returns the parsed JSON body (or None) with status and ``X-Request-Id``; raises
    :class:`HttpFailure` otherwise (a 429 included: the caller decides how long to wait).
    """
    attempt = 0
    while True:
        try:
            return _once(gl, verb, path, query, data, timeout)
        except HttpFailure as exc:
            if not read or not (exc.transport or is_transient_status(exc.status or 0)):
                raise
            attempt += 1
            wait = policy.transient_wait(attempt)
            if wait is None:
                raise
            retry_sleep(wait)


def get_json(gl: gitlab.Gitlab, path: str, **query: JSON) -> JSON:
    """GET ``path`` as a read (bounded retries) and return the parsed body."""
    return http(gl, "get", path, query=query or None, timeout=READ_TIMEOUT, read=True).body
