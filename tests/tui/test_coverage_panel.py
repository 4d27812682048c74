"""The coverage panel: the server clock's skew and the incident's blind spots are shown."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

from textual.app import App

from console.capabilities import Coverage
from console.clock import ServerClock
from console.runbook import BlindSpot
from screens.coverage import CoverageScreen
from styles import stylesheet


def _texts(screen: CoverageScreen, selector: str) -> list[str]:
    return [str(w.render()) for w in screen.query(selector)]


def test_a_skewed_server_clock_is_a_warning_line_and_blind_spots_name_their_step() -> None:
    local = 1_700_000_000.0
    clock = ServerClock(local=lambda: local)
    # GitLab's Date header says five minutes later than this host at the same instant.
    clock.observe({"Date": formatdate(local + 300, usegmt=True)}, sent_at=local, received_at=local)
    coverage = Coverage(
        "https://gitlab.example",
        username="root",
        user_id=1,
        is_admin=True,
        clock_skew_s=clock.skew_seconds,
        clock_note=clock.skew_note(),
    )
    spots = [
        BlindSpot(
            "source:Deploy keys:403",
            "Deploy keys [b]x[/]: answered 403.",
            "instance.inventory",
            "Review that source with a token that can read it.",
        )
    ]

    async def go() -> None:
        app: App[None] = App(css_path=[stylesheet("app.tcss")])
        async with app.run_test(size=(100, 40)) as pilot:
            screen = CoverageScreen(coverage, blind_spots=spots)
            await app.push_screen(screen)
            await pilot.pause()
            lines = _texts(screen, ".coverage-line")
            assert any(
                t.startswith("! GitLab's clock is 5 min ahead of this host's") for t in lines
            ), lines
            (blind,) = _texts(screen, ".coverage-blind")
            assert blind.startswith("✗ Deploy keys [b]x[/]: answered 403.")  # literal
            assert "→ " in blind and "token that can read it" in blind
            await pilot.press("escape")
            assert app.screen is not screen

    asyncio.run(go())


def test_offline_the_panel_opens_without_a_capability_check() -> None:
    spots = [
        BlindSpot(
            "api:git-hooks",
            "Server-side Git hooks are never visible.",
            "instance.save_state",
            "Inspect custom_hooks on the host.",
        )
    ]

    async def go() -> None:
        app: App[None] = App(css_path=[stylesheet("app.tcss")])
        async with app.run_test(size=(80, 24)) as pilot:
            screen = CoverageScreen(None, blind_spots=spots, url="https://gitlab.example")
            await app.push_screen(screen)
            await pilot.pause()
            assert "has not run" in _texts(screen, ".coverage-line")[0]
            assert str(screen.query_one("#coverage-summary").render()) == "https://gitlab.example"
            assert len(_texts(screen, ".coverage-blind")) == 1

    asyncio.run(go())
