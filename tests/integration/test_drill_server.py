"""Drill server mechanics: auth shapes, throttling, injected errors, latency, keep-alive, CLI."""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from console.drill import cli
from console.drill.server import DrillOptions, DrillServer


def test_auth_mechanisms_and_401_shape(drill: Any) -> None:
    base = f"{drill.url}/api/v4/user"
    assert (
        requests.get(base, headers={"PRIVATE-TOKEN": drill.ADMIN_TOKEN}, timeout=10).status_code
        == 200
    )
    assert (
        requests.get(
            base, headers={"Authorization": f"Bearer {drill.ADMIN_TOKEN}"}, timeout=10
        ).status_code
        == 200
    )
    assert (
        requests.get(base, params={"private_token": drill.ADMIN_TOKEN}, timeout=10).status_code
        == 200
    )
    r = requests.get(base, timeout=10)
    assert r.status_code == 401 and r.json() == {"message": "401 Unauthorized"}
    assert len(r.headers["X-Request-Id"]) == 26  # every response, errors included
    assert r.headers["Content-Type"].startswith("application/json")


def test_admin_endpoints_forbid_non_admin(drill: Any) -> None:
    for path in (
        "/runners/all",
        "/hooks",
        "/application/settings",
        "/deploy_tokens",
        "/admin/ci/variables",
        "/users/7/emails",
    ):
        r = requests.get(
            f"{drill.url}/api/v4{path}", headers={"PRIVATE-TOKEN": drill.USER_TOKEN}, timeout=10
        )
        assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"}), path


def test_unknown_route_and_wrong_verb(drill: Any) -> None:
    h = {"PRIVATE-TOKEN": drill.ADMIN_TOKEN}
    assert requests.get(f"{drill.url}/api/v4/nope", headers=h, timeout=10).status_code == 404
    assert requests.put(f"{drill.url}/api/v4/users", headers=h, timeout=10).status_code == 405


def test_rate_limit_429_with_headers() -> None:
    with DrillServer(DrillOptions(users=50, rate_limit_per_minute=3)) as s:
        session = requests.Session()
        session.headers["PRIVATE-TOKEN"] = s.ADMIN_TOKEN
        codes = [session.get(f"{s.url}/api/v4/user", timeout=10) for _ in range(4)]
        assert [r.status_code for r in codes[:3]] == [200, 200, 200]
        if codes[3].status_code != 429:  # crossed a minute boundary; try once more
            codes = [session.get(f"{s.url}/api/v4/user", timeout=10) for _ in range(4)]
        limited = codes[3]
        assert limited.status_code == 429
        assert limited.text == "Retry later\n"
        assert limited.headers["Content-Type"].startswith("text/plain")
        h = limited.headers
        assert h["RateLimit-Name"] == "throttle_authenticated_api"
        assert h["RateLimit-Limit"] == "3" and h["RateLimit-Remaining"] == "0"
        assert int(h["RateLimit-Observed"]) >= 4
        assert 1 <= int(h["Retry-After"]) <= 60
        assert int(h["RateLimit-Reset"]) > time.time() - 1
        assert h["RateLimit-ResetTime"].endswith("GMT")
        # Another token (or IP) has its own budget.
        other = requests.get(
            f"{s.url}/api/v4/user", timeout=10, headers={"PRIVATE-TOKEN": s.USER_TOKEN}
        )
        assert other.status_code == 200


def test_error_rate_is_deterministic_500s() -> None:
    def pattern() -> list[int]:
        with DrillServer(DrillOptions(users=50, error_rate=0.5, seed=7)) as s:
            session = requests.Session()
            session.headers["PRIVATE-TOKEN"] = s.ADMIN_TOKEN
            out = []
            for _ in range(20):
                r = session.get(f"{s.url}/api/v4/version", timeout=10)
                if r.status_code == 500:
                    assert r.json() == {"message": "500 Internal Server Error"}
                out.append(r.status_code)
            return out

    first = pattern()
    assert first == pattern()
    assert 500 in first and 200 in first


def test_latency_knob() -> None:
    with DrillServer(DrillOptions(users=50, latency_ms=120)) as s:
        started = time.monotonic()
        requests.get(
            f"{s.url}/api/v4/version", headers={"PRIVATE-TOKEN": s.ADMIN_TOKEN}, timeout=10
        )
        assert time.monotonic() - started >= 0.12


def test_keep_alive_and_content_length(drill: Any) -> None:
    parts = urlsplit(drill.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        for _ in range(3):
            conn.request(
                "GET", "/api/v4/users?per_page=5", headers={"PRIVATE-TOKEN": drill.ADMIN_TOKEN}
            )
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200 and int(resp.headers["Content-Length"]) == len(body)
        sock = conn.sock
        conn.request("GET", "/api/v4/version", headers={"PRIVATE-TOKEN": drill.ADMIN_TOKEN})
        conn.getresponse().read()
        assert conn.sock is sock  # same connection reused
    finally:
        conn.close()


def test_concurrent_requests_are_served_in_parallel() -> None:
    with DrillServer(DrillOptions(users=200, latency_ms=200)) as s:

        def fetch(_: int) -> int:
            return requests.get(
                f"{s.url}/api/v4/users", timeout=10, headers={"PRIVATE-TOKEN": s.ADMIN_TOKEN}
            ).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(fetch, range(8)))
        assert codes == [200] * 8
        assert time.monotonic() - started < 8 * 0.2  # latency overlapped


def test_statistics_are_strings_with_commas(drill: Any) -> None:
    stats = requests.get(
        f"{drill.url}/api/v4/application/statistics",
        timeout=10,
        headers={"PRIVATE-TOKEN": drill.ADMIN_TOKEN},
    ).json()
    assert stats["users"] == "2,000" and all(isinstance(v, str) for v in stats.values())


def test_state_is_deterministic_for_a_seed() -> None:
    a = DrillServer(DrillOptions(users=300, seed=5))
    b = DrillServer(DrillOptions(users=300, seed=5))
    c = DrillServer(DrillOptions(users=300, seed=6))
    names = lambda s: [(u.username, u.state, u.two_factor) for u in s.state.user_order]  # noqa: E731
    assert names(a) == names(b) and names(a) != names(c)
    assert [e.event_name for e in a.state.audit] == [e.event_name for e in b.state.audit]


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        DrillServer(DrillOptions(tier="gold"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DrillServer(DrillOptions(error_rate=2.0))


def test_cli_prints_url_and_hides_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(cli.main(["--users", "60", "--tier", "premium"], stop=stop))
    )
    thread.start()
    deadline = time.monotonic() + 10
    out = ""
    while time.monotonic() < deadline and "http://" not in out:
        time.sleep(0.05)
        out += capsys.readouterr().out
    stop.set()
    thread.join(timeout=10)
    out += capsys.readouterr().out
    assert result == [0]
    assert "http://127.0.0.1:" in out
    assert DrillServer.ADMIN_TOKEN not in out and DrillServer.USER_TOKEN not in out
    assert DrillServer.ADMIN_TOKEN_NAME in out


def test_cli_show_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    stop.set()  # serve zero iterations
    assert cli.main(["--users", "60", "--show-tokens"], stop=stop) == 0
    out = capsys.readouterr().out
    assert DrillServer.ADMIN_TOKEN in out and DrillServer.USER_TOKEN in out


def test_cli_rejects_bad_arguments() -> None:
    with pytest.raises(SystemExit):
        cli.main(["--error-rate", "3"])
    with pytest.raises(SystemExit):
        cli.main(["--users", "0"])
