"""The incident window's end is open by default ("until now"): reloads keep fetching what happens
during the response, and what was cached last session still shows at once on resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.audit import events_cache_key, incident_window
from console.risk import compute_and_store_risk
from console.store import Store
from screens.incidents import default_incident_fields


def test_new_incidents_end_open_and_the_window_runs_to_now() -> None:
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    fields = default_incident_fields(now)
    assert fields["window_end"] == ""
    start, end = incident_window(fields["window_start"], fields["window_end"], now=now)
    assert (start, end) == (now - timedelta(days=30), now)
    later = now + timedelta(hours=5)
    assert incident_window(fields["window_start"], None, now=later)[1] == later


def test_an_open_window_keeps_one_cache_key_across_sessions() -> None:
    start = "2025-04-01T12:00:00Z"
    key = events_cache_key(start, None)
    assert key == events_cache_key(start, "") == events_cache_key(start, None)
    assert key.endswith(":open")
    closed = events_cache_key(start, "2025-05-01T12:00:00Z")
    assert closed != key and not closed.endswith(":open")


def test_risk_reads_the_audit_panes_cache_for_an_open_window(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    start = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    incident = store.create_incident(
        "t", "compromised-instance", None, "https://g.example", start, None
    )
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.upsert_users(
        incident.id,
        [
            {
                "id": 7,
                "username": "mchen",
                "name": "M",
                "state": "active",
                "created_at": "2020-01-01T00:00:00Z",
            }
        ],
        "2025-01-01T00:00:00Z",
    )
    store.cache_put(
        incident.id,
        events_cache_key(start, None),
        {
            "events": [
                {
                    "id": 1,
                    "author_id": 7,
                    "created_at": yesterday,
                    "event_name": "personal_access_token_created",
                    "details": {},
                },
            ]
        },
    )
    risks = compute_and_store_risk(store, incident.id, incident.window)
    assert any("security-relevant" in r for r in risks[7][1]), risks[7]


def test_the_edit_form_accepts_an_open_end_and_rejects_an_end_before_the_start() -> None:
    import asyncio
    from types import SimpleNamespace
    from typing import Any

    from textual.app import App
    from textual.widgets import Input

    from screens.incidents import IncidentEditScreen

    incident = SimpleNamespace(
        title="t", kind="compromised-instance", window_start="2025-04-01T00:00:00Z", window_end=None
    )
    results: list[Any] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(IncidentEditScreen(incident), results.append)

    async def run() -> None:
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            form = app.screen
            form.query_one("#inc-end", Input).value = "2025-03-01T00:00:00Z"
            await pilot.press("ctrl+s")
            assert not results and app.screen is form  # end before start: refused
            form.query_one("#inc-end", Input).value = ""
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert results and results[0]["window_end"] == ""

    asyncio.run(run())
