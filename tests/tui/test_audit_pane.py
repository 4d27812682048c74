"""AuditPane under Pilot (80x24): load, filters, search, show_for_user, resume, hostile text."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from console.audit import FREE_TIER_DETAIL
from console.store import Store
from screens.modals.detail import DetailModal
from screens.panes.audit import AuditPane, audit_detail_parts
from tests.pilot_helpers import screen_lines
from tests.pilot_helpers import settle_workers as _settle

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
            "drill", "compromised-account", None, "https://gitlab.invalid", "2025-04-01T00:00:00Z",
            "2025-05-10T00:00:00Z")
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
    return {"id": id_, "author_id": author[0], "entity_type": details.pop("_etype", "User"),
            "entity_id": author[0], "event_name": name, "details": d,
            "created_at": f"2025-05-0{1 + id_ % 8}T10:00:00Z"}


EVENTS = [
    _event(1, "authenticated_with_two_factor", (7, "mchen"), ip_address="203.0.113.66",
           custom_message="Signed in with two-factor authentication"),
    _event(2, "personal_access_token_created", (7, "mchen"), target_id=7, target_type="User",
           custom_message="Created personal access token with id 99"),
    _event(3, "add_ssh_key", (7, "mchen"), custom_message="Added SSH key"),
    _event(4, "user_blocked", (1, "root"), target_id=15, target_type="User",
           target_details="Someone"),
    _event(5, None, (2, "alice"), custom_message="Added SSH key"),  # legacy shape
    _event(6, "member_updated", (1, "root"), target_id=7, target_type="User",
           change="access_level", **{"from": "Developer", "to": "Owner"}),
    _event(7, "login_failed_with_standard_authentication", (-1, HOSTILE),
           target_details=HOSTILE, ip_address="192.0.2.9", failed_login="STANDARD"),
]


class PaneApp(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, ctx: Ctx, **kw: Any) -> None:
        super().__init__()
        self.ctx, self.kw = ctx, kw

    def compose(self) -> ComposeResult:
        yield AuditPane(self.ctx, **self.kw)  # type: ignore[arg-type]


def _ids(pane: AuditPane) -> list[int]:
    return [e.id for e in pane.shown]


def test_loads_filters_searches_and_restores(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(EVENTS))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            table = pane.table
            assert table.row_count == 7 and sorted(_ids(pane)) == [1, 2, 3, 4, 5, 6, 7]
            assert "Audit events" in str(pane.border_title) and "7 events" in str(
                pane.border_title)
            # a 39-day window is two ≤30-day slices; every one was asked for
            assert ctx.client.calls == 2
            table.focus()
            await pilot.press("K")  # KEY quick filter: typed and legacy "Added SSH key"
            assert sorted(_ids(pane)) == [3, 5]
            await pilot.press("t")  # + TOKEN
            assert sorted(_ids(pane)) == [2, 3, 5]
            await pilot.press("0")
            assert len(pane.shown) == 7
            await pilot.press("slash")
            for ch in "ssh":
                await pilot.press(ch)
            assert sorted(_ids(pane)) == [3, 5]
            await pilot.press("enter")
            assert pane.filter.search == "ssh" and table.has_focus
            await pilot.press("escape")  # clears the search
            assert len(pane.shown) == 7
            pane.show_for_user(7, "mchen")
            await pilot.pause()
            assert sorted(_ids(pane)) == [1, 2, 3, 6]  # by, about (target) and membership
            bar = pane.query_one("#audit-filterbar", Static)
            assert "@mchen" in str(bar.render()) and "esc clears" in str(bar.render())
            table.move_cursor(row=_ids(pane).index(3))
            state = pane.state()
            assert state["selected"] == 3 and state["filter"]["user_id"] == 7
            await pilot.press("escape")
            assert len(pane.shown) == 7
            pane.restore(state)
            await pilot.pause()
            assert sorted(_ids(pane)) == [1, 2, 3, 6] and pane.selected_id() == 3
            await pilot.press("p")  # a change right before quitting is still saved
        saved = store.load_ui_state(ctx.incident_id).get("audit")
        assert saved is not None and saved["filter"]["user_id"] == 7
        assert saved["filter"]["categories"] == ["REPO"] and saved["selected"] is None

    asyncio.run(run())


def test_resume_shows_cached_events_without_a_request(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    first = Ctx(store, FakeGitLab(EVENTS))

    async def load(ctx: Any) -> list[int]:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            return _ids(app.query_one(AuditPane))

    assert len(asyncio.run(load(first))) == 7
    resumed = Ctx.__new__(Ctx)
    resumed.store, resumed.client, resumed.coverage = store, FakeGitLab([]), None
    resumed.incident = first.incident
    assert sorted(asyncio.run(load(resumed))) == [1, 2, 3, 4, 5, 6, 7]
    assert resumed.client.calls == 0


def test_hostile_text_stays_escaped_in_table_and_detail(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(EVENTS))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            table = pane.table
            row = pane.source.cells([7])[7]
            assert all(isinstance(cell, Text) for cell in row.values())
            author = row["author"]
            assert "[@click=app.quit]pwn[/]" in author.plain and "bob[/b]" in author.plain
            assert not any(ch in author.plain for ch in ESCAPES)
            table.focus()
            table.move_cursor(row=_ids(pane).index(7))
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailModal)
            lines = "\n".join(screen_lines(app))
            assert not any(ch in lines for ch in ESCAPES)
            assert "Event: login_failed_with_standard" in lines
            parts = audit_detail_parts(pane.selected_event())
            plain = "\n".join(p.plain for p in parts if isinstance(p, Text))
            assert "Suspicious characters:" in plain
            assert "U+202E RIGHT-TO-LEFT OVERRIDE" in plain  # named, not obeyed
            assert "[@click=app.quit]pwn[/]" in plain
            assert not any(ch in plain for ch in ESCAPES)
            await pilot.press("end")  # scroll the modal to the code point report
            await pilot.pause()
            assert "U+202E" in "\n".join(screen_lines(app))
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, type(app.screen)) and not isinstance(
                app.screen, DetailModal)
            assert not any(ch in "\n".join(screen_lines(app)) for ch in ESCAPES)
            assert app.is_running

    asyncio.run(run())


def test_free_tier_shows_the_coverage_message(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab([], status=404))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            message = pane.query_one("#audit-message", Static)
            assert message.display and pane.coverage_gap
            assert FREE_TIER_DETAIL in str(message.render())
            assert message.has_class("-coverage") and not message.has_class("-error")
            assert "not available on this tier" in str(pane.border_title)

    asyncio.run(run())


def test_known_free_coverage_skips_the_request(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")

    class Cov:
        tier = "free"
        audit_events = False
        audit_status = 404
        is_admin = True

    ctx = Ctx(store, FakeGitLab(EVENTS), coverage=Cov())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            assert pane.coverage_gap and pane.shown == []
            await pilot.press("r")
            await _settle(app, pilot)
            assert ctx.client.calls == 0

    asyncio.run(run())


def test_non_admin_refusal_says_admin_token_not_tier(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")

    class Cov:
        tier = "unknown"  # an Enterprise instance whose audit API answered 403
        audit_events = False
        audit_status = 403
        is_admin = False

    ctx = Ctx(store, FakeGitLab(EVENTS), coverage=Cov())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            assert pane.coverage_gap and ctx.client.calls == 0
            assert "not visible to this token" in str(pane.border_title)
            text = str(pane.query_one("#audit-message", Static).render())
            assert "Audit events need an administrator token" in text
            assert "Premium or Ultimate" not in text

    asyncio.run(run())


def _drill_ctx(drill: Any, store: Store) -> Any:
    from console.config import ConnectionConfig
    from console.context import AppContext
    from console.secret import Secret
    from console.session import Connection

    now = drill.state.current_time()
    incident = store.create_incident(
        "drill", "compromised-account", None, drill.url,
        (now - timedelta(days=45)).isoformat(), now.isoformat())
    conn = Connection(config=ConnectionConfig(url=drill.url), token=Secret(drill.ADMIN_TOKEN),
                      token_source="drill", profile_name="drill", is_drill=True)
    return AppContext(store=store, incident=incident, connection=conn, coverage=None)


def test_drill_pane_shows_the_attackers_trail_for_mchen(drill: Any, tmp_path: Path) -> None:
    from console.drill.seed import ATTACKER_IP

    store = Store.open(tmp_path / "s.db")
    ctx = _drill_ctx(drill, store)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            assert pane.problem is None and len(pane.events) > 100
            assert "fetched" in str(pane.border_title)
            pane.show_for_user(7, "mchen")
            await pilot.pause()
            names = {e.event_name for e in pane.shown}
            assert {"authenticated_with_two_factor", "personal_access_token_created",
                    "add_ssh_key", "login_failed_with_otp_authentication"} <= names
            pane.table.focus()
            await pilot.press("slash")
            for ch in ATTACKER_IP:
                await pilot.press(ch)
            await pilot.press("enter")
            assert pane.shown and all(e.ip_address == ATTACKER_IP or ATTACKER_IP in e.summary
                                      for e in pane.shown)
            assert len(pane.shown) < len(pane.events)

    asyncio.run(run())


def test_x_cancels_a_slow_load_and_keeps_what_arrived(tmp_path: Path) -> None:
    import threading

    class Endless(FakeGitLab):
        """Every page has one new event and a next link; each page waits for the test."""

        def __init__(self) -> None:
            super().__init__([])
            self.gate = threading.Semaphore(0)

        def get(self, url: str, *, params: Any = None, timeout: Any = None) -> _Resp:
            self.gate.acquire(timeout=5)
            self.calls += 1
            event = _event(self.calls, "add_ssh_key", (7, "mchen"))
            return _Resp([event], f"https://x.invalid/api/v4/audit_events?page={self.calls + 1}")

    store = Store.open(tmp_path / "s.db")
    client = Endless()
    ctx = Ctx(store, client)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(AuditPane)
            for _ in range(3):
                client.gate.release()
            for _ in range(100):
                await pilot.pause(0.02)
                if "3 events" in str(pane.border_title):
                    break
            assert "loading slice 1/2, 3 pages, 3 events (x cancels)" in str(pane.border_title)
            pane.table.focus()
            await pilot.press("x")
            client.gate.release()  # let the blocked request return so the worker can stop
            await _settle(app, pilot)
            assert not pane.loading and pane.complete is False
            assert 3 <= len(pane.events) <= 4 and client.calls <= 4
            assert "partial" in str(pane.border_title)

    asyncio.run(run())


def test_columns_fit_the_width_and_leave_no_scrollbar_row(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(EVENTS))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            table = pane.table
            assert table.visible_columns == ["time", "category", "event", "author", "target"]
            assert not table.show_horizontal_scrollbar
            assert table.virtual_size.width <= table.scrollable_content_region.width
            # The last screen row inside the pane is the border, not a stray scrollbar track.
            lines = screen_lines(app)
            assert not any("▏" in line for line in lines)
            await pilot.resize_terminal(140, 24)
            await _settle(app, pilot)
            assert "summary" in table.visible_columns and table.row_count == 7
            assert not table.show_horizontal_scrollbar

    asyncio.run(run())


def test_a_cache_write_failure_still_shows_the_events(tmp_path: Path, monkeypatch: Any) -> None:
    """The worker's cache write raised and the pane stayed 'loading…' with nothing shown."""
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(EVENTS))

    def full(*args: Any, **kwargs: Any) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "cache_put", full)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            assert not pane.loading and "loading" not in str(pane.border_title)
            assert sorted(_ids(pane)) == [1, 2, 3, 4, 5, 6, 7]
            assert pane.problem is not None

    asyncio.run(run())


