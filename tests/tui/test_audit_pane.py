"""AuditPane under Pilot (80x24): rows from the events store, filters, search, hunts, pivots,
scopes, cancel, hostile text; the scenario's footholds through the real app on the drill."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Static

from console.audit import FREE_TIER_DETAIL
from console.store import Store
from screens.modals.detail import DetailModal
from screens.panes.audit import AuditPane
from tests.pilot_helpers import screen_lines, until

STYLES = Path(__file__).resolve().parents[2] / "styles" / "panes.tcss"
HOSTILE = "[@click=app.quit]pwn[/] bob[/b] \x1b]52;c;ZXZpbA==\x07 \u202eevil\x9b2J"
ESCAPES = ("\x1b", "\x9b", "\x07", "\u202e")


class _Resp:
    def __init__(self, body: Any, next_url: str | None, status: int = 200) -> None:
        self._body, self.status_code = body, status
        self.links = {"next": {"url": next_url}} if next_url else {}

    def json(self) -> Any:
        return self._body


class FakeGitLab:
    """Serves one page of audit events per slice (sync httpx-style client)."""

    base_url = "https://x.invalid/api/v4"  # where next links must stay

    def __init__(self, events: list[dict[str, Any]], status: int = 200) -> None:
        self.events, self.status, self.calls = events, status, 0

    def get(self, url: str, *, params: Any = None, timeout: Any = None) -> _Resp:
        self.calls += 1
        if self.status >= 400:
            return _Resp({"message": "404 Not Found"}, None, self.status)
        return _Resp(self.events, None)


class Ctx:
    """The slice of AppContext the pane uses."""

    def __init__(self, store: Store, client: Any, coverage: Any = None) -> None:
        self.store, self.client, self.coverage = store, client, coverage
        self.incident = store.create_incident(
            "drill",
            "compromised-account",
            None,
            "https://gitlab.invalid",
            "2025-04-01T00:00:00Z",
            "2025-05-10T00:00:00Z",
        )
        self.read_only = self.dry_run = False

    @property
    def incident_id(self) -> int:
        return int(self.incident.id)

    def gitlab(self) -> Any:
        return self.client


def _event(id_: int, name: str | None, author: tuple[int, str], **details: Any) -> dict[str, Any]:
    d = {"event_name": name, "author_name": author[1], **details}
    if name is None:
        d.pop("event_name")
    return {
        "id": id_,
        "author_id": author[0],
        "entity_type": details.pop("_etype", "User"),
        "entity_id": author[0],
        "event_name": name,
        "details": d,
        "created_at": f"2025-05-0{1 + id_ % 8}T10:00:00Z",
    }


EVENTS = [
    _event(
        1,
        "authenticated_with_two_factor",
        (7, "mchen"),
        ip_address="203.0.113.66",
        custom_message="Signed in with two-factor authentication",
    ),
    _event(
        2,
        "personal_access_token_created",
        (7, "mchen"),
        target_id=7,
        target_type="User",
        custom_message="Created personal access token with id 99",
    ),
    _event(3, "add_ssh_key", (7, "mchen"), custom_message="Added SSH key"),
    _event(
        4, "user_blocked", (1, "root"), target_id=15, target_type="User", target_details="Someone"
    ),
    _event(5, None, (2, "alice"), custom_message="Added SSH key"),  # legacy shape
    _event(
        6,
        "member_updated",
        (1, "root"),
        target_id=7,
        target_type="User",
        change="access_level",
        **{"from": "Developer", "to": "Owner"},
    ),
    _event(
        7,
        "login_failed_with_standard_authentication",
        (-1, HOSTILE),
        target_details=HOSTILE,
        ip_address="192.0.2.9",
        failed_login="STANDARD",
    ),
]


class PaneApp(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, ctx: Any, **kw: Any) -> None:
        super().__init__()
        self.ctx, self.kw = ctx, kw

    def compose(self) -> ComposeResult:
        yield AuditPane(self.ctx, **self.kw)


def _stored_ctx(tmp_path: Path) -> Ctx:
    """EVENTS in the store, as the loader leaves them (normalised, instance scope)."""
    from console.audit import normalize_event

    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab([]))
    events = [e.to_dict() for e in (normalize_event(raw) for raw in EVENTS) if e is not None]
    store.upsert_events(ctx.incident_id, "instance", events)
    return ctx


async def _settle(app: App[Any], pilot: Any) -> None:
    """Until no worker runs (a query replaced by a newer one ends cancelled: not an error)."""
    for _ in range(3):
        await until(pilot, lambda: all(w.is_finished for w in app.workers), 30)
        await pilot.pause()


def _ids(pane: AuditPane) -> list[int]:
    return [e.id for e in pane.shown_events()]


async def _press(pilot: Any, app: App[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause(SEARCH_WAIT)
    await _settle(app, pilot)


SEARCH_WAIT = 0.25  # past the pane's search debounce


def test_rows_come_from_the_store_and_filters_combine(tmp_path: Path) -> None:
    ctx = _stored_ctx(tmp_path)

    async def run() -> None:
        app = PaneApp(ctx, load_on_mount=False)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(AuditPane)
            await _settle(app, pilot)
            assert pane.table.row_count == 7 and sorted(_ids(pane)) == [1, 2, 3, 4, 5, 6, 7]
            assert pane.total == 7 and pane.counts.get("SIGNIN") == 2
            pane.table.focus()
            await _press(pilot, app, "t")  # switch to tokens
            assert _ids(pane) == [2] and "TOKEN" in pane.bar().plain
            await _press(pilot, app, "plus", "K")  # + adds SSH keys
            assert sorted(_ids(pane)) == [2, 3, 5]
            await _press(pilot, app, "s")  # a plain key switches again
            assert sorted(_ids(pane)) == [1, 7]
            await _press(pilot, app, "0")
            assert pane.table.row_count == 7
            assert pane.run_command("ip", "203.0.113.66") is None
            await _settle(app, pilot)
            assert _ids(pane) == [1]
            assert pane.run_command("ip", "") is None and pane.run_command("author", "root") is None
            await _settle(app, pilot)
            assert sorted(_ids(pane)) == [4, 6]
            await _press(pilot, app, "slash", *"access", "enter")
            assert _ids(pane) == [6]  # root's events, searched for "access" (access_level)
            assert "author: root" in pane.bar().plain
            await _press(pilot, app, "escape")  # clears the search
            await _press(pilot, app, "escape")  # then the filters
            assert pane.table.row_count == 7
            assert pane.run_command("since", "not a date") is not None
            assert pane.run_command("scope", "group x") is not None

    asyncio.run(run())


def test_search_with_fts_syntax_never_errors(tmp_path: Path) -> None:
    ctx = _stored_ctx(tmp_path)
    hostile = [
        '"',
        "NEAR(a b",
        "*",
        "(",
        ")",
        "AND",
        "OR NOT",
        "-x",
        "a:b",
        "^",
        '"unclosed',
        "col:value*",
        "{x}",
        "'",
        "\\",
        "\x00",
    ]

    async def run() -> None:
        app = PaneApp(ctx, load_on_mount=False)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(AuditPane)
            await _settle(app, pilot)
            for text in hostile:
                pane.set_view(replace(pane.view, search=text))
                await _settle(app, pilot)
                assert pane.problem_box.display is False, text
                assert pane.rids is not None
            pane.set_view(replace(pane.view, search='"SSH key'))
            await _settle(app, pilot)
            assert sorted(_ids(pane)) == [3, 5]

    asyncio.run(run())


def test_hostile_text_stays_escaped_in_table_and_detail(tmp_path: Path) -> None:
    ctx = _stored_ctx(tmp_path)

    async def run() -> None:
        app = PaneApp(ctx, load_on_mount=False)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(AuditPane)
            await _settle(app, pilot)
            pane.table.focus()
            pane.table.move_to_key(pane.rids[_ids(pane).index(7)] if pane.rids else 0)
            await _settle(app, pilot)
            text = "\n".join(screen_lines(app))
            assert not any(ch in text for ch in ESCAPES)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailModal)
            text = "\n".join(screen_lines(app))
            assert not any(ch in text for ch in ESCAPES) and app.is_running

    asyncio.run(run())


def test_known_free_coverage_skips_the_request(tmp_path: Path) -> None:
    class Cov:
        tier, audit_events, audit_status, is_admin = "free", False, 403, True

    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(EVENTS), coverage=Cov())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            message = app.query_one("#audit-message", Static)
            assert pane.coverage_gap and pane.shown_count == 0 and ctx.client.calls == 0
            assert FREE_TIER_DETAIL.split(";")[0] in str(message.render())

    asyncio.run(run())


def _drill_ctx(drill: Any, store: Store) -> Any:
    from console.config import ConnectionConfig
    from console.context import AppContext
    from console.secret import Secret
    from console.session import Connection

    now = drill.state.current_time()
    incident = store.create_incident(
        "drill",
        "compromised-account",
        None,
        drill.url,
        (now - timedelta(days=45)).isoformat(),
        now.isoformat(),
    )
    conn = Connection(
        config=ConnectionConfig(url=drill.url),
        token=Secret(drill.ADMIN_TOKEN),
        token_source="drill",
        profile_name="drill",
        is_drill=True,
    )
    return AppContext(store=store, incident=incident, connection=conn, coverage=None)


def test_drill_loads_missing_windows_then_nothing_twice(drill: Any, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = _drill_ctx(drill, store)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(AuditPane)
            await until(pilot, lambda: not pane.loading and pane.total > 100, 30)
            await _settle(app, pilot)
            stored = pane.total
            assert pane.problem is None and pane.table.row_count == stored
            pane.action_reload()  # only what is missing (the last minutes) is read again
            await until(pilot, lambda: not pane.loading, 30)
            await _settle(app, pilot)
            assert pane.total == stored

    asyncio.run(run())


def test_x_cancels_a_load_and_r_fetches_only_the_rest(tmp_path: Path) -> None:
    from console.drill.server import DrillOptions, DrillServer

    slow = DrillServer(DrillOptions(users=300, latency_ms=150))
    slow.start()
    try:
        store = Store.open(tmp_path / "s.db")
        ctx = _drill_ctx(slow, store)

        async def run() -> None:
            app = PaneApp(ctx)
            async with app.run_test(size=(80, 24)) as pilot:
                pane = app.query_one(AuditPane)
                await until(pilot, lambda: "loading:" in str(pane.border_title), 30)
                assert "x cancels" in str(pane.border_title)
                pane.table.focus()
                await pilot.press("x")
                await until(pilot, lambda: not pane.loading)
                await until(pilot, lambda: "cancelled" in str(pane.border_title))
                await app.workers.wait_for_complete()
                await _settle(app, pilot)
                missing = store.missing_audit_windows(
                    ctx.incident_id, "instance", *ctx.incident.window
                )
                assert missing  # the cancelled pieces stay missing, never half-counted
                await pilot.press("r")
                await until(pilot, lambda: not pane.loading, 60)
                await _settle(app, pilot)
                assert pane.problem is None and pane.total > 0

        asyncio.run(run())
    finally:
        slow.stop()


def test_footholds_are_two_keys_away_and_the_ip_pivot_shows_everything(tmp_path: Path) -> None:
    """The whole app on the demo drill: every foothold of the scenario is reached from the
    Audit pane by H and one key, and the attacker's IP pivot shows each event and user."""
    from console.app import IncidentConsoleApp
    from console.drill.footholds import ATTACKER_IP
    from tests.pilot_helpers import demo, reach_main, run_app, until

    app = IncidentConsoleApp(demo())
    # foothold → (hunt key, an event name the hunt must show)
    expected = {
        "tokens (ci-sync, backup-sync, k8s-sync)": ("t", "personal_access_token_created"),
        "deploy token tf-mirror": ("t", "deploy_token_created"),
        "SSH key build-07": ("k", "add_ssh_key"),
        "GPG key": ("k", "add_gpg_key"),
        "system and project hooks": ("h", "webhook_created"),
        "runner build-07": ("r", "ci_runner_created"),
        "admin flag of ops-helper": ("a", "user_admin_status_updated"),
        "Owner role, Maintainer membership": ("m", "member_updated"),
        "membership created": ("m", "member_created"),
        "variable PIP_INDEX_URL": ("s", "ci_variable_updated"),
        "OAuth application": ("o", "oauth_application_created"),
        "2FA of lnguyen disabled": ("2", "user_disable_two_factor"),
        "repository exported": ("x", "project_export_created"),
        "branch protection removed": ("x", "protected_branch_removed"),
    }

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        await pilot.press("2")
        pane = main.query_one(AuditPane)
        await until(pilot, lambda: not pane.loading and pane.total > 100, 30)
        for foothold, (letter, name) in expected.items():
            await pilot.press("H", letter)
            await until(pilot, lambda: pane.view.hunt is not None and pane.rids is not None)
            # the hunt's rows land from a worker: wait for them, then name what is missing
            try:
                await until(
                    pilot, lambda n=name: n in {e.event_name for e in pane.shown_events()}, 10
                )
            except AssertionError:
                names = {e.event_name for e in pane.shown_events()}
                raise AssertionError((foothold, names)) from None
            if letter == "h":
                hooks = [e for e in pane.shown_events() if e.event_name == "webhook_created"]
                assert {e.target_type for e in hooks} >= {"SystemHook", "ProjectHook"}
            await pilot.press("escape")
            await until(pilot, lambda: pane.view.hunt is None)
        # the attacker's IP: I on one of its events, then P u for the users
        assert pane.run_command("ip", ATTACKER_IP) is None
        await until(pilot, lambda: pane.view.ip == ATTACKER_IP and pane.rids is not None)
        every = ctx_events(pane, ATTACKER_IP)
        await until(pilot, lambda: {e.id for e in pane.shown_events()} == every)
        assert len(every) >= 25
        pane.table.focus()
        await pilot.press("P", "u")
        await until(pilot, lambda: isinstance(pilot.app.screen, DetailModal), 10)
        assert {name for _, name, _ in pane.ip_users} >= {"mchen", "ops-helper"}

    run_app(app, script)


