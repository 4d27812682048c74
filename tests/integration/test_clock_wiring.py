"""Every client built in console.config feeds its config's ServerClock; the capability check
records the skew and counts token expiry on the server's calendar."""

from __future__ import annotations

import asyncio
import email.utils
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab
import httpx
import pytest

from console.capabilities import check_capabilities
from console.clock import ServerClock
from console.config import (
    ConnectionConfig,
    build_gitlab,
    build_httpx,
    build_httpx_sync,
    clock_of,
)
from console.secret import Secret

TOKEN = "glpat-clockwiring0123456789ab"
LOCAL = 1_800_000_000.0  # this host's (frozen) clock in the unit tests


@contextmanager
def serve(
    date: float | None, routes: dict[str, Any] | None = None, seen: list[str] | None = None
) -> Iterator[str]:
    """A throwaway GitLab-ish server whose ``Date`` says ``date`` (no header when None)."""

    class H(http.server.BaseHTTPRequestHandler):
        def send_response(self, code: int, message: str | None = None) -> None:
            self.send_response_only(code, message)
            if date is not None:
                self.send_header("Date", email.utils.formatdate(date, usegmt=True))

        def do_GET(self) -> None:
            if seen is not None:
                seen.append(self.path)
            path = self.path.split("?")[0].removeprefix("/api/v4")
            body = (routes or {}).get(path, {"id": 1})
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def frozen_config(url: str) -> ConnectionConfig:
    return ConnectionConfig(url=url, clock=ServerClock(local=lambda: LOCAL))


# --- the three client kinds ----------------------------------------------------------------------


def test_python_gitlab_replies_feed_the_config_clock() -> None:
    with serve(LOCAL + 300) as url:
        cfg = frozen_config(url)
        gl = build_gitlab(cfg, Secret(TOKEN))
        assert gl.http_get("/user") == {"id": 1}
    assert clock_of(gl) is cfg.clock
    # requests measures the round trip on the real clock (response.elapsed): half of it remains
    assert cfg.clock.skew_seconds == pytest.approx(300, abs=0.5)
    assert abs(cfg.clock.now().timestamp() - (LOCAL + 300)) < 0.5


def test_httpx_sync_replies_feed_the_config_clock() -> None:
    with serve(LOCAL - 7200) as url:
        cfg = frozen_config(url)
        with build_httpx_sync(cfg, Secret(TOKEN)) as client:
            assert client.get("user").json() == {"id": 1}
            assert clock_of(client) is cfg.clock
    assert cfg.clock.skew_seconds == -7200


def test_httpx_async_replies_feed_the_config_clock() -> None:
    with serve(LOCAL + 300) as url:
        cfg = frozen_config(url)

        async def go() -> None:
            async with build_httpx(cfg, Secret(TOKEN)) as client:
                assert clock_of(client) is cfg.clock
                (await client.get("user")).raise_for_status()

        asyncio.run(go())
    assert cfg.clock.skew_seconds == 300


def test_a_mock_transport_reply_is_observed_with_the_request_times() -> None:
    """The request hook stamps the send time, so the skew is taken at the request's midpoint."""
    ticks = iter([LOCAL, LOCAL + 4])  # sent at LOCAL, received 4 s later
    cfg = ConnectionConfig(url="https://g.example", clock=ServerClock(local=lambda: next(ticks)))
    date = email.utils.formatdate(LOCAL + 2 + 300, usegmt=True)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={}, headers={"Date": date})

    with build_httpx_sync(cfg, Secret(TOKEN)) as client:
        hooks = client.event_hooks
        with httpx.Client(transport=httpx.MockTransport(handler), event_hooks=hooks) as mock:
            mock.get("https://g.example/api/v4/user")
    assert cfg.clock.skew_seconds == 300


def test_no_date_header_leaves_the_local_clock() -> None:
    with serve(None) as url:
        cfg = frozen_config(url)
        build_gitlab(cfg, Secret(TOKEN)).http_get("/user")
        with build_httpx_sync(cfg, Secret(TOKEN)) as client:
            client.get("user")
    assert cfg.clock.skew_seconds is None
    assert cfg.clock.now() == datetime.fromtimestamp(LOCAL, UTC)


def test_clock_of_a_client_not_built_here_is_none() -> None:
    assert clock_of(gitlab.Gitlab("https://g.example")) is None
    with httpx.Client() as plain:
        assert clock_of(plain) is None
    assert clock_of(object()) is None


def test_the_clock_takes_no_part_in_config_equality() -> None:
    a = ConnectionConfig(url="https://g.example")
    b = ConnectionConfig(url="https://g.example")
    assert a.clock is not b.clock
    assert a == b and hash(a) == hash(b)


# --- the capability check ------------------------------------------------------------------------


def _ahead_of_real_time(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    from console.drill import httpd

    def date_time_string(self: object, timestamp: float | None = None) -> str:
        return email.utils.formatdate(time.time() + seconds, usegmt=True)

    monkeypatch.setattr(httpd.RequestHandler, "date_time_string", date_time_string)


def test_drill_five_minutes_ahead_puts_the_skew_in_the_coverage(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.drill.server import DrillServer

    _ahead_of_real_time(monkeypatch, 300)
    cfg = ConnectionConfig(url=drill.url)
    cov = check_capabilities(build_gitlab(cfg, Secret(DrillServer.ADMIN_TOKEN)))
    assert cov.ok, cov.fatal
    assert cov.clock_skew_s is not None and abs(cov.clock_skew_s - 300) < 2  # Date has 1 s steps
    assert cov.clock_note is not None and "5 min ahead of this host's" in cov.clock_note
    assert ("warn", cov.clock_note) in [(line.level, line.text) for line in cov.lines()]
    assert abs((cov.checked_at - datetime.now(UTC)).total_seconds() - 300) < 3
    assert cfg.clock.skew_seconds == cov.clock_skew_s  # the session's clock learned it too


def test_drill_in_step_leaves_no_note(drill: Any) -> None:
    from console.drill.server import DrillServer

    cov = check_capabilities(
        build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))
    )
    assert cov.clock_skew_s is not None and abs(cov.clock_skew_s) < 2
    assert cov.clock_note is None
    assert not any("clock" in line.text for line in cov.lines())


