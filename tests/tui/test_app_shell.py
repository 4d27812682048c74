"""The app shell: demo startup, the key map, help from live bindings, quit, failures, resume.

Most tests run the real startup flow against a drill, with small placeholder panes so they test
the shell and not the panes; one test uses the shipped panes end to end.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import ContentSwitcher, Input

from console.app import IncidentConsoleApp
from console.session import Launch
from screens.confirm import ConfirmScreen
from screens.connect import ProblemScreen
from screens.coverage import CoverageScreen
from screens.header import ConsoleHeader
from screens.help import HelpScreen, collect_bindings
from screens.incidents import IncidentEditScreen
from screens.main import MainScreen
from screens.note import NoteScreen
from tests.pilot_helpers import (
    FAKE_PANES,
    demo,
    reach_main,
    run_app,
    screen_text,
    until,
)

BAD_TOKEN = "glpat-ThisIsNotARealToken0001"


def test_demo_startup_reaches_users_pane_with_drill_marker() -> None:
    app = IncidentConsoleApp(demo(drill_users=120))

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        assert main.active_pane == "users"
        assert type(main.pane()).__name__ == "UsersPane"
        header = main.query_one(ConsoleHeader)
        assert header.state.badges() == ["DRILL"]
        await until(pilot, lambda: "root" in screen_text(app))
        text = screen_text(app)
        assert " DRILL " in text.splitlines()[0]
        assert app.ctx is not None and app.ctx.is_drill
        assert app.ctx.connection.token_source.startswith("drill")
        # The pane keys live in the header (the footer has no room for them at 80 columns);
        # the footer shows the review keys with explicit words.
        assert "1 Users  2 Audit  3 Creds  4 Runbook  5 Journal" in text.splitlines()[1]
        assert header.state.active_pane == "users"
        footer = text.splitlines()[-1]
        for words in ("c Mark cleared", "f Flag suspicious", "n Next unreviewed user", "? Help"):
            assert words in footer, footer
        # Help: the active pane's keys first, then its quick filters, table movement last.
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        groups = list(dict.fromkeys(e.group for e in app.screen.entries))
        assert groups[0] == "Users pane" and groups[1].startswith("Users pane: quick filters")
        assert groups[-1] == "Navigation"
        first = [e.description for e in app.screen.entries[:5]]
        assert {"Mark cleared", "Flag suspicious", "Next unreviewed user"} <= set(first)
        assert "A  Only administrators" in app.screen.plain_text()
        await pilot.press("escape")
        await pilot.press("2")
        await until(pilot, lambda: header.state.active_pane == "audit")

    run_app(app, script)


def test_number_keys_switch_panes_and_slash_delegates() -> None:
    app = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        switcher = main.query_one("#panes", ContentSwitcher)
        for key, pane in (("2", "audit"), ("3", "credentials"), ("1", "users")):
            await pilot.press(key)
            assert switcher.current == f"pane-{pane}"
            assert main.active_pane == pane
            assert app.focused is main.pane(pane)
        app.set_focus(None)
        await pilot.press("slash")
        assert main.pane("users").searches == 1

    run_app(app, script)


def test_help_lists_every_active_binding_including_the_panes() -> None:
    app = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        expected = {
            active.binding.description
            for active in main.active_bindings.values()
            if not active.binding.system
        }
        assert {"Zap the highlighted row", "Users pane", "Quit"} <= expected
        entries = collect_bindings(main)
        keys = {key for e in entries for key in e.key.split(", ")}
        assert {"1", "2", "3", "/", "?", "q", "a", "z", "v", "^p"} <= keys
        # Sections: the active pane first, then the screen, then the app's keys.
        groups = list(dict.fromkeys(e.group for e in entries))
        assert groups[0] == "Fake pane"
        assert groups.index("This screen") < groups.index("Everywhere")
        assert not any(e.key.startswith("super+") for e in entries)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        help_text = app.screen.plain_text()
        assert "Fake pane" in screen_text(app)  # the focused pane's group comes first
        for description in expected:
            assert description in help_text, description
        assert "Workflow" in help_text
        await pilot.press("escape")
        assert app.screen is main

    run_app(app, script)


def test_quit_asks_while_work_is_running_and_exits_when_idle() -> None:
    app = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await reach_main(pilot)
        await app.workers.wait_for_complete()
        worker = app.run_worker(asyncio.sleep(60), group="users-load")
        await pilot.press("q")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ConfirmScreen) and "still loading users" in screen_text(app)
            ),
        )
        await pilot.press("n")
        assert isinstance(app.screen, MainScreen) and app.is_running
        worker.cancel()
        await until(pilot, lambda: worker.is_finished)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)

    run_app(app, script)
    assert app.return_code == 0


@pytest.mark.parametrize("token", [BAD_TOKEN])
def test_env_bad_token_shows_clear_error_screen(
    token: str, drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", token)
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, ProblemScreen))
        await until(pilot, lambda: "r: retry" in screen_text(app))
        text = screen_text(app)
        assert "Traceback" not in text and token not in text
        assert "Token rejected" in text and "401" in text
        assert "Next: " in text and "e: edit connection" in text and "q: quit" in text
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)

    run_app(app, script)
    assert app.return_code == 1


def test_non_admin_token_shows_coverage_warning(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", type(drill).USER_TOKEN)
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, CoverageScreen))
        await until(pilot, lambda: "not an administrator" in screen_text(app))
        await pilot.press("enter")
        main = await reach_main(pilot)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CoverageScreen))
        panel = app.screen
        assert isinstance(panel, CoverageScreen)
        # The incident's blind spots, each with the runbook step that covers it elsewhere.
        blind = [str(w.render()) for w in panel.query(".coverage-blind")]
        assert any(s.startswith("✗ Server-side Git hooks") for s in blind), blind
        hidden_ips = next(s for s in blind if "not an administrator" in s)
        assert "→ " in hidden_ips and "administrator's token" in hidden_ips
        await pilot.press("escape")
        assert app.screen is main

    run_app(app, script)


def test_resume_restores_active_pane_and_hands_panes_their_state() -> None:
    first = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def switch(pilot: Any) -> None:
        main = await reach_main(pilot)
        await pilot.press("3")
        await pilot.pause(0.8)  # past the 0.5 s debounce
        await first.workers.wait_for_complete()
        assert first.ctx is not None
        first.ctx.store.save_ui_state(first.ctx.incident_id, "users", {"selected_id": 7})
        assert main.active_pane == "credentials"

    run_app(first, switch)
    assert first.ctx is not None
    incident_id = first.ctx.incident_id

    second = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def check(pilot: Any) -> None:
        main = await reach_main(pilot)
        assert second.ctx is not None and second.ctx.incident_id == incident_id
        await until(pilot, lambda: main.active_pane == "credentials")
        assert main.query_one("#panes", ContentSwitcher).current == "pane-credentials"
        assert main.pane("users").restored == {"selected_id": 7}

    run_app(second, check)


def test_resumed_search_leaves_focus_on_the_table_not_the_search_box() -> None:
    first = IncidentConsoleApp(demo(drill_users=60))

    async def save(pilot: Any) -> None:
        main = await reach_main(pilot)
        await first.workers.wait_for_complete()
        assert first.ctx is not None
        # The pane's own state (a save it still has pending is flushed when the app quits, so
        # writing the store behind its back raced with that flush).
        main.pane("users").restore({"search": "mchen", "selected_id": 7})  # type: ignore[attr-defined]
        await until(pilot, lambda: getattr(main.pane("users"), "view").search == "mchen")
        first.ctx.store.save_ui_state(
            first.ctx.incident_id, "users", {"search": "mchen", "selected_id": 7}
        )

    run_app(first, save)

    second = IncidentConsoleApp(demo(drill_users=60))

    async def check(pilot: Any) -> None:
        main = await reach_main(pilot)
        pane = main.pane("users")
        await until(pilot, lambda: getattr(pane, "view").search == "mchen")
        await pilot.pause()
        search = pane.query_one("#users-search", Input)
        assert search.display  # the applied search stays visible
        assert second.focused is getattr(pane, "table")  # but keys go to the table
        await pilot.press("F")  # so F flags the user instead of typing into the search
        await until(pilot, lambda: isinstance(second.screen, NoteScreen))
        assert search.value == "mchen"

    run_app(second, check)


def test_incident_form_edits_title_and_palette_switches_panes() -> None:
    app = IncidentConsoleApp(demo(read_only=True, dry_run=True), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        header = main.query_one(ConsoleHeader)
        assert header.state.badges() == ["DRILL", "READ-ONLY", "DRY-RUN"]
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, IncidentEditScreen))
        app.screen.query_one("#inc-title", Input).value = "Account takeover [b]x[/]"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: header.state.incident_title == "Account takeover [b]x[/]")
        assert app.ctx is not None and app.ctx.incident.title == "Account takeover [b]x[/]"
        assert "Account takeover [b]x[/]" in screen_text(app)  # literal, never markup
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"credentials")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: main.active_pane == "credentials")

    run_app(app, script)


def test_interrupted_actions_are_offered_for_recheck_on_resume() -> None:
    first = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def leave_an_intent(pilot: Any) -> None:
        await reach_main(pilot)
        assert first.ctx is not None
        # As if the console died between journaling "block #15" and hearing back from GitLab.
        first.ctx.store.journal_intent(
            first.ctx.incident_id, "block_user", "user", 15, "tkowalski", {}, {"state": "active"}
        )

    run_app(first, leave_an_intent)

    second = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def recheck(pilot: Any) -> None:
        from screens.action_run import ActionRunScreen

        await until(
            pilot,
            lambda: (
                isinstance(second.screen, ConfirmScreen)
                and "Interrupted actions found" in screen_text(second)
            ),
        )
        await pilot.press("y")
        await until(pilot, lambda: isinstance(second.screen, ActionRunScreen))
        assert second.ctx is not None
        store, incident = second.ctx.store, second.ctx.incident_id
        await until(pilot, lambda: not store.journal_pending(incident))
        # tkowalski is blocked in the drill already: verified, and nothing re-sent
        states = [e.state for e in store.journal_entries(incident)]
        assert states == ["done"]

    run_app(second, recheck)


def test_a_on_a_token_row_opens_the_token_actions() -> None:
    from screens.actions_menu import ActionsMenuScreen
    from screens.panes.credentials import CredentialsPane

    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        await pilot.press("3")
        pane = main.pane("credentials")
        assert isinstance(pane, CredentialsPane)
        await until(pilot, lambda: bool(pane.rows))
        await pilot.press("t")  # tokens only
        row = pane.selected_row()
        assert row is not None and row.kind in (
            "pat",
            "impersonation",
            "bot_token",
            "service_token",
        )
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await until(pilot, lambda: "Revoke" in screen_text(app))

    run_app(app, script)
