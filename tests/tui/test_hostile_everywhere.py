"""A compromised GitLab sends hostile text in every field; the console shows it inertly.

One drill instance is poisoned before the app starts (user names, emails, notes, IPs, states,
token names, SSH key titles, group/project names, hook URLs, CI variable keys, runner
descriptions, audit event details, the version string), then the real app is driven through every
screen that shows server data: users pane, dossier (scrolled end to end), audit pane and its
detail modal, credentials pane and its detail modal, the token and user action menus, plans and a
run, the coverage panel, and a problem screen for an error body full of escapes. After each step
the app must still run and no rendered strip may carry ESC, C0/C1, DEL, bidi or zero-width
characters, a link, or an ``@click`` action.

The second half covers the secrets gaps closed alongside: the masked token field refuses copy
(Textual would write it to the terminal clipboard), and logs/stderr/crash logs never carry
terminal control characters from server text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.app import IncidentConsoleApp
from console.session import Launch
from tests.pilot_helpers import reach_main, until
from tests.tui.test_untrusted_text_ui import FORBIDDEN, assert_clean_screen

HOSTILE = [
    "[/",
    "[@click=app.quit]x[/]",
    "bob[/b]",
    "osc\x1b]52;c;aGk=\x07",
    "cls\x1b[2J",
    "c1\x9bm",
    "rlo\u202eexe.gpj",
    "zw\u200bsp",
    "cr\roverwrite",
    "long" + "W" * 400,
]
EVIL = "".join(HOSTILE[:9])  # every trick in one value


def h(n: int) -> str:
    return HOSTILE[n % len(HOSTILE)]


def poison(state: Any) -> dict[str, Any]:
    """Put hostile text into everything the console shows; returns ids to visit."""
    from console.drill.model import SshKey

    with state.lock:
        for n, uid in enumerate((11, 12, 13, 14)):
            u = state.users[uid]
            u.name = f"{h(n)} {u.name}"
            u.email = f"{h(n + 1)}@example.test"
            u.note = EVIL
            u.current_sign_in_ip = h(n + 2)
            u.public_email = h(n + 3)
            u.identities = [{"provider": h(n), "extern_uid": EVIL, "saml_provider_id": None}]
        for uid in (11, 14):  # a plan flag and a dossier badge
            state.users[uid].state = "bob[/b]\x1b[2J"
        state.ssh_keys.setdefault(11, []).append(
            SshKey(
                id=90_001,
                user_id=11,
                title=EVIL,
                key="ssh-ed25519 AAAA" + "\x1b[2J",
                created_at=state.now_iso(),
            )
        )
        from console.drill.server import DrillServer

        console_tokens = {DrillServer.ADMIN_TOKEN, DrillServer.USER_TOKEN}
        tokens = [
            t
            for t in state.tokens.values()
            if not t.revoked
            and not t.impersonation
            and t.value not in console_tokens
            and t.resource_type is None
        ]
        for n, tok in enumerate(tokens[:6]):
            tok.name = h(n) if n else EVIL
            tok.last_used_ips = [h(n + 1)]
        for n, group in enumerate(list(state.groups.values())[:3]):
            group.name = h(n)
        for n, project in enumerate(list(state.projects.values())[:3]):
            project.name = h(n + 3)
        for n, hook in enumerate(list(state.hooks.values())[:3]):
            hook.url = f"https://hook.example/{h(n)}"
            hook.name = h(n + 4)
        instance_vars = [v for v in state.variables if v.scope == "instance"]
        for n, var in enumerate(instance_vars[:3]):
            var.key = ("bob[/b]", "[@click=app.quit]x[/]", "[/")[n]
            var.description = EVIL
        for n, runner in enumerate(list(state.runners.values())[:3]):
            runner.description = h(n + 5)
        state.version = "18.4.1\x1b]0;pwned\x07[@click=app.quit]x[/]"
        event = state.add_audit(
            author=state.users[11],
            entity_type="User",
            entity_id=11,
            event_name=EVIL,
            message=EVIL,
            target=(11, "User", EVIL),
            ip="\x1b[2J10.0.0.1",
            extra={"change": EVIL, "from": "[/", "to": "bob[/b]", EVIL: EVIL},
            # inside the new incident's window, which ends at its creation (whole seconds)
            created_at=(datetime.now(UTC) - timedelta(hours=1))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        )
    return {"event": event.id, "token": tokens[0].id}


def first(values: list[Any], wanted: Any, what: str) -> int:
    assert wanted in values, (what, wanted, values[:20])
    return values.index(wanted)


async def check(pilot: Any, where: str) -> str:
    await pilot.pause()
    app = pilot.app
    assert app.is_running, f"app stopped at {where}"
    assert app._exception is None, (where, app._exception)
    return assert_clean_screen(app)


async def scroll_through(pilot: Any, container: Any, where: str) -> None:
    """Check the screen at every scroll position of ``container`` (content below the fold)."""
    for _ in range(40):
        await check(pilot, where)
        if container.scroll_y >= container.max_scroll_y:
            return
        container.scroll_to(y=container.scroll_y + max(container.size.height - 2, 1), animate=False)
        await pilot.pause()


def test_hostile_text_through_every_screen(
    fresh_drill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screens.action_run import ActionRunScreen
    from screens.actions_menu import ActionsMenuScreen, PlanScreen
    from screens.connect import ProblemScreen
    from screens.coverage import CoverageScreen
    from screens.dossier import DossierScreen
    from screens.modals.detail import DetailModal
    from screens.panes.audit import AuditPane
    from screens.panes.credentials import CredentialsPane
    from screens.panes.users import UsersPane

    ids = poison(fresh_drill.state)
    monkeypatch.setenv("GITLAB_URL", fresh_drill.url)
    monkeypatch.setenv("GITLAB_TOKEN", fresh_drill.ADMIN_TOKEN)
    app = IncidentConsoleApp(Launch())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        # -- users pane
        users = main.pane("users")
        assert isinstance(users, UsersPane)
        await until(pilot, lambda: 14 in users.table.keys and not users._loading, 30)
        users.move_to_user(11)
        await pilot.pause()
        text = await check(pilot, "users pane")
        assert "⚠" in text  # hostile rows are flagged, not hidden
        # -- dossier for #11 (tokens, SSH keys, memberships, audit cards…)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DossierScreen))
        dossier = app.screen
        await until(pilot, lambda: dossier.dossier is not None, 30)
        await scroll_through(pilot, dossier.query_one("#dossier-body"), "dossier")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        # -- a hostile state becomes a plan flag
        users.move_to_user(14)
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await check(pilot, "user actions menu")
        await pilot.press("enter")  # Block user
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await until(pilot, lambda: not app.screen._identity_pending)
        text = await check(pilot, "user plan")
        assert "bob[/b]" in text  # shown literally
        await pilot.press("escape")  # back to the menu
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        # -- audit pane and detail
        await pilot.press("2")
        audit = main.pane("audit")
        assert isinstance(audit, AuditPane)
        await until(pilot, lambda: not audit.loading and audit.total > 0, 30)
        await until(pilot, lambda: audit.shown_count == audit.total, 30)
        row = first([e.id for e in audit.shown_events()], ids["event"], "audit event")
        audit.table.move_cursor(row)
        await check(pilot, "audit pane")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailModal))
        await scroll_through(pilot, app.screen.query_one("#detail-body"), "audit detail")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        # -- credentials pane, detail of every hostile row (a variable key in the title)
        await pilot.press("3")
        creds = main.pane("credentials")
        assert isinstance(creds, CredentialsPane)
        await until(pilot, lambda: not creds.loading and bool(creds.rows), 30)
        hostile_rows = [
            i
            for i, r in enumerate(creds.shown)
            if any(
                FORBIDDEN.search(s) or "[" in s
                for s in (r.name, r.owner, str(r.id), *r.extra.values())
            )
        ]
        assert len(hostile_rows) >= 6, len(hostile_rows)
        # One detail per kind keeps this quick; every variable, since their ids are the keys.
        by_kind: dict[str, int] = {}
        for i in hostile_rows:
            kind = creds.shown[i].kind
            by_kind.setdefault(kind if kind != "instance_variable" else str(i), i)
        assert len(by_kind) >= 6, by_kind
        for i in by_kind.values():
            creds.table.move_cursor(i)
            await check(pilot, f"credentials row {i}")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailModal))
            await check(pilot, f"credential detail {creds.shown[i].key}")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is main)
        # -- token actions: menu, plan, a real run on the hostile-named token
        row = first(
            [r.id if r.kind == "pat" else None for r in creds.shown], ids["token"], "token row"
        )
        creds.table.move_cursor(row)
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await check(pilot, "token actions menu")
        await pilot.press("enter")  # Revoke token
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await until(pilot, lambda: not app.screen._identity_pending)
        await check(pilot, "token plan")
        await pilot.press("y", "enter")
        await until(pilot, lambda: isinstance(app.screen, ActionRunScreen))
        run = app.screen
        await until(pilot, lambda: run.finished, 30)
        await check(pilot, "token run")
        assert run.result is not None and run.result.counts() == {"done": 1}
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        # -- coverage panel (hostile version string)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CoverageScreen))
        text = await check(pilot, "coverage")
        assert "pwned" in text  # the version is shown, its escape is not
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        # -- an error whose body is hostile: problem screen and a toast
        import gitlab.exceptions

        from console.errors import describe_error

        error = gitlab.exceptions.GitlabHttpError(
            EVIL, response_code=500, response_body=f'{{"message": "{EVIL!r}"}}'.encode()
        )
        problem = describe_error(error, url=fresh_drill.url)
        app.notify(problem.one_line(), markup=False)
        app.push_screen(ProblemScreen(problem, can_edit=True))
        await until(pilot, lambda: isinstance(app.screen, ProblemScreen))
        await check(pilot, "problem screen")
        app.pop_screen()
        await check(pilot, "toast")

    async def go() -> None:
        try:
            async with app.run_test(size=(160, 50), notifications=True) as pilot:
                await script(pilot)
        finally:
            app.shutdown()

    asyncio.run(go())


# ------------------------------------------------------------------ cells built from raw values

TOKEN = "glpat-" + "Zq7" * 8


def plain_of(renderable: Any) -> str:
    from rich.console import Console

    console = Console(width=200, color_system=None, record=True, force_terminal=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_raw_dates_ids_and_states_in_cells_are_sanitised() -> None:
    """Unparsable timestamps fall back to the raw value; ids and states are server text."""
    from console.audit import AuditEvent
    from console.dossier import Section
    from console.inventory import Credential
    from screens.dossier_render import render_section
    from screens.panes.audit import event_cells
    from screens.panes.credentials import credential_cells

    event = AuditEvent(
        id=1,
        created_at=EVIL,
        author_id=2,
        author_name="a",
        entity_type="User",
        entity_id=2,
        entity_path="",
        event_name="x",
        category="OTHER",
        target_type="",
        target_id="",
        target_details="",
        ip_address="",
        summary="",
    )
    cred = Credential(
        kind="pat",
        id=5,
        name="n",
        owner="o",
        owner_type="user",
        owner_id=2,
        scopes=("api",),
        created_at=EVIL,
        last_used_at="\x9b2J",
        expires_at="\u202e2099",
        state="active",
        protected=None,
        flags=(),
        rotate_hint="",
    )
    tokens = Section("tokens", [{"id": "\x1b[2J7", "name": "t", "scopes": ["api"], "active": True}])
    cells = [*event_cells(event).values(), *credential_cells(cred, None).values()]
    for text in (*(plain_of(c) for c in cells), plain_of(render_section("tokens", tokens))):
        assert not FORBIDDEN.search(text), repr(text)
    assert "#␛[2J7" in plain_of(render_section("tokens", tokens))


def test_plan_flags_from_server_state_are_sanitised() -> None:
    from types import SimpleNamespace

    from actions.plan import user_flags

    row = SimpleNamespace(
        id=1,
        username="x",
        state="blocked\x1b]52;c;aGk=\x07",
        is_admin=False,
        two_factor=None,
        kind="human",
    )
    flags = user_flags(row)
    assert all(not FORBIDDEN.search(f) for f in flags), flags
    assert any(f.startswith("blocked␛]52") for f in flags), flags


# ------------------------------------------------------------------ secrets and plain-text sinks


def test_token_field_never_copies_the_token_to_the_clipboard() -> None:
    """Textual's Input writes a selection to the terminal clipboard (OSC 52) on ctrl+c/ctrl+x;
    the token field refuses, while an ordinary field in the same app still copies."""
    from textual.app import App, ComposeResult
    from textual.widgets import Input

    from screens.connect import TokenInput

    class Form(App[None]):
        def compose(self) -> ComposeResult:
            yield TokenInput(TOKEN, password=True, id="tok")
            yield Input("plain-value", id="plain")

    async def go() -> None:
        app = Form()
        async with app.run_test() as pilot:
            plain = app.query_one("#plain", Input)
            plain.focus()
            plain.select_all()
            await pilot.press("ctrl+c")
            assert app.clipboard == "plain-value"  # the harness does copy
            field = app.query_one("#tok", TokenInput)
            field.focus()
            for key in ("ctrl+c", "ctrl+x", "super+c"):
                field.select_all()
                await pilot.press(key)
                assert TOKEN not in app.clipboard
            assert field.value == TOKEN  # cut did not delete it either

    asyncio.run(go())


def test_connect_form_uses_the_token_input() -> None:
    from textual.app import App

    from screens.connect import ConnectFormScreen, TokenInput

    async def go() -> None:
        app: App[None] = App()
        async with app.run_test() as pilot:
            from console.secret import Secret

            await app.push_screen(ConnectFormScreen(url="https://g.example", token=Secret(TOKEN)))
            await pilot.pause()
            field = app.screen.query_one("#connect-token", TokenInput)
            assert field.password
            field.select_all()
            await pilot.press("ctrl+c")
            assert TOKEN not in app.clipboard
            text = assert_clean_screen(app)
            assert TOKEN not in text

    asyncio.run(go())


@pytest.fixture
def restore_logging() -> Iterator[None]:
    import console.logs
    import console.redact

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    console.logs._handler = None
    console.redact.forget_secrets()
    root.setLevel(level)


def test_log_file_carries_no_terminal_controls_and_no_token(
    tmp_path: Path, restore_logging: None
) -> None:
    from console.logs import setup_logging
    from console.redact import register_secret
    from console.secret import Secret

    register_secret(Secret(TOKEN))
    path = setup_logging(logging.INFO, directory=tmp_path / "logs")
    log = logging.getLogger("console.test_hostile")
    log.warning("server said %s with %s", EVIL, TOKEN)
    try:
        raise RuntimeError(f"body {EVIL} token={TOKEN}")
    except RuntimeError:
        log.exception("request failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "server said" in text and "request failed" in text and "Traceback" in text
    assert TOKEN not in text
    assert not FORBIDDEN.search(text), repr(text)
    assert "␛]52;c;aGk=␇" in text  # the attack is visible, not executed


def test_stderr_lines_carry_no_terminal_controls(capsys: pytest.CaptureFixture[str]) -> None:
    from console.cli import main

    # argparse quotes the bad value back; it is the user's argv, still never raw on a terminal
    assert main(["--tier", "x\x1b]52;c;aGk=\x07\x9b2J"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err
    assert err.endswith("\n") and err.count("\n") == 1
    assert not FORBIDDEN.search(err), repr(err)


def test_crash_log_carries_no_terminal_controls_and_no_token() -> None:
    from console.cli import CRASH_LOG, _write_crash
    from console.paths import log_dir

    try:
        raise RuntimeError(f"server body {EVIL} {TOKEN}")
    except RuntimeError as exc:
        where = _write_crash(type(exc), exc, exc.__traceback__)
    assert where
    text = (log_dir() / CRASH_LOG).read_text(encoding="utf-8")
    assert "RuntimeError: server body" in text
    assert TOKEN not in text
    assert not FORBIDDEN.search(text), repr(text)


def test_secret_never_in_reprs_of_action_results() -> None:
    """A rotated token / reset password travels as Secret: reprs (crash locals) mask it."""
    from actions import ApplyResult, StepOutcome, Target
    from console.secret import Secret

    secret = Secret(TOKEN)
    result = ApplyResult(200, "req-1", None, secret, {"new_token_id": 9})
    outcome = StepOutcome(0, Target("token", 9, "t"), "done", "ok", secret=secret)
    for value in (result, outcome):
        assert TOKEN not in repr(value) and TOKEN not in str(value)


def test_token_echoed_in_an_error_body_is_redacted_everywhere(restore_logging: None) -> None:
    """A proxy or hostile server may echo the request (and our token) in an error body: it must
    not reach the journal (via the engine's message), a Problem on screen, or the log."""
    import gitlab.exceptions

    from actions.transport import _message
    from console.errors import describe_error
    from console.redact import register_secret
    from console.secret import Secret

    custom = "SIE-custom-opaque-value-1234567890"  # no glpat- prefix: only exact-match redaction
    register_secret(Secret(custom))
    body = f'{{"message": "401 bad PRIVATE TOKEN {custom}\x1b[2J"}}'.encode()
    exc = gitlab.exceptions.GitlabHttpError(
        f"bad token {custom}", response_code=401, response_body=body
    )
    problem = describe_error(exc)  # no secret passed: the registry covers it
    shown = _message(exc)
    for text in (problem.one_line(), shown):
        assert custom not in text and "***" in text, text
        assert not FORBIDDEN.search(text), text


def test_no_screenshot_or_system_commands_reachable() -> None:
    """A screenshot (SVG in the working directory) would copy whatever is on screen, one-time
    secrets included: the palette has only the console's commands and no key saves one."""
    from textual.app import App

    from console.app import IncidentConsoleApp

    system = set(App.COMMANDS)
    assert not system & set(IncidentConsoleApp.COMMANDS)
    actions = [str(getattr(b, "action", "")) for b in IncidentConsoleApp.BINDINGS]
    actions += [str(getattr(b, "action", "")) for b in App.BINDINGS]
    assert not any("screenshot" in a for a in actions), actions