def _token_routes(expires_at: str) -> dict[str, Any]:
    return {
        "/metadata": {"version": "17.8.1-ee", "enterprise": True},
        "/user": {"id": 7, "username": "ir", "is_admin": False},
        "/personal_access_tokens/self": {
            "id": 3,
            "name": "ir",
            "scopes": ["api"],
            "expires_at": expires_at,
        },
        "/audit_events": [],
    }


def test_token_expiry_is_counted_on_the_servers_calendar() -> None:
    """This host thinks the token has a day left; GitLab, two days ahead, has expired it."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    with serve(time.time() + 2 * 86400, _token_routes(tomorrow)) as url:
        cov = check_capabilities(build_gitlab(ConnectionConfig(url=url), Secret(TOKEN)))
    assert cov.ok, cov.fatal
    assert cov.expires_in_days() == -1
    texts = [line.text for line in cov.lines()]
    assert f"token expired on {tomorrow}" in texts
    assert any(t.startswith("GitLab's clock is ") and "h ahead of this host's" in t for t in texts)


def test_without_a_date_header_the_coverage_has_no_skew() -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    with serve(None, _token_routes(tomorrow)) as url:
        cov = check_capabilities(build_gitlab(ConnectionConfig(url=url), Secret(TOKEN)))
    assert cov.ok, cov.fatal
    assert cov.clock_skew_s is None and cov.clock_note is None
    assert cov.expires_in_days() == 1


def test_the_skew_reaches_the_cached_snapshot_and_the_report(tmp_path: Any) -> None:
    from console.capabilities import Coverage
    from console.clock import ServerClock
    from console.export.report import render_report
    from console.runbook import COVERAGE_CACHE_KEY, coverage_snapshot
    from console.store import Store

    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(
        {"Date": email.utils.formatdate(LOCAL + 300, usegmt=True)}, sent_at=LOCAL, received_at=LOCAL
    )
    cov = Coverage(
        url="https://g.example",
        clock_skew_s=clock.skew_seconds,
        clock_note=clock.skew_note(),
        checked_at=clock.now(),
    )
    snap = coverage_snapshot(cov)
    assert snap["clock_skew_s"] == 300
    assert snap["checked_at"] == "2027-01-15T08:05:00Z"  # LOCAL + 5 min, as GitLab stamps it
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store.cache_put(inc.id, COVERAGE_CACHE_KEY, snap)
    report = render_report(store, inc)
    assert "- **Clock:** GitLab's clock is 5 min ahead of this host's" in report


def test_the_app_context_clock_is_the_one_its_clients_feed(tmp_path: Any) -> None:
    from console.context import AppContext
    from console.session import Connection
    from console.store import Store

    store = Store.open(tmp_path / "s.db")
    with serve(LOCAL + 600) as url:
        inc = store.create_incident("t", "compromised-account", None, url, None, None)
        conn = Connection(frozen_config(url), Secret(TOKEN), "prompt", "p")
        ctx = AppContext(store=store, incident=inc, connection=conn, coverage=None)
        assert ctx.clock.skew_seconds is None
        ctx.gitlab().http_get("/user")
    assert ctx.clock is conn.config.clock
    assert ctx.clock.skew_seconds == pytest.approx(600, abs=0.5)
    assert abs(ctx.clock.now().timestamp() - (LOCAL + 600)) < 0.5


def test_an_http_date_retry_after_is_measured_on_the_servers_clock() -> None:
    """GitLab an hour ahead asks for 30 s: measured from its own Date, not this host's clock."""
    from console.api.retry import DEFAULT_POLICY, parse_retry_after

    server = time.time() + 3600
    headers = {
        "Date": email.utils.formatdate(server, usegmt=True),
        "Retry-After": email.utils.formatdate(server + 30, usegmt=True),
    }
    assert parse_retry_after(headers) == 30
    wait = DEFAULT_POLICY.rate_limit_wait(1, headers)  # an hour off would be WaitTooLong
    assert wait is not None and 30 <= wait <= 30.25
    reset = {
        "Date": email.utils.formatdate(server, usegmt=True),
        "RateLimit-Reset": str(int(server) + 12),
    }
    assert parse_retry_after(reset) == 12
    # without a Date the host's clock is all there is
    alone = {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}
    assert parse_retry_after(alone) == pytest.approx(30, abs=1.5)


def test_an_open_audit_fetch_ends_at_the_servers_now() -> None:
    """Without a window, fetch_audit_events reads up to GitLab's now, not this host's."""
    from urllib.parse import parse_qs, urlsplit

    from console.audit import fetch_audit_events

    seen: list[str] = []
    with serve(LOCAL - 10 * 86400, {"/audit_events": []}, seen) as url:
        gl = build_gitlab(frozen_config(url), Secret(TOKEN))
        gl.http_get("/user")  # the capability check's replies teach the clock first
        result = fetch_audit_events(gl)
    assert result.problem is None
    [query] = [parse_qs(urlsplit(p).query) for p in seen if "/audit_events" in p]
    server_now = datetime.fromtimestamp(LOCAL - 10 * 86400, UTC)
    assert query["created_before"] == [server_now.strftime("%Y-%m-%dT%H:%M:%SZ")]
