"""The capability check against the drill (admin, non-admin, tiers) and a scripted fake GitLab.

Every test runs with both clients the check accepts: python-gitlab's and a synchronous httpx one
(what the start-up's :func:`console.session.check_connection` uses).
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from console.capabilities import (
    SOURCE_DRILL,
    SOURCE_ENV,
    SOURCE_KEYRING,
    SOURCE_PROMPT,
    Coverage,
    check_capabilities,
)
from console.config import ConnectionConfig, build_gitlab, build_httpx_sync
from console.secret import Secret

TOKEN = "glpat-capabilitiestest01234567"


def texts(cov: Coverage) -> dict[str, str]:
    return {line.text: line.level for line in cov.lines()}


CLIENTS = {"python-gitlab": build_gitlab, "httpx": build_httpx_sync}
client_kind = "python-gitlab"  # set for each test by the fixture below


@pytest.fixture(autouse=True, params=sorted(CLIENTS))
def _each_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "client_kind", request.param)


def check(url: str, token: str, **kw: Any) -> Coverage:
    cfg = ConnectionConfig(url=url)
    client = CLIENTS[client_kind](cfg, Secret(token))
    if client_kind == "httpx":
        kw.setdefault("tls_verified", cfg.ssl_verify is not False)
    try:
        return check_capabilities(client, **kw)
    finally:
        if isinstance(client, httpx.Client):
            client.close()
        else:
            client.session.close()


# --- drill ---------------------------------------------------------------------------------------


def test_drill_admin_token(drill: Any) -> None:
    from console.drill.server import DrillServer

    cov = check(drill.url, DrillServer.ADMIN_TOKEN, token_source=SOURCE_DRILL)
    assert cov.ok, cov.fatal
    assert cov.is_admin and cov.username and cov.user_id
    assert cov.admin_api is True and not cov.admin_mode_blocked
    assert cov.scopes is not None and "api" in cov.scopes
    assert cov.can_act
    lines = texts(cov)
    assert any(t.startswith("signed in as @") and t.endswith("administrator") for t in lines)
    assert lines["drill token (local simulated GitLab)"] == "ok"
    assert not any("plain http" in t for t in lines)  # loopback
    assert not any(level == "blind" for level in lines.values())


def test_drill_admin_token_sees_version_and_audit_events(drill: Any) -> None:
    from console.drill.server import DrillServer

    cov = check(drill.url, DrillServer.ADMIN_TOKEN)
    assert cov.version, "the drill should answer /metadata"
    assert cov.audit_events is True
    assert cov.tier == "premium_or_ultimate"
    assert "audit events API available (Premium/Ultimate)" in texts(cov)


def test_drill_user_token_is_blind(drill: Any) -> None:
    from console.drill.server import DrillServer

    cov = check(drill.url, DrillServer.USER_TOKEN, token_source=SOURCE_ENV)
    assert cov.ok
    assert cov.is_admin is False
    assert not cov.can_act
    lines = texts(cov)
    assert lines["not an administrator: user list is partial, sign-in IPs hidden"] == "blind"
    assert lines["token from GITLAB_TOKEN (environment), not stored by the console"] == "ok"


def test_drill_free_tier() -> None:
    from console.drill.server import DrillOptions, DrillServer

    server = DrillServer(DrillOptions(users=50, tier="free"))
    url = server.start()
    try:
        cov = check(url, DrillServer.ADMIN_TOKEN)
    finally:
        server.stop()
    assert cov.ok and cov.is_admin
    assert cov.audit_events is False and cov.tier == "free"
    assert (
        texts(cov)[
            "Free tier: no audit events API, using contribution events and sign-in fields instead"
        ]
        == "warn"
    )


def test_drill_bad_token_is_fatal(drill: Any) -> None:
    cov = check(drill.url, "glpat-notavalidtoken0000000000")
    assert not cov.ok
    assert cov.fatal is not None and cov.fatal.kind == "auth"
    assert cov.lines()[0].level == "blind"
    assert "glpat-notavalidtoken0000000000" not in " ".join(t for t in texts(cov))


def test_unreachable_is_fatal() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cov = check(f"http://127.0.0.1:{port}", TOKEN)
    assert cov.fatal is not None and cov.fatal.kind == "refused"


# --- scripted fake: Admin Mode, expiring token, EE Free, rate-limit headers ----------------------


@contextmanager
def fake_gitlab(routes: dict[str, tuple[int, Any]]) -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0].removeprefix("/api/v4")
            seen.append(path)
            status, body = routes.get(path, (404, {"message": "404 Not Found"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("RateLimit-Limit", "600")
            self.send_header("RateLimit-Remaining", "599")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    finally:
        srv.shutdown()
        srv.server_close()


def test_admin_mode_without_scope_and_expiring_token() -> None:
    soon = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    routes = {
        "/metadata": (200, {"version": "17.8.1-ee", "revision": "abc", "enterprise": True}),
        "/user": (200, {"id": 7, "username": "ir\x1b[31mroot", "is_admin": True}),
        "/personal_access_tokens/self": (
            200,
            {"id": 3, "name": "ir", "scopes": ["api"], "expires_at": soon},
        ),
        "/users/7/memberships": (403, {"message": "403 Forbidden"}),
        "/audit_events": (403, {"message": "403 Forbidden"}),
    }
    with fake_gitlab(routes) as (url, seen):
        cov = check(url, TOKEN, token_source=SOURCE_KEYRING, keyring_label="Secret Service")
    assert cov.ok
    assert cov.version == "17.8.1-ee" and cov.enterprise is True
    assert cov.is_admin and cov.admin_mode_blocked and cov.admin_api is False
    assert not cov.can_act
    lines = texts(cov)
    assert lines["GitLab 17.8.1-ee (Enterprise Edition)"] == "ok"
    assert (
        lines["token lacks admin_mode scope: Admin Mode is on and admin endpoints answer 403"]
        == "blind"
    )
    assert lines[f"token expires in 3 days ({soon})"] == "warn"
    assert lines["token in Secret Service"] == "ok"
    assert lines["rate limit observed: 600/min, 599 remaining"] == "ok"
    assert any("audit events API refused (403)" in t for t in lines)
    assert all("\x1b" not in t for t in lines)  # the hostile username was neutralised
    assert "/users/7/memberships" in seen


def test_community_edition_is_free_and_read_api_cannot_act() -> None:
    routes = {
        "/metadata": (200, {"version": "16.11.0", "revision": "x", "enterprise": False}),
        "/user": (200, {"id": 1, "username": "root", "is_admin": True}),
        "/personal_access_tokens/self": (200, {"scopes": ["read_api"], "expires_at": None}),
        "/users/1/memberships": (200, []),
    }
    with fake_gitlab(routes) as (url, _):
        cov = check(url, TOKEN)
    assert cov.tier == "free" and cov.admin_api is True
    assert not cov.can_act  # no api scope
    lines = texts(cov)
    assert lines["token scopes: read_api — no api scope: response actions disabled"] == "warn"
    assert lines["token has no expiry date"] == "ok"
    assert lines["token not stored: keyring unavailable (memory only for this session)"] == "warn"


def test_old_gitlab_without_metadata_falls_back_to_version() -> None:
    routes = {
        "/version": (200, {"version": "14.10.0", "revision": "y"}),
        "/user": (200, {"id": 1, "username": "root"}),
    }
    with fake_gitlab(routes) as (url, seen):
        cov = check(url, TOKEN)
    assert cov.version == "14.10.0"
    assert cov.scopes is None and not cov.is_admin
    # asked beside /user and the token, but /version only once /metadata answered 404
    assert "/version" in seen and seen.index("/metadata") < seen.index("/version")


def test_user_endpoint_forbidden_is_fatal() -> None:
    routes = {"/user": (403, {"error": "insufficient_scope", "scope": "read_user"})}
    with fake_gitlab(routes) as (url, _):
        cov = check(url, TOKEN)
    assert cov.fatal is not None and cov.fatal.status == 403


@pytest.mark.parametrize(
    ("days", "level", "text"),
    [
        (-1, "blind", "token expired on"),
        (0, "warn", "token expires today"),
        (1, "warn", "token expires in 1 day"),
        (30, "ok", "token expires"),
    ],
)
def test_expiry_lines(days: int, level: str, text: str) -> None:
    today = date(2025, 6, 1)
    cov = Coverage(
        url="https://g.example", scopes=("api",), expires_at=today + timedelta(days=days)
    )
    match = [ln for ln in cov.lines(today) if ln.text.startswith(text)]
    assert match and match[0].level == level


def test_token_source_lines() -> None:
    c = Coverage(url="https://g.example", token_source=SOURCE_PROMPT, keyring_label="KWallet")
    assert "token entered for this session only (not saved)" in texts(c)
    c = Coverage(url="http://gitlab.lab", token_source=SOURCE_ENV, tls_verified=False)
    lines = texts(c)
    assert lines["plain http:// connection: the token is not encrypted"] == "warn"
    assert lines["TLS verification is OFF for this profile"] == "warn"
