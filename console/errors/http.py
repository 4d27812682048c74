"""HTTP answers explained: status codes, GitLab's JSON error bodies, redirects and bad URLs.

Every server-chosen string (body, reason, ``Location``) goes through :func:`_server_text`:
redacted, sanitised and truncated, because a hostile or compromised server chooses it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import httpx

from console.api.retry import parse_retry_after
from console.problem import Problem
from console.redact import redact_tokens
from console.sanitize import safe
from console.secret import Secret

_SERVER_TEXT_CELLS: Final = 160


_HTML_START: Final = re.compile(r"<!doctype\s+html|<html\b|<body\b", re.I)
_HTML_HEADING: Final = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.I | re.S)
_HTML_TAG: Final = re.compile(r"<[^>]*>")


def _summarise_html(text: str) -> str | None:
    """An HTML error page (a proxy's 502, a login page) as one line: its title, never the page."""
    if not _HTML_START.search(text[:512]):
        return None
    found = _HTML_HEADING.search(text)
    heading = (found.group(1) or found.group(2) or "") if found else ""
    heading = " ".join(html.unescape(_HTML_TAG.sub(" ", heading)).split())[:80]
    return f"an HTML page ({heading})" if heading else "an HTML page instead of JSON"


def _server_text(value: object, secret: Secret | None = None) -> str:
    """Display-safe, truncated rendering of a server-provided value (str, bytes, dict…)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = _summarise_html(value) or value
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        except (TypeError, ValueError):
            value = repr(value)
    return safe(redact_tokens(value.strip(), secret), kind="line", max_cells=_SERVER_TEXT_CELLS)


def _host_of(url: str | None) -> str:
    if not url:
        return "the server"
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError, ValueError):
        host = ""
    return safe(host or url, kind="line", max_cells=80)


def _body_fields(body: object) -> dict[str, Any]:
    """Parse a GitLab JSON error body if possible (``{"message": …}`` / ``{"error": …}``)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8", "replace")
        except Exception:  # pragma: no cover - decode with "replace" does not raise
            return {}
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}
    return body if isinstance(body, dict) else {}


def _http_problem(
    status: int,
    message: object,
    body: object,
    headers: Mapping[str, str] | None,
    *,
    url: str | None,
    secret: Secret | None,
) -> Problem:
    fields = _body_fields(body)
    if not fields and isinstance(message, dict):
        fields = message
    shown = _server_text(message if message not in (None, "", b"") else body, secret)
    said = f" GitLab said: {shown}" if shown else ""
    host = _host_of(url)

    if 300 <= status < 400:
        location = (headers or {}).get("Location") or (headers or {}).get("location")
        target = _server_text(location, secret) if location else "another address"
        return Problem(
            "Redirected",
            f"{host} answered {status} and redirects to {target}; the console does not follow "
            "redirects with the token.",
            "Use the final address as the GitLab URL (usually https:// instead of http://).",
            "redirect",
            status,
        )
    if status == 401:
        return Problem(
            "Token rejected",
            f"GitLab answered 401: the token is wrong, expired or revoked.{said}",
            "Create a new personal access token (scopes api, and admin_mode if Admin Mode is on) "
            "and sign in again.",
            "auth",
            status,
        )
    if status == 403:
        if fields.get("error") == "insufficient_scope" or "insufficient_scope" in shown:
            scope = fields.get("scope")
            scope_text = _server_text(scope, secret) if scope else "a required"
            return Problem(
                "Token scope missing",
                f"GitLab answered 403: the token lacks the {scope_text} scope.{said}",
                f"Create a token that includes the {scope_text} scope (api for full access).",
                "scope",
                status,
            )
        lowered = shown.lower()
        if "blocked" in lowered:
            return Problem(
                "Account blocked",
                f"GitLab answered 403: the token's account is blocked.{said}",
                "Use a token of an active administrator account.",
                "forbidden",
                status,
            )
        return Problem(
            "Not allowed",
            f"GitLab answered 403: this needs administrator rights the token does not have.{said}",
            "Use an administrator's token; if Admin Mode is enabled the token also needs the "
            "admin_mode scope.",
            "forbidden",
            status,
        )
    if status == 404:
        return Problem(
            "Not found",
            f"GitLab answered 404: the object does not exist or this token cannot see it.{said}",
            "Check the GitLab URL (without /api/v4) and that the object still exists.",
            "not_found",
            status,
        )
    if status == 409:
        return Problem(
            "Conflict",
            f"GitLab answered 409: the object changed or is locked by another operation.{said}",
            "Reload it and check its current state before trying again.",
            "conflict",
            status,
        )
    if status == 429:
        retry_after = parse_retry_after(headers)
        when = f"retry after {retry_after:.0f} s" if retry_after is not None else "retry later"
        return Problem(
            "Rate limited",
            f"GitLab answered 429: too many requests for this token; {when}.{said}",
            "Wait, then retry; the console pauses rather than hammering the server.",
            "rate_limit",
            status,
            retry_after,
        )
    if status >= 500:
        what = "is unavailable" if status in (502, 503, 504) else "had an internal error"
        return Problem(
            "GitLab server error",
            f"{host} {what} (HTTP {status}).{said}",
            "Retry in a moment; for a change, check its current state before repeating it.",
            "server",
            status,
        )
    if status in (400, 405, 422):
        return Problem(
            "Request rejected",
            f"GitLab answered {status}: it rejected the request.{said}",
            "Check the input; if it looks right, this GitLab version may not support it.",
            "rejected",
            status,
        )
    return Problem(
        "Unexpected answer",
        f"GitLab answered HTTP {status}.{said}",
        "Retry; if it persists, check the GitLab URL and server health.",
        "http",
        status,
    )


def httpx_status_problem(
    exc: httpx.HTTPStatusError, *, url: str | None, secret: Secret | None
) -> Problem:
    """An httpx error raised for a non-2xx answer (``raise_for_status``)."""
    resp = exc.response
    try:
        body: object = resp.content
    except httpx.ResponseNotRead:
        body = b""
    fields = _body_fields(body)
    message = fields.get("message", fields.get("error", body))
    return _http_problem(
        resp.status_code, message, body, resp.headers, url=url or str(resp.url), secret=secret
    )


def body_problem_fields(body: object) -> object:
    """The message of a GitLab JSON error body (``message``, else ``error``), else ``""``."""
    fields = _body_fields(body)
    return fields.get("message", fields.get("error", ""))


def url_problem(exc: BaseException, *, url: str | None) -> Problem | None:
    """Endless redirects and URLs the client cannot use; ``None`` for anything else."""
    if isinstance(exc, httpx.TooManyRedirects):
        return Problem(
            "Redirected",
            f"{_host_of(url)} kept redirecting; the console does not follow redirects with the "
            "token.",
            "Use the final address as the GitLab URL (usually https:// instead of http://).",
            "redirect",
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Problem(
            "Invalid URL",
            "The URL scheme is not supported.",
            "Use an https:// URL for the GitLab instance.",
            "config",
        )
    if isinstance(exc, httpx.InvalidURL):
        return Problem("Invalid URL", "The GitLab URL is malformed.", "Check the URL.", "config")
    return None
