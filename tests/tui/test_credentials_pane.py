"""CredentialsPane under Pilot (80x24): load, kind filters, search, sort, marks, resume."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from console.inventory import is_urgent
from console.store import Store
from screens.modals.detail import DetailModal
from screens.panes.credentials import CredentialsPane
from tests.integration.test_inventory import SECRETS, FakeServer, _routes
from tests.pilot_helpers import screen_lines, until
from tests.pilot_helpers import settle_workers as _settle

STYLES = Path(__file__).resolve().parents[2] / "styles" / "panes.tcss"
HOSTILE = "[@click=app.quit]x[/] bob[/b] \x1b[2J\u202eevil"
ESCAPES = ("\x1b", "\x9b", "\u202e")


class Ctx:
    def __init__(self, store: Store, client: Any) -> None:
        self.store, self.client, self.coverage = store, client, None
        self.incident = store.create_incident(
            "drill",
            "compromised-instance",
            None,
            "https://gitlab.invalid",
            "2025-05-05T12:00:00Z",
            "2025-05-10T12:00:00Z",
        )

    @property
    def incident_id(self) -> int:
        return int(self.incident.id)

    def gitlab(self) -> Any:
        return self.client


def _server() -> FakeServer:
    routes = _routes()
    hostile = {
        "id": 9,
        "name": HOSTILE,
        "user_id": 7,
        "scopes": ["api"],
        "revoked": False,
        "active": True,
        "created_at": "2025-05-09T00:00:00Z",
        "last_used_at": None,
        "expires_at": None,
    }
    routes["/personal_access_tokens"] = [*routes["/personal_access_tokens"][:4], hostile]
    return FakeServer(routes)


class PaneApp(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield CredentialsPane(self.ctx)  # type: ignore[arg-type]


def _keys(pane: CredentialsPane) -> list[str]:
    return [r.key for r in pane.shown]


def test_load_filter_search_sort_and_marks(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            table = pane.table
            total = len(pane.rows)
            assert total == table.row_count == 14
            assert f"{total} credentials" in str(pane.border_title)
            table.focus()
            await pilot.press("t")
            await until(
                pilot, lambda: {r.kind for r in pane.shown} == {"pat", "impersonation", "bot_token"}
            )
            await pilot.press("e")
            await until(
                pilot,
                lambda: {"instance_variable", "project_variable"} <= {r.kind for r in pane.shown},
            )
            await pilot.press("0")
            await until(pilot, lambda: len(pane.shown) == total)
            await pilot.press("slash")
            for ch in "relay":
                await pilot.press(ch)
            await until(pilot, lambda: _keys(pane) == ["project_hook:51"])
            await pilot.press("enter")
            await pilot.press("escape")
            await until(pilot, lambda: len(pane.shown) == total)
            # sort by name, then flags (most urgent first)
            await pilot.press("s")
            await until(pilot, lambda: pane.sort_key == "name")
            await _settle(app, pilot)
            names = [r.name.casefold() for r in pane.shown]
            assert names == sorted(names)
            for _ in range(5):
                await pilot.press("s")
            await until(pilot, lambda: pane.sort_key == "flags" and pane.descending)
            await pilot.press("S")
            await until(pilot, lambda: not pane.descending)
            await _settle(app, pilot)
            assert not pane.descending and len(pane.shown[0].flags) <= len(pane.shown[-1].flags)
            await pilot.press("S")
            await _settle(app, pilot)
            # mark the first row cleared, the second flagged; the same key again unmarks
            first, second = pane.shown[0].key, pane.shown[1].key
            table.move_cursor(row=0)
            await pilot.press("c")
            table.move_cursor(row=1)
            await pilot.press("f")
            await _settle(app, pilot)
            marks = store.marks(ctx.incident_id, "credential")
            assert marks[first].mark == "cleared" and marks[second].mark == "flagged"
            assert pane.source.cells([first])[first]["mark"].plain == "✓"
            await pilot.press("u")  # only unreviewed
            await until(pilot, lambda: len(pane.shown) == total - 2)
            assert first not in _keys(pane) and second not in _keys(pane)
            await pilot.press("u")
            await until(pilot, lambda: len(pane.shown) == total)
            table.move_cursor(row=_keys(pane).index(second))
            await pilot.press("f")
            await _settle(app, pilot)
            assert second not in store.marks(ctx.incident_id, "credential")
            bar = str(pane.query_one("#cred-filterbar", Static).render())
            assert "reviewed 1" in bar
            state = pane.state()
            await pilot.press("h")
        saved = store.load_ui_state(ctx.incident_id)["credentials"]
        assert saved["groups"] == ["hooks"] and saved["sort"] == "flags"
        assert state["selected"] == second

    asyncio.run(run())


def test_resume_restores_filters_selection_and_marks_from_the_cache(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())
    store.set_mark(ctx.incident_id, "credential", "pat:1", "cleared")

    async def run(client: Any, restore: dict[str, Any] | None) -> CredentialsPane:
        ctx.client = client
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            if restore is not None:
                pane.restore(restore)
                # the restored view's query runs in a worker: wait for its rows and cursor
                await until(pilot, lambda: pane.selected_key() == "deploy_key:11")
                await until(
                    pilot, lambda: {r.kind for r in pane.shown} == {"deploy_key", "deploy_token"}
                )
            if restore is None:
                assert pane.source.cells(["pat:1"])["pat:1"]["mark"].plain == "✓"
            return pane

    asyncio.run(run(_server(), None))
    again = FakeServer({})
    state = {"groups": ["deploy"], "selected": "deploy_key:11", "sort": "owner"}
    pane = asyncio.run(run(again, state))
    assert again.paths == []  # served from the cache
    assert pane.sort_key == "owner"


def test_hostile_names_and_secret_values_never_reach_the_screen(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            row = pane.source.cells(["pat:9"])["pat:9"]
            assert all(isinstance(cell, Text) for cell in row.values())
            assert "[@click=app.quit]x[/]" in row["name"].plain
            assert not any(ch in row["name"].plain for ch in ESCAPES)
            pane.table.focus()
            pane.table.move_cursor(row=_keys(pane).index("pat:9"))
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailModal)
            text = "\n".join(screen_lines(app))
            assert "bob[/b]" in text and not any(ch in text for ch in ESCAPES)
            await pilot.press("escape")
            await pilot.pause()
            for key in [r.key for r in pane.shown]:
                cells = "".join(c.plain for c in pane.source.cells([key])[key].values())
                assert not any(s in cells for s in SECRETS)
            assert app.is_running

    asyncio.run(run())


def test_drill_pane_flags_the_attackers_credentials(drill: Any, tmp_path: Path) -> None:
    from tests.tui.test_audit_pane import _drill_ctx

    store = Store.open(tmp_path / "s.db")
    ctx = _drill_ctx(drill, store)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            assert not pane.failed_sources and pane.total > 50
            pane.table.focus()
            everything = len(pane.shown)
            await pilot.press("w")  # only rows with an urgent flag
            assert 0 < len(pane.shown) < everything
            for _ in range(6):  # sort: flags, most urgent first
                await pilot.press("s")
            assert pane.sort_key == "flags"
            top = {r.name for r in pane.shown[:8]}
            assert {"ci-sync", "automation"} <= top
            assert "build-07" in {r.name for r in pane.shown}
            assert all(any(is_urgent(f) for f in r.flags) for r in pane.shown)
            chosen = pane.selected_key()
            await pilot.press("c")
            await _settle(app, pilot)
            assert store.marks(ctx.incident_id, "credential")[chosen].mark == "cleared"

    asyncio.run(run())


def test_columns_fit_80_with_flags_and_expiry_and_widen_with_the_terminal(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            table = pane.table
            visible = table.visible_columns
            assert {"mark", "kind", "name", "owner", "expires", "flags"} <= set(visible)
            # Nothing is laid out past the pane: no horizontal scrollbar row under the rows.
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert not table.show_horizontal_scrollbar
            lines = screen_lines(app)
            header = next(line for line in lines if "Kind" in line)
            assert "Expires" in header and "Flags" in header
            # The hostile PAT has no expiry: the cell says so, and its flags are on screen.
            cells = pane.source.cells(["pat:9"])["pat:9"]
            row = {key: cells[key].plain for key in visible}
            assert row["expires"] == "never" and row["flags"].startswith("new in window")
            await pilot.resize_terminal(160, 30)
            await _settle(app, pilot)
            assert [c.key for c in table.columns] == table.visible_columns
            assert table.row_count == len(pane.shown)
            assert table.virtual_size.width <= table.scrollable_content_region.width

    asyncio.run(run())


def test_a_cache_write_failure_still_shows_the_inventory(tmp_path: Path, monkeypatch: Any) -> None:
    """The worker's cache write raised and the pane stayed 'loading…' with nothing shown."""
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())

    def full(*args: Any, **kwargs: Any) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "cache_put", full)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            assert not pane.loading and "loading" not in str(pane.border_title)
            assert len(pane.rows) == 14
            assert any(p.source == "local cache" for p in pane.problems)

    asyncio.run(run())


