"""ConnectionConfig validation and the two client builders (python-gitlab, httpx)."""

from __future__ import annotations

import asyncio
import http.server
import os
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import requests

from console import USER_AGENT
from console.config import (
    ConfigError,
    ConnectionConfig,
    build_gitlab,
    build_httpx,
    build_httpx_sync,
    normalize_url,
)
from console.secret import Secret

TOKEN = "glpat-configtest0123456789abcd"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@contextmanager
def serve(handler_body) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A throwaway HTTP server on 127.0.0.1; records request headers; ``handler_body(h)``."""
    seen: list[dict[str, str]] = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
            handler_body(self)

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    finally:
        srv.shutdown()
        srv.server_close()


def ok_json(h: http.server.BaseHTTPRequestHandler) -> None:
    body = b'{"id": 1, "username": "root"}'
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


# --- normalization and validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://gitlab.example.com/", "https://gitlab.example.com"),
        ("https://gitlab.example.com/api/v4", "https://gitlab.example.com"),
        ("https://gitlab.example.com/api/v4/", "https://gitlab.example.com"),
        ("  HTTPS://GitLab.Example.COM:443//  ", "https://gitlab.example.com"),
        ("https://example.com/gitlab/api/v4", "https://example.com/gitlab"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected
    cfg = ConnectionConfig(url=raw)
    assert cfg.url == expected
    assert cfg.api_url == expected + "/api/v4"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://gitlab.example.com", "https://"),
        ("gitlab.example.com", "https://"),
        ("", "empty"),
        ("https://", "no host"),
        ("https://user:pw@gitlab.example.com", "user name or password"),
        ("https://gitlab.example.com/?x=1", "query"),
        ("http://gitlab.example.com", "plain http"),
        ("http://10.0.0.5", "plain http"),
    ],
)
def test_validate_rejects_with_one_sentence(url: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        ConnectionConfig(url=url).validate()
    text = str(info.value)
    assert needle in text
    assert "\n" not in text and "Traceback" not in text


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://localhost", "http://[::1]:80", "http://127.8.9.10"]
)
def test_plain_http_allowed_to_loopback(url: str) -> None:
    ConnectionConfig(url=url).validate()


def test_plain_http_to_remote_needs_opt_in() -> None:
    ConnectionConfig(url="http://gitlab.lab", allow_plain_http=True).validate()


def test_ca_bundle_must_exist_and_be_pem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError, match="does not exist"):
        ConnectionConfig(url="https://g.example", ca_bundle=str(missing)).validate()
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a certificate")
    with pytest.raises(ConfigError, match="PEM"):
        ConnectionConfig(url="https://g.example", ca_bundle=str(junk)).validate()
    good = tmp_path / "ca.pem"
    good.write_bytes(PEM)
    ConnectionConfig(url="https://g.example", ca_bundle=str(good)).validate()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read mode-000 files")
def test_ca_bundle_unreadable(tmp_path: Path) -> None:
    f = tmp_path / "ca.pem"
    f.write_bytes(PEM)
    f.chmod(0)
    with pytest.raises(ConfigError, match="not readable"):
        ConnectionConfig(url="https://g.example", ca_bundle=str(f)).validate()


@pytest.mark.parametrize("timeout", [0, -1, 601, float("nan"), float("inf")])
def test_timeout_bounds(timeout: float) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        ConnectionConfig(url="https://g.example", timeout=timeout).validate()


def test_proxy_scheme_checked() -> None:
    with pytest.raises(ConfigError, match="proxy"):
        ConnectionConfig(url="https://g.example", proxy="socks9://p:1").validate()
    ConnectionConfig(url="https://g.example", proxy="http://proxy.corp:3128").validate()


def test_builders_validate_first() -> None:
    bad = ConnectionConfig(url="http://gitlab.example.com")
    with pytest.raises(ConfigError):
        build_gitlab(bad, Secret(TOKEN))
    with pytest.raises(ConfigError):
        build_httpx(bad, Secret(TOKEN))


# --- python-gitlab builder -----------------------------------------------------------------------


def test_build_gitlab_settings(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(PEM)
    cfg = ConnectionConfig(
        url="https://gitlab.example.com/api/v4/",
        ca_bundle=str(ca),
        proxy="http://proxy.corp:3128",
        timeout=12.5,
    )
    gl = build_gitlab(cfg, Secret(TOKEN))
    assert gl.url == "https://gitlab.example.com"
    assert gl.timeout == 12.5
    assert gl.ssl_verify == str(ca)
    assert gl.keep_base_url is True
    assert gl.retry_transient_errors is False
    assert gl.per_page == 100
    assert gl.headers["User-Agent"] == USER_AGENT
    assert gl.private_token == TOKEN
    assert gl.session.trust_env is False
    assert gl.session.max_redirects == 0
    assert gl.session.proxies == {"http": cfg.proxy, "https": cfg.proxy}
    assert TOKEN not in repr(cfg)


def test_build_gitlab_without_ca_uses_verify_flag() -> None:
    gl = build_gitlab(ConnectionConfig(url="https://g.example", verify_tls=False), Secret(TOKEN))
    assert gl.ssl_verify is False
    gl = build_gitlab(ConnectionConfig(url="https://g.example"), Secret(TOKEN))
    assert gl.ssl_verify is True


def test_gitlab_client_sends_token_and_user_agent_and_ignores_proxy_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A proxy variable pointing at a dead port would break the request if it were honoured.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with serve(ok_json) as (url, seen):
        gl = build_gitlab(ConnectionConfig(url=url), Secret(TOKEN))
        assert gl.http_get("/user") == {"id": 1, "username": "root"}
    assert seen[0]["private-token"] == TOKEN
    assert seen[0]["user-agent"] == USER_AGENT
    assert seen[0]["path"] == "/api/v4/user"


def test_gitlab_client_does_not_follow_redirect_with_token() -> None:
    with serve(ok_json) as (elsewhere, leaked):

        def redirect(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(302)
            h.send_header("Location", elsewhere + "/api/v4/user")
            h.send_header("Content-Length", "0")
            h.end_headers()

        with serve(redirect) as (url, _):
            gl = build_gitlab(ConnectionConfig(url=url), Secret(TOKEN))
            with pytest.raises(requests.TooManyRedirects):
                gl.http_get("/user")
    assert leaked == []  # the token never went to the redirect target


# --- httpx builders ------------------------------------------------------------------------------


def test_build_httpx_settings() -> None:
    cfg = ConnectionConfig(url="https://gitlab.example.com", timeout=20)
    client = build_httpx(cfg, Secret(TOKEN), max_connections=4)
    try:
        assert str(client.base_url) == "https://gitlab.example.com/api/v4/"
        assert client.headers["PRIVATE-TOKEN"] == TOKEN
        assert client.headers["User-Agent"] == USER_AGENT
        assert client.follow_redirects is False
        assert client.trust_env is False
        assert client.timeout.read == 20
        assert client.timeout.connect == 15
    finally:
        asyncio.run(client.aclose())


def test_plain_http_clients_get_a_context_that_trusts_no_ca() -> None:
    """No CA store is loaded for an instance that never speaks TLS, and the context fails
    closed should TLS be attempted; https, or http through a proxy, keeps the system's CAs."""
    plain = ConnectionConfig(url="http://127.0.0.1:8080").ssl_context()
    assert isinstance(plain, ssl.SSLContext)
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0
    for cfg in (
        ConnectionConfig(url="https://gitlab.example.com"),
        ConnectionConfig(url="http://127.0.0.1:8080", proxy="http://proxy.example.com:3128"),
    ):
        tls = cfg.ssl_context()
        assert isinstance(tls, ssl.SSLContext) and tls is not plain
        assert tls.verify_mode == ssl.CERT_REQUIRED and tls.check_hostname
    unverified = ConnectionConfig(url="https://gitlab.example.com", verify_tls=False)
    assert unverified.ssl_context() is False


def test_httpx_clients_talk_to_server_and_skip_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with serve(ok_json) as (url, seen):
        cfg = ConnectionConfig(url=url)

        async def go() -> dict[str, object]:
            async with build_httpx(cfg, Secret(TOKEN)) as client:
                r = await client.get("user")
                r.raise_for_status()
                return dict(r.json())

        assert asyncio.run(go())["username"] == "root"
        with build_httpx_sync(cfg, Secret(TOKEN)) as sync_client:
            assert sync_client.get("user").json()["id"] == 1
    assert [s["path"] for s in seen] == ["/api/v4/user", "/api/v4/user"]
    assert all(s["private-token"] == TOKEN for s in seen)


def test_httpx_does_not_follow_redirects() -> None:
    def redirect(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(301)
        h.send_header("Location", "https://elsewhere.invalid/api/v4/user")
        h.send_header("Content-Length", "0")
        h.end_headers()

    with (
        serve(redirect) as (url, seen),
        build_httpx_sync(ConnectionConfig(url=url), Secret(TOKEN)) as client,
    ):
        r = client.get("user")
        assert r.status_code == 301
        with pytest.raises(httpx.HTTPStatusError):
            r.raise_for_status()
    assert len(seen) == 1
