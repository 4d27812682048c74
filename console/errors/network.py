"""Network failures explained: DNS, TLS, refused, proxy, timeouts, dropped connections.

The cause is often several exceptions deep (urllib3 wraps socket errors in ``args``), so the
whole chain is searched for a type or a well-known message.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

import httpx

from console.api.loaded import requests_failures
from console.errors.http import _host_of
from console.problem import Problem
from console.sanitize import safe


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


def _port_of(url: str | None) -> str:
    """The port a URL connects to ("443" for https without one), or "that port"."""
    try:
        parsed = httpx.URL(url or "")
    except (httpx.InvalidURL, TypeError, ValueError):
        return "that port"
    port = parsed.port or {"https": 443, "http": 80}.get(parsed.scheme)
    return f"port {port}" if port else "that port"


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
    if has(ssl.SSLError, *requests_failures("tls")) or ("ssl" in low and "wrong version" in low):
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
    if has(httpx.ProxyError, *requests_failures("proxy")):
        return Problem(
            "Proxy failed",
            "The configured proxy refused or failed the connection.",
            "Check the proxy address in the profile (or --url without a proxy).",
            "proxy",
        )
    if has(httpx.TimeoutException, *requests_failures("timeout"), TimeoutError, socket.timeout):
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
    if has(httpx.TransportError, *requests_failures("connect"), ConnectionError):
        return Problem(
            "Cannot connect",
            f"Could not reach {host}.",
            "Check the URL, the network and any proxy settings.",
            "network",
        )
    return None
