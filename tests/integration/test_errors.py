"""describe_error against real failures: closed ports, DNS, self-signed TLS, redirects, HTTP."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gitlab
import gitlab.exceptions
import httpx
import keyring.errors
import pytest
import requests

from console.config import ConfigError, ConnectionConfig, build_gitlab, build_httpx_sync
from console.errors import Problem, TokenStorageUnavailable, describe_error
from console.secret import Secret

TOKEN = "glpat-errorstest0123456789abcd"
Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


def assert_clean(p: Problem, *secrets: str) -> None:
    for text in (p.title, p.detail, p.next_step):
        assert "Traceback" not in text
        assert "\x1b" not in text and "\x9b" not in text and "\n" not in text
        for s in (TOKEN, *secrets):
            assert s not in text
    assert p.title and p.detail


@contextmanager
def serve(body: Handler, *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body(self)

        do_POST = do_GET

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    if tls is not None:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    def h(req: http.server.BaseHTTPRequestHandler) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    return h


def gitlab_error(url: str, path: str = "/user", token: str = TOKEN) -> BaseException:
    gl = build_gitlab(ConnectionConfig(url=url, timeout=5), Secret(token))
    try:
        gl.http_get(path, obey_rate_limit=False)
    except Exception as exc:
        return exc
    raise AssertionError("expected an error")


def httpx_error(url: str, path: str = "user", timeout: float = 5) -> BaseException:
    with build_httpx_sync(ConnectionConfig(url=url, timeout=timeout), Secret(TOKEN)) as c:
        try:
            c.get(path).raise_for_status()
        except Exception as exc:
            return exc
    raise AssertionError("expected an error")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- network failures ----------------------------------------------------------------------------


def test_connection_refused_both_clients() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for exc in (gitlab_error(url), httpx_error(url)):
        p = describe_error(exc, url=url)
        assert p.kind == "refused", p
        assert f"127.0.0.1 on port {port}" in p.detail
        assert_clean(p)


def test_dns_failure_both_clients() -> None:
    url = "https://no-such-host-for-incident-console.invalid"
    for exc in (gitlab_error(url), httpx_error(url)):
        p = describe_error(exc, url=url)
        assert p.kind == "dns", p
        assert "no-such-host-for-incident-console.invalid" in p.detail
        assert_clean(p)


def test_timeout_both_clients() -> None:
    gate = threading.Event()

    def hang(req: http.server.BaseHTTPRequestHandler) -> None:
        gate.wait(5)

    with serve(hang) as url:
        gl = build_gitlab(ConnectionConfig(url=url, timeout=0.3), Secret(TOKEN))
        with pytest.raises(requests.Timeout) as info:
            gl.http_get("/user")
        p1 = describe_error(info.value, url=url)
        p2 = describe_error(httpx_error(url, timeout=0.3), url=url)
        gate.set()
    assert p1.kind == p2.kind == "timeout"
    assert_clean(p1)


def test_server_closing_connection_is_server_down() -> None:
    def slam(req: http.server.BaseHTTPRequestHandler) -> None:
        req.close_connection = True
        req.connection.shutdown(socket.SHUT_RDWR)

    with serve(slam) as url:
        p1 = describe_error(gitlab_error(url), url=url)
        p2 = describe_error(httpx_error(url), url=url)
    assert p1.kind == "server_down", p1
    assert p2.kind == "server_down", p2


# --- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def test_self_signed_certificate_names_ca_bundle(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    with serve(reply(200, {"id": 1}), tls=tls_context(cert, key)) as url:
        for exc in (gitlab_error(url), httpx_error(url)):
            p = describe_error(exc, url=url)
            assert p.kind == "tls", p
            assert "--ca-bundle" in p.next_step and "ca_bundle" in p.next_step
            assert "self-signed" in p.detail or "trusted" in p.detail
            assert_clean(p)


def test_ca_bundle_makes_self_signed_work(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    with serve(reply(200, {"id": 1}), tls=tls_context(cert, key)) as url:
        cfg = ConnectionConfig(url=url, ca_bundle=str(cert))
        assert build_gitlab(cfg, Secret(TOKEN)).http_get("/user") == {"id": 1}
        with build_httpx_sync(cfg, Secret(TOKEN)) as c:
            assert c.get("user").json() == {"id": 1}


def test_https_to_plain_http_port_is_tls_handshake(self_signed: tuple[Path, Path]) -> None:
    with serve(reply(200, {"id": 1})) as url:
        https = url.replace("http://", "https://")
        p = describe_error(httpx_error(https), url=https)
    assert p.kind == "tls"


# --- redirects -----------------------------------------------------------------------------------


def test_http_to_https_redirect() -> None:
    def redirect(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(301)
        req.send_header("Location", "https://gitlab.example.com/api/v4/user")
        req.send_header("Content-Length", "0")
        req.end_headers()

    with serve(redirect) as url:
        for exc in (gitlab_error(url), httpx_error(url)):
            p = describe_error(exc, url=url)
            assert p.kind == "redirect", p
            assert p.status == 301
            assert "https://gitlab.example.com" in p.detail
            assert "https://" in p.next_step


def test_python_gitlab_redirect_error() -> None:
    exc = gitlab.exceptions.RedirectError(
        "python-gitlab detected a 301 ('Moved Permanently') redirection. You must update your "
        "GitLab URL to the correct URL to avoid issues. The redirection was from: "
        "http://g.example/api/v4/users/1/block to https://g.example/api/v4/users/1/block"
    )
    p = describe_error(exc, url="http://g.example")
    assert p.kind == "redirect"
    assert "https://g.example" in p.detail


# --- HTTP statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "needle"),
    [
        (401, {"message": "401 Unauthorized"}, {}, "auth", "expired"),
        (403, {"message": "403 Forbidden"}, {}, "forbidden", "administrator"),
        (
            403,
            {"error": "insufficient_scope", "error_description": "x", "scope": "admin_mode"},
            {},
            "scope",
            "admin_mode",
        ),
        (404, {"message": "404 User Not Found"}, {}, "not_found", "404"),
        (409, {"message": "409 Conflict"}, {}, "conflict", "409"),
        (429, b"Retry later\n", {"Retry-After": "7"}, "rate_limit", "7 s"),
        (500, {"message": "500 Internal Server Error"}, {}, "server", "500"),
        (502, b"<html>bad gateway</html>", {}, "server", "unavailable"),
    ],
)
def test_http_statuses_both_clients(
    status: int, body: Any, headers: dict[str, str], kind: str, needle: str
) -> None:
    with serve(reply(status, body, headers)) as url:
        excs = [gitlab_error(url), httpx_error(url)]
    for exc in excs:
        p = describe_error(exc, url=url)
        assert p.kind == kind, (type(exc), p)
        assert p.status == status
        want = needle
        if status == 429 and isinstance(exc, gitlab.exceptions.GitlabError):
            want = "retry later"  # python-gitlab drops the response headers
        assert want in p.detail or want in p.next_step, p
        assert_clean(p)
    # httpx keeps the headers, so the 429 wait is known precisely there.
    if status == 429:
        assert describe_error(excs[1], url=url).retry_after == pytest.approx(7)


def test_retry_after_http_date_and_ratelimit_reset() -> None:
    future = time.time() + 30
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(future))
    with serve(reply(429, {"message": "slow"}, {"Retry-After": date})) as url:
        p = describe_error(httpx_error(url), url=url)
    assert p.retry_after is not None and 25 <= p.retry_after <= 31
    with serve(reply(429, {"message": "slow"}, {"RateLimit-Reset": str(int(future))})) as url:
        p = describe_error(httpx_error(url), url=url)
    assert p.retry_after is not None and 25 <= p.retry_after <= 31


def test_hostile_error_body_is_sanitized_truncated_and_redacted() -> None:
    other = "glpat-other0123456789abcdef"
    evil = "\x1b]52;c;aGk=\x07\x1b[2J\u202e " + TOKEN + " " + other + " " + "A" * 5000
    with serve(reply(400, {"message": evil})) as url:
        exc = gitlab_error(url)
    p = describe_error(exc, url=url, secret=Secret(TOKEN))
    assert_clean(p, other)
    assert "***" in p.detail
    assert "\u202e" not in p.detail
    assert "␛" in p.detail  # shown, not executed
    assert len(p.detail) < 400


def test_dict_error_message_from_python_gitlab() -> None:
    exc = gitlab.exceptions.GitlabCreateError(
        error_message={"username": ["has already been taken"]},
        response_code=400,
        response_body=b'{"message":{"username":["has already been taken"]}}',
    )
    p = describe_error(exc)
    assert p.kind == "rejected"
    assert "has already been taken" in p.detail


def test_operation_error_uses_response_code() -> None:
    exc = gitlab.exceptions.GitlabBlockError("403 Forbidden", 403)
    assert describe_error(exc).kind == "forbidden"
    exc2 = gitlab.exceptions.GitlabGetError("404 Not found", 404)
    assert describe_error(exc2).kind == "not_found"


def test_secret_passed_is_redacted_even_without_token_shape() -> None:
    odd = "customprefix-abc123"
    exc = RuntimeError(f"oops {odd}")
    p = describe_error(exc, secret=Secret(odd))
    assert odd not in p.detail
    assert p.kind == "internal"


# --- drill ---------------------------------------------------------------------------------------


def test_drill_bad_token_and_user_token(drill: Any) -> None:
    p = describe_error(gitlab_error(drill.url, "/user", token="glpat-wrongwrongwrong00000"))
    assert p.kind == "auth" and p.status == 401
    from console.drill.server import DrillServer

    gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.USER_TOKEN))
    with pytest.raises(gitlab.exceptions.GitlabError) as info:
        gl.http_get("/users/1/memberships")  # admin-only
    p2 = describe_error(info.value, url=drill.url)
    assert p2.status == 403 and p2.kind == "forbidden"
    assert "administrator" in p2.detail


# --- non-HTTP errors -----------------------------------------------------------------------------


def test_config_and_keyring_and_file_errors() -> None:
    p = describe_error(ConfigError("The GitLab URL must start with https:// (got ftp://x)."))
    assert p.kind == "config" and "https://" in p.detail
    p = describe_error(keyring.errors.KeyringLocked("Failed to unlock the collection!"))
    assert p.kind == "keyring" and "locked" in p.detail and "memory" in p.detail
    p = describe_error(keyring.errors.NoKeyringError("No recommended backend was available."))
    assert p.kind == "keyring"
    p = describe_error(TokenStorageUnavailable("no keyring"))
    assert p.kind == "keyring"
    p = describe_error(FileNotFoundError(2, "No such file", "/etc/ca.pem"))
    assert p.kind == "file" and "/etc/ca.pem" in p.detail


def test_unknown_exception_never_raises() -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("boom")

    p = describe_error(Weird())
    assert p.kind == "internal"
    assert "Weird" in p.detail


def test_one_line() -> None:
    p = Problem("Token rejected", "GitLab answered 401.", "Sign in again.", "auth", 401)
    assert p.one_line() == "Token rejected: GitLab answered 401. Sign in again."


def test_httpx_connect_error_direct() -> None:
    exc = httpx.ConnectError("[Errno 111] Connection refused")
    assert describe_error(exc, url="https://g.example").kind == "refused"


def test_local_store_failures_are_explained_not_internal(tmp_path: Path) -> None:
    import errno
    import sqlite3

    from console.store import Store, StoreCorruptError, StoreError

    p = describe_error(sqlite3.OperationalError("database or disk is full"))
    assert p.kind == "disk_full" and "full" in p.detail
    p = describe_error(OSError(errno.ENOSPC, "No space left on device"))
    assert p.kind == "disk_full"
    p = describe_error(sqlite3.OperationalError("database is locked"))
    assert p.kind == "store_busy" and "another process" in p.detail.lower()
    bad = tmp_path / "console.db"
    bad.write_bytes(b"not sqlite at all\n" * 100)
    with pytest.raises(StoreCorruptError) as caught:
        Store.open(bad)
    p = describe_error(caught.value)
    assert p.kind == "store_corrupt" and "console.db" in p.next_step
    p = describe_error(StoreError("x.db has schema version 9; this console understands up to 1."))
    assert p.kind == "store" and "schema version 9" in p.detail
    p = describe_error(StoreError("evil\x1b[31m"))
    assert "\x1b" not in p.detail  # store messages may quote paths: display-safe
    assert describe_error(ConnectionRefusedError(111, "refused")).kind == "refused"
