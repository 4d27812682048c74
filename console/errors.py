"""Turn any failure into one clear sentence plus a next step (:class:`Problem`).

``describe_error`` never returns a traceback and never the API token. Text that came from the
server (error bodies, reasons, redirect targets) goes through :func:`console.sanitize.safe` and is
truncated, because a hostile or compromised server chooses it.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from typing import Any, Final

import gitlab.exceptions
import httpx
import keyring.errors
import requests

from console.api.retry import parse_retry_after
from console.problem import (
    ConfigError,
    ConsoleError,
    Problem,
    ProblemError,
    TokenStorageUnavailable,
)
from console.sanitize import safe
from console.secret import Secret

__all__ = [
    "ConfigError",
    "ConsoleError",
    "Problem",
    "TokenStorageUnavailable",
    "describe_error",
    "redact_tokens",
]

_SERVER_TEXT_CELLS: Final = 160
# GitLab token shapes (glpat-, gldt-, glrt-, glsoat-…), possibly behind an instance prefix.
TOKEN_PATTERN: Final = re.compile(r"gl[a-z]{2,8}-[A-Za-z0-9._-]{16,}")
_QUERY_TOKEN: Final = re.compile(r"(?i)((?:private|access|job)_token=)[^&\s'\"]+")
_HEADER_TOKEN: Final = re.compile(
    r"(?i)((?:private-token|job-token|authorization)['\"]?\s*[:=]\s*['\"]?(?:bearer\s+|basic\s+)?)"
    r"[^\s'\",;}]+"
)


def redact_tokens(text: str, secret: Secret | None = None) -> str:
    """Mask the exact token (``secret`` and every token registered with
    :func:`console.logs.register_secret`: a server or proxy may echo it back in an error body),
    token-shaped strings and credential headers/query values."""
    from console.logs import registered_secrets  # here: console.logs imports this module

    if secret is not None:
        text = secret.redact(text)
    for registered in registered_secrets():
        text = registered.redact(text)
    text = TOKEN_PATTERN.sub("***", text)
    text = _QUERY_TOKEN.sub(r"\1***", text)
    return _HEADER_TOKEN.sub(r"\1***", text)


def _server_text(value: object, secret: Secret | None = None) -> str:
    """Display-safe, truncated rendering of a server-provided value (str, bytes, dict…)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        except (TypeError, ValueError):
            value = repr(value)
    return safe(redact_tokens(value.strip(), secret), kind="line", max_cells=_SERVER_TEXT_CELLS)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts and the exceptions urllib3 tucks into ``args``."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cur = stack.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (cur.__cause__, cur.__context__, getattr(cur, "reason", None)):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
        stack.extend(a for a in cur.args if isinstance(a, BaseException))


def _chain_text(exc: BaseException) -> str:
    return " | ".join(f"{type(e).__name__}: {e}" for e in _chain(exc))


def _host_of(url: str | None) -> str:
    if not url:
        return "the server"
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError, ValueError):
        host = ""
    return safe(host or url, kind="line", max_cells=80)


def _port_of(url: str | None) -> str:
    """The port a URL connects to ("443" for https without one), or "that port"."""
    try:
        parsed = httpx.URL(url or "")
    except (httpx.InvalidURL, TypeError, ValueError):
        return "that port"
    port = parsed.port or {"https": 443, "http": 80}.get(parsed.scheme)
    return f"port {port}" if port else "that port"


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


def _keyring_problem(exc: BaseException) -> Problem:
    detail = safe(redact_tokens(str(exc)), kind="line", max_cells=200) or type(exc).__name__
    if isinstance(exc, keyring.errors.KeyringLocked):
        reason = "the OS keyring is locked and cannot be unlocked without a graphical prompt."
    elif isinstance(exc, keyring.errors.NoKeyringError | TokenStorageUnavailable):
        reason = "no usable OS keyring is available."
    else:
        reason = f"the OS keyring failed ({detail})."
    return Problem(
        "Keyring unavailable",
        f"Token storage: {reason} The token stays in memory for this session only.",
        "Run `incident-console diagnose` to see why, or start the console inside an unlocked "
        "keyring session (dbus-run-session -- bash; gnome-keyring-daemon --unlock).",
        "keyring",
    )