def test_a_huge_inventory_scrolls_every_row_and_filters_reach_past_it(tmp_path: Path) -> None:
    count = 2600
    routes = _routes()
    bulk = [
        {
            "id": 1000 + i,
            "name": f"ide-{i}",
            "user_id": 7,
            "scopes": ["read_api"],
            "revoked": False,
            "active": True,
            "created_at": "2024-01-01T00:00:00Z",
            "last_used_at": None,
            "expires_at": "2030-01-01",
        }
        for i in range(count)
    ]
    routes["/personal_access_tokens"] = [*routes["/personal_access_tokens"], *bulk]
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, FakeServer(routes))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            table = pane.table
            assert len(pane.rows) > count
            assert table.row_count == len(pane.rows) == pane.matching
            bar = str(pane.query_one("#cred-filterbar", Static).render())
            assert f"{len(pane.rows):,} of {len(pane.rows):,}" in bar and "first" not in bar
            table.focus()
            await pilot.press("end")
            assert pane.selected_key() == pane.shown[-1].key
            await pilot.press("h")  # hooks: few, found however deep they were
            assert pane.shown and all(r.kind.endswith("_hook") for r in pane.shown)
            assert table.row_count == len(pane.shown) == pane.matching

    asyncio.run(run())


def test_the_detail_line_shows_the_flags_a_narrow_cell_cuts(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            pane.table.focus()
            pane.table.move_to_key("pat:9")
            await pilot.pause()
            row = pane.selected_row()
            assert row is not None and len(row.flags) >= 2
            detail = str(pane.query_one("#cred-detail", Static).render())
            assert detail.startswith("Flags: ")
            # every flag, in full words (the cell uses short ones), even at 80 columns
            assert all(flag in detail for flag in row.flags)
            assert "created in incident window" in "\n".join(screen_lines(app))

    asyncio.run(run())


def test_export_of_the_current_view_follows_the_panes_filters(tmp_path: Path) -> None:
    """screens.export_views reads the real pane: the rows it exports are the rows shown."""
    from screens.export_views import view_of

    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            pane = app.query_one(CredentialsPane)
            pane.table.focus()
            await pilot.press("h")  # hooks only
            view = view_of("credentials", pane, ctx)
            assert view is not None
            assert callable(view[1])  # read from the store in the export worker
            exported = list(view[1]())
            assert sorted((r["kind"], r["id"]) for r in exported) == sorted(
                (r.kind, r.id) for r in pane.shown
            )
            assert {r["kind"] for r in exported} <= {"system_hook", "group_hook", "project_hook"}

    asyncio.run(run())
