"""A wait the read policy takes is counted down on the pane's border, then goes away."""

from __future__ import annotations

import threading
from typing import Any

from console.app import IncidentConsoleApp
from tests.pilot_helpers import demo, reach_main, run_app, until


def test_a_rate_limit_wait_counts_down_on_the_border_and_then_clears() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        users = main.pane("users")
        await until(pilot, lambda: not users.loading, 30)
        # the loaders call on_wait from their worker thread
        threading.Thread(target=users.announce_wait, args=(2.0, "rate_limited")).start()
        await until(
            pilot, lambda: "rate limited: asking GitLab again in" in str(users.border_subtitle)
        )
        assert "(x stops)" in str(users.border_subtitle)
        await until(pilot, lambda: str(users.border_subtitle) == "", 10)
        users.set_stale(True, "2026-11-02T08:30:00Z")
        threading.Thread(target=users.announce_wait, args=(0.6, "retry")).start()
        await until(pilot, lambda: "GitLab did not answer" in str(users.border_subtitle))
        await until(pilot, lambda: "STALE" in str(users.border_subtitle), 10)

    run_app(app, script)