def test_a_huge_window_scrolls_every_matching_event_and_search_narrows_it(
    tmp_path: Path,
) -> None:
    """30 days of a large instance can be 100,000 events: every matching one is in the table
    (no "newest 2,000" cut), the last is one End away, and a filter finds the one that matters."""
    count = 3500
    many = [
        _event(i, "authenticated_with_password", (1000 + i % 50, f"user{i % 50}"),
               ip_address=f"10.0.{i // 250}.{i % 250}")
        for i in range(1, count + 1)
    ]
    many.append(_event(count + 1, "add_ssh_key", (7, "mchen")))
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(many))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            table = pane.table
            assert len(pane.events) == len(many)
            assert table.row_count == len(many) == len(pane.shown)
            bar = str(pane.query_one("#audit-filterbar", Static).render())
            assert f"{len(many):,} of {len(many):,} events" in bar and "newest" not in bar
            table.focus()
            await pilot.press("end")
            assert table.cursor_row == len(many) - 1
            assert pane.selected_id() == pane.shown[-1].id
            # Painting the bottom asked the source for a page or two, never for every row.
            assert table.provider_rows < 300
            await pilot.press("K")  # the one key event is found however deep it was
            assert _ids(pane) == [count + 1] and table.row_count == 1

    asyncio.run(run())