def _store_problem(exc: BaseException) -> Problem | None:
    """The local SQLite state store (and any local write) failing: full disk, lock, damage."""
    import sqlite3

    from console.store.errors import StoreCorruptError, StoreError

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        full = True
    elif isinstance(exc, sqlite3.Error | StoreError):
        full = "disk is full" in str(exc).lower()
    else:
        return None
    if full:
        return Problem(
            "Disk full",
            "The console could not save its local state: the disk (or quota) is full.",
            "Free space on this machine, then retry; everything saved before is intact.",
            "disk_full",
        )
    detail = safe(redact_tokens(str(exc)), kind="line", max_cells=200) or type(exc).__name__
    low = detail.lower()
    if "database is locked" in low or "database table is locked" in low:
        return Problem(
            "Local database busy",
            "Another process is holding the console's local database.",
            "Close the other console (or wait a moment), then retry.",
            "store_busy",
        )
    damaged = ("malformed", "not a database", "not a readable", "database check failed")
    if isinstance(exc, StoreCorruptError) or any(m in low for m in damaged):
        return Problem(
            "Local database damaged",
            f"The console's local database cannot be used: {detail}.",
            "Move console.db out of the state directory (`incident-console diagnose` shows "
            "where; keep it for the record) and start again; GitLab itself is not affected.",
            "store_corrupt",
        )
    return Problem(
        "Local state problem",
        f"The console's local database failed: {detail}",
        "Check the state directory (`incident-console diagnose` shows where) and its free "
        "space and permissions, then retry.",
        "store",
    )


