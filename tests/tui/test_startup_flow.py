"""The startup paths: first-run form, profile picker, edit after failure, resume, crash handling.

The keyring is pinned to the fail backend (conftest), so these also check the single
"token will not be saved" notice and that the token never reaches a file.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets import Input

from console import timeutil
from console.app import IncidentConsoleApp
from console.profiles import Profile, ProfileBook, profiles_path
from console.session import Launch, db_path
from console.store import Store
from screens.connect import ConnectFormScreen, KeyringNoticeScreen, ProblemScreen
from screens.incidents import IncidentChoiceScreen, ago, default_incident_fields
from screens.main import MainScreen
from screens.profiles import ProfilePickerScreen
from tests.pilot_helpers import FAKE_PANES, demo, reach_main, run_app, screen_text, until


def fill(app: IncidentConsoleApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#connect-{field}", Input).value = value


def test_first_run_explains_keyring_once_then_connects_from_the_form(drill: Any) -> None:
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, KeyringNoticeScreen))
        await until(pilot, lambda: "will NOT be saved" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConnectFormScreen))
        token_input = app.screen.query_one("#connect-token", Input)
        assert token_input.password
        assert not app.screen.query("#connect-remember")  # nothing could remember it
        fill(app, name="drill-a", url=drill.url, token=type(drill).ADMIN_TOKEN)
        assert type(drill).ADMIN_TOKEN not in screen_text(app)
        await pilot.press("enter")
        main = await reach_main(pilot)
        assert main.ctx.connection.profile_name == "drill-a"
        assert main.ctx.connection.token_source == "prompt"

    run_app(app, script)
    saved = profiles_path().read_text()
    assert "drill-a" in saved and type(drill).ADMIN_TOKEN not in saved


def test_picker_then_token_only_form_for_a_saved_profile(drill: Any) -> None:
    book = ProfileBook.load()
    book.add(Profile(name="other", url="https://gitlab.invalid"))
    book.add(Profile(name="drill-b", url=drill.url))
    book.save()
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, ProfilePickerScreen))
        await until(pilot, lambda: "drill-b" in screen_text(app))
        assert "other" in screen_text(app)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, KeyringNoticeScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConnectFormScreen))
        assert app.screen.query_one("#connect-url", Input).disabled
        assert app.screen.query_one("#connect-url", Input).value == drill.url
        assert app.focused is app.screen.query_one("#connect-token", Input)
        fill(app, token=type(drill).ADMIN_TOKEN)
        await pilot.press("enter")
        main = await reach_main(pilot)
        assert main.ctx.connection.profile_name == "drill-b"

    run_app(app, script)


def test_edit_after_a_rejected_token_reopens_the_form(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-WrongWrongWrongWrong01")
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, ProblemScreen))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, (ConnectFormScreen, KeyringNoticeScreen)))
        if isinstance(app.screen, KeyringNoticeScreen):
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConnectFormScreen))
        await until(pilot, lambda: "Token rejected" in screen_text(app))
        assert app.screen.query_one("#connect-url", Input).value == drill.url
        # The new token is typed straight away: the token field has focus, old value selected.
        token = app.screen.query_one("#connect-token", Input)
        assert app.focused is token
        await pilot.press(*type(drill).ADMIN_TOKEN)
        assert token.value == type(drill).ADMIN_TOKEN
        fill(app, name="fixed")
        await pilot.press("enter")
        main = await reach_main(pilot)
        assert main.ctx.connection.token_source == "prompt"

    run_app(app, script)


def _seed_incidents(url: str) -> tuple[int, int]:
    store = Store.open(db_path(False))
    try:
        fields = default_incident_fields(timeutil.now())
        old = store.create_incident(
            "Older incident",
            "compromised-account",
            "env",
            url,
            fields["window_start"],
            fields["window_end"],
        )
        new = store.create_incident(
            "Latest incident",
            "compromised-instance",
            "env",
            url,
            fields["window_start"],
            fields["window_end"],
        )
        store.create_incident(
            "Elsewhere", "compromised-instance", "x", "https://gitlab.invalid", None, None
        )
        return old.id, new.id
    finally:
        store.close()


def test_resume_flag_opens_the_latest_incident_directly(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old, latest = _seed_incidents(drill.url)
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", type(drill).ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch(resume=True), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        assert main.ctx.incident.id == latest
        assert main.ctx.incident.title == "Latest incident"

    run_app(app, script)


def test_the_only_open_incident_of_the_instance_opens_without_a_question(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(db_path(is_drill=False))
    try:
        only = store.create_incident(
            "Only incident", "compromised-account", None, drill.url, None, None
        ).id
        store.create_incident(
            "Elsewhere", "compromised-account", None, "https://other.example.com", None, None
        )
    finally:
        store.close()
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", type(drill).ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)
    seen: list[str] = []

    async def script(pilot: Any) -> None:
        def watch() -> bool:
            seen.append(type(app.screen).__name__)
            return isinstance(app.screen, MainScreen)

        await until(pilot, watch)
        main = await reach_main(pilot)
        assert main.ctx.incident.id == only
        assert "IncidentChoiceScreen" not in seen

    run_app(app, script)


def test_open_incidents_are_offered_resume_first(
    drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old, latest = _seed_incidents(drill.url)
    monkeypatch.setenv("GITLAB_URL", drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", type(drill).ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, IncidentChoiceScreen))
        await until(pilot, lambda: "Resume Latest incident" in screen_text(app))
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if "Resume Latest incident" in line)
        assert "(last active just now)" in lines[first]
        assert any("Older incident" in line for line in lines[first + 1 :])
        assert "Elsewhere" not in screen_text(app)  # other instance
        await pilot.press("enter")
        main = await reach_main(pilot)
        assert main.ctx.incident.id == latest

    run_app(app, script)


def test_escape_on_the_first_form_does_not_quit_and_ctrl_q_exits_cleanly() -> None:
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, KeyringNoticeScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConnectFormScreen))
        await pilot.press("escape")  # "back", and there is nothing behind the first form
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConnectFormScreen)
        assert any("ctrl+q quits" in n.message for n in app._notifications)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running)

    run_app(app, script)
    assert app.return_code == 0


def test_crash_shows_one_redacted_line_and_logs_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from console.redact import register_secret
    from console.secret import Secret

    token = "glpat-CrashTokenValue123456"
    register_secret(Secret(token))
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)
    lines: list[str] = []

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, KeyringNoticeScreen))
        secret_local = token  # a local Textual's default handler would print
        app.call_later(_boom, secret_local)
        await until(pilot, lambda: not app.is_running or bool(app._exit_renderables))
        lines.extend(str(r) for r in app._exit_renderables)

    caplog.set_level(logging.ERROR, logger="console.app")
    with pytest.raises(RuntimeError):
        run_app(app, script)
    assert app.return_code == 1
    assert len(lines) == 1 and "RuntimeError" in lines[0] and token not in lines[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback" in logged and "_boom" in logged and token not in logged


def _boom(value: str) -> None:
    raise RuntimeError(f"exploded while holding {value}")


def test_ago_and_defaults() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert ago("2024-05-01T10:00:00Z", now) == "2 h ago"
    assert ago(now - timedelta(days=3), now) == "3 d ago"
    assert ago("2024-05-01T11:59:30Z", now) == "just now"
    assert ago("garbage", now) == "unknown"
    fields = default_incident_fields(now)
    assert fields["kind"] == "compromised-instance"
    assert fields["title"].startswith("Incident 2024-05-01")
    start = datetime.fromisoformat(fields["window_start"].replace("Z", "+00:00"))
    assert now - start == timedelta(days=30)


def test_import_from_python_gitlab_cfg_never_copies_the_token(isolated_home: Any) -> None:
    token = "glpat-PlaintextInCfgFile0001"
    (isolated_home / ".python-gitlab.cfg").write_text(
        f"[global]\ndefault = work\n[work]\nurl = https://gitlab.example.com\n"
        f"private_token = {token}\n"
    )
    app = IncidentConsoleApp(Launch(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, KeyringNoticeScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConnectFormScreen))
        await until(pilot, lambda: "ctrl+o" in screen_text(app))
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ProfilePickerScreen))
        await until(pilot, lambda: "gitlab.example.com" in screen_text(app))
        text = screen_text(app)
        assert "Import from" not in text and token not in text
        warnings = [n.message for n in app._notifications]
        assert any("plain text" in m for m in warnings) and not any(token in m for m in warnings)
        # New connection, then escape: back to the picker, not out of the console.
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConnectFormScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProfilePickerScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not app.is_running)

    run_app(app, script)
    saved = profiles_path().read_text()
    assert "gitlab.example.com" in saved and token not in saved


def test_a_new_incident_window_starts_thirty_days_before_gitlabs_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The drill's clock is two days ahead of this host: the window follows GitLab's clock."""
    import email.utils
    import time

    from console.drill import httpd

    ahead = 2 * 86400

    def date_time_string(self: object, timestamp: float | None = None) -> str:
        return email.utils.formatdate(time.time() + ahead, usegmt=True)

    monkeypatch.setattr(httpd.RequestHandler, "date_time_string", date_time_string)
    app = IncidentConsoleApp(demo(), panes=FAKE_PANES)

    async def script(pilot: Any) -> None:
        await reach_main(pilot)

    run_app(app, script)
    assert app.ctx is not None
    start = timeutil.parse_ts(app.ctx.incident.window_start)
    assert start is not None
    expected = timeutil.now() + timedelta(seconds=ahead) - timedelta(days=30)
    assert abs((start - expected).total_seconds()) < 60