def test_a_filter_key_says_what_it_did_and_no_match(tmp_path: Path) -> None:
    """`p` (Repository events; `g` before the table took g) on a window without any used to
    empty the table silently."""
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeGitLab(EVENTS))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(AuditPane)
            pane.table.focus()
            await pilot.press("p")  # Repositories: nothing in this window
            assert pane.table.row_count == 0
            bar = str(pane.query_one("#audit-filterbar", Static).render())
            assert "+ Repositories events" in bar and "no match (escape clears)" in bar
            assert "No match" in "\n".join(screen_lines(app))
            await pilot.press("p")
            bar = str(pane.query_one("#audit-filterbar", Static).render())
            assert "− Repositories events" in bar and "no match" not in bar
            assert pane.table.row_count == len(pane.events)

    asyncio.run(run())


def test_a_failing_worker_becomes_a_problem_in_the_box_not_a_crash(tmp_path: Path) -> None:
    """Building the client raised inside the load worker: the pane's one worker-error handler
    shows it as a Problem and stops saying "loading…"."""
    store = Store.open(tmp_path / "s.db")

    class Broken(Ctx):
        def gitlab(self) -> Any:
            raise OSError(111, "Connection refused")

    ctx = Broken(store, FakeGitLab(EVENTS))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(AuditPane)
            box = pane.query_one("#audit-message", Static)
            for _ in range(50):  # not wait_for_complete: it re-raises the worker's error
                await pilot.pause(0.02)
                if box.display:
                    break
            assert box.display and box.has_class("-error")
            assert pane.problem_box.problems and not pane.loading
            assert "loading" not in str(pane.border_title)
            assert app.is_running

    asyncio.run(run())