def _network_problem(
    exc: BaseException, *, url: str | None, ca_bundle: str | None
) -> Problem | None:
    chain = list(_chain(exc))
    text = _chain_text(exc)
    low = text.lower()
    host = _host_of(url)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if "certificate_verify_failed" in low or has(ssl.SSLCertVerificationError):
        if "hostname mismatch" in low or "doesn't match" in low or "not valid for" in low:
            why = "its certificate is for a different host name"
        elif "self-signed" in low or "self signed" in low:
            why = "its certificate is self-signed"
        elif "expired" in low:
            why = "its certificate has expired"
        else:
            why = "its certificate is not signed by a trusted authority"
        bundle = (
            f" (checked against {safe(ca_bundle, kind='line', max_cells=120)})" if ca_bundle else ""
        )
        return Problem(
            "TLS verification failed",
            f"Could not verify {host}: {why}{bundle}.",
            "If the instance uses an internal CA, pass its bundle with --ca-bundle PATH "
            "(or set ca_bundle in the profile); never disable verification on a compromised "
            "network.",
            "tls",
        )
    if has(ssl.SSLError, requests.exceptions.SSLError) or ("ssl" in low and "wrong version" in low):
        return Problem(
            "TLS handshake failed",
            f"Could not establish a TLS session with {host}.",
            "Check the URL scheme and port (https:// for TLS) and any intercepting proxy.",
            "tls",
        )
    dns_markers = (
        "name or service not known",
        "nodename nor servname",
        "temporary failure in name resolution",
        "getaddrinfo failed",
        "no address associated",
        "name resolution",
        "failed to resolve",
    )
    if has(socket.gaierror) or any(m in low for m in dns_markers):
        return Problem(
            "Host not found",
            f"DNS could not resolve {host}.",
            "Check the spelling of the GitLab URL and the jump host's DNS or proxy settings.",
            "dns",
        )
    refused = f"errno {errno.ECONNREFUSED}]"
    if has(ConnectionRefusedError) or "connection refused" in low or refused in low:
        return Problem(
            "Connection refused",
            f"Nothing is accepting connections at {host} on {_port_of(url)}.",
            "Check the URL and port; the GitLab server or its web service may be down.",
            "refused",
        )
    if has(httpx.ProxyError, requests.exceptions.ProxyError):
        return Problem(
            "Proxy failed",
            "The configured proxy refused or failed the connection.",
            "Check the proxy address in the profile (or --url without a proxy).",
            "proxy",
        )
    if has(httpx.TimeoutException, requests.Timeout, TimeoutError, socket.timeout):
        return Problem(
            "Timed out",
            f"{host} did not answer in time.",
            "Check that the server is up and reachable; raise the profile timeout for slow links.",
            "timeout",
        )
    if "network is unreachable" in low or "no route to host" in low:
        return Problem(
            "Network unreachable",
            f"There is no network route to {host}.",
            "Check the jump host's network, VPN or proxy settings.",
            "unreachable",
        )
    if has(
        httpx.RemoteProtocolError,
        httpx.ReadError,
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
    ) or any(m in low for m in ("remotedisconnected", "connection reset", "connection aborted")):
        return Problem(
            "Connection dropped",
            f"{host} closed the connection without a complete answer; it may be down or "
            "restarting.",
            "Retry in a moment; for a change, check its current state before repeating it.",
            "server_down",
        )
    if has(httpx.TransportError, requests.ConnectionError, ConnectionError):
        return Problem(
            "Cannot connect",
            f"Could not reach {host}.",
            "Check the URL, the network and any proxy settings.",
            "network",
        )
    return None


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
        return Problem(
            "Unexpected error",
            f"{type(exc).__name__} (and describing it failed: {type(inner).__name__}).",
            "See the log file for details.",
            "internal",
        )


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
    if isinstance(exc, keyring.errors.KeyringError | TokenStorageUnavailable):
        return _keyring_problem(exc)
    local = _store_problem(exc)
    if local is not None:
        return local

    # python-gitlab
    if isinstance(exc, gitlab.exceptions.RedirectError):
        target = ""
        found = re.findall(r"\bto:? (https?://\S+)", str(exc.error_message))
        if found:
            target = _server_text(found[-1].rstrip(".,"), secret)
        return Problem(
            "Redirected",
            f"{_host_of(url)} redirected the request{f' to {target}' if target else ''}; the "
            "console does not follow redirects with the token.",
            "Use the final address as the GitLab URL (usually https:// instead of http://).",
            "redirect",
            exc.response_code,
        )
    if isinstance(exc, gitlab.exceptions.GitlabParsingError):
        return Problem(
            "Unreadable answer",
            f"{_host_of(url)} did not answer with GitLab API JSON.",
            "Check that the URL points at a GitLab instance (without /api/v4).",
            "bad_response",
            exc.response_code,
        )
    if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError):
        return _http_problem(
            exc.response_code or 401,
            exc.error_message,
            exc.response_body,
            None,
            url=url,
            secret=secret,
        )
    if isinstance(exc, gitlab.exceptions.GitlabError):
        if exc.response_code is not None:
            return _http_problem(
                exc.response_code,
                exc.error_message,
                exc.response_body,
                None,
                url=url,
                secret=secret,
            )
        net = _network_problem(exc, url=url, ca_bundle=ca_bundle)
        if net is not None:
            return net
        return Problem(
            "GitLab client error",
            _server_text(exc.error_message, secret) or type(exc).__name__,
            "Retry; if it persists, run `incident-console diagnose`.",
            "client",
        )

    # httpx / requests with an HTTP response
    if isinstance(exc, httpx.HTTPStatusError):
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
    if isinstance(exc, requests.TooManyRedirects | requests.HTTPError) and exc.response is not None:
        resp2 = exc.response
        fields = _body_fields(resp2.content if not resp2.is_redirect else b"")
        message = fields.get("message", fields.get("error", ""))
        return _http_problem(
            resp2.status_code,
            message,
            b"",
            resp2.headers,
            url=url or resp2.url,
            secret=secret,
        )
    if isinstance(exc, httpx.TooManyRedirects):
        return Problem(
            "Redirected",
            f"{_host_of(url)} kept redirecting; the console does not follow redirects with the "
            "token.",
            "Use the final address as the GitLab URL (usually https:// instead of http://).",
            "redirect",
        )
    if isinstance(exc, httpx.UnsupportedProtocol | requests.exceptions.InvalidSchema):
        return Problem(
            "Invalid URL",
            "The URL scheme is not supported.",
            "Use an https:// URL for the GitLab instance.",
            "config",
        )
    if isinstance(exc, httpx.InvalidURL | requests.exceptions.InvalidURL):
        return Problem("Invalid URL", "The GitLab URL is malformed.", "Check the URL.", "config")

    net = _network_problem(exc, url=url, ca_bundle=ca_bundle)
    if net is not None:
        return net

    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        name = safe(getattr(exc, "filename", None) or "", kind="line", max_cells=160)
        why = "does not exist" if isinstance(exc, FileNotFoundError) else "cannot be read"
        return Problem(
            "File problem",
            f"The file {name} {why}.",
            "Check the path and its permissions.",
            "file",
        )
    if isinstance(exc, KeyboardInterrupt):
        return Problem("Interrupted", "Stopped at your request.", "", "interrupted")
    return Problem(
        "Unexpected error",
        f"{type(exc).__name__}: "
        + (safe(redact_tokens(str(exc), secret), kind="line", max_cells=200) or "no details"),
        "See the log file for details; please report it.",
        "internal",
    )
