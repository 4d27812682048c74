"""Scale: a 100,000-user drill is listed completely through python-gitlab keyset paging."""

from __future__ import annotations

import time

import gitlab

from console.drill.server import DrillOptions, DrillServer


def test_100k_users_listed_via_keyset_with_python_gitlab() -> None:
    started = time.monotonic()
    with DrillServer(DrillOptions(users=100_000)) as server:
        built = time.monotonic() - started
        gl = gitlab.Gitlab(server.url, private_token=server.ADMIN_TOKEN, timeout=10)
        started = time.monotonic()
        # python-gitlab's own keyset pager (Link rel="next"), yielding raw dicts: building a
        # RESTObject per user costs the client ~0.15 ms each, far more than the server.
        rows = gl.http_list(
            "/users", iterator=True, pagination="keyset", order_by="id", sort="asc", per_page=100
        )
        ids = [row["id"] for row in rows]
        listed = time.monotonic() - started
    assert len(ids) == 100_000
    assert ids == list(range(1, 100_001))
    assert rows.total is None  # keyset: no totals
    # Timings are reported, never asserted (a loaded CI machine is not a regression); the
    # bench/ scripts measure speed against a baseline taken in the same run.
    print(f"\n100k drill: built in {built:.2f}s, keyset listing in {listed:.2f}s")