def ctx_events(pane: AuditPane, ip: str) -> set[int]:
    """Every stored event from ``ip``, by a plain scan (what the pivot must match)."""
    store, incident = pane.ctx.store, pane.ctx.incident_id
    rids = store.event_rids(incident)
    return {int(e["id"]) for e in store.events_by_rids(incident, rids) if e["ip_address"] == ip}


def test_pivots_reach_the_dossier_a_scope_and_a_credentials_events(tmp_path: Path) -> None:
    """P a opens the author's dossier; there g picks a blast-radius group or project and the
    Audit pane shows its own events; a credential's EventsForTarget filters by that target."""
    from console.app import IncidentConsoleApp
    from screens.dossier import DossierScreen
    from screens.messages import EventsForTarget
    from tests.pilot_helpers import demo, reach_main, run_app

    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        await pilot.press("2")
        pane = main.query_one(AuditPane)
        await until(pilot, lambda: not pane.loading and pane.total > 100, 30)
        await pilot.press("H", "k")  # the planted SSH key: its author is mchen
        await until(pilot, lambda: pane.view.hunt == "keys" and pane.shown_count > 0)
        await pilot.pause(0.1)
        ssh = next(i for i, e in enumerate(pane.shown_events()) if e.event_name == "add_ssh_key")
        key_event = pane.shown_events()[ssh]
        pane.table.move_cursor(ssh)
        await pilot.pause()
        await pilot.press("P", "a")
        await until(pilot, lambda: isinstance(pilot.app.screen, DossierScreen), 10)
        dossier = pilot.app.screen
        assert isinstance(dossier, DossierScreen) and dossier.user_id == 7
        await until(pilot, lambda: dossier.dossier is not None, 30)
        await pilot.press("g")
        await until(pilot, lambda: pilot.app.screen is not dossier, 10)
        await pilot.press("1")  # the first group or project of the blast radius
        await until(pilot, lambda: pilot.app.screen is main and pane.view.scope != "instance", 10)
        assert pane.view.scope.split(":")[0] in ("group", "project")
        await until(pilot, lambda: not pane.loading, 30)
        main.post_message(EventsForTarget(key_event.target_type, key_event.target_id, "build-07"))
        await until(pilot, lambda: pane.view.target is not None and pane.rids is not None)
        await until(pilot, lambda: pane.view.scope == "instance")
        assert [e.id for e in pane.shown_events()] == [key_event.id]

    run_app(app, script)
