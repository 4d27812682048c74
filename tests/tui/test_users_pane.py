"""The users pane through Pilot key presses: filters, sort, search, marks, resume, loading."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.worker import WorkerCancelled

from console.config import ConnectionConfig
from console.context import AppContext
from console.secret import Secret
from console.session import Connection
from console.store import Store, UserQuery
from screens.note import NoteScreen
from screens.panes.users import USERS_STATE_KEY, UsersPane
from styles import stylesheet
from tests.pilot_helpers import until

WINDOW = ("2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z")


def make_users(n: int = 300) -> list[dict[str, Any]]:
    """Synthetic GET /users JSON: root (id 1), admins, bots, blocked, 2FA off, window activity."""
    users: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        user: dict[str, Any] = {
            "id": i,
            "username": "root" if i == 1 else f"user{i:04d}",
            "name": "Administrator" if i == 1 else f"Person {n - i:04d}",
            "email": f"u{i}@example.test",
            "state": "blocked" if i % 50 == 0 else "banned" if i % 77 == 0 else "active",
            "is_admin": i == 1 or i % 40 == 0,
            "two_factor_enabled": i % 3 != 0,
            "bot": i % 25 == 0,
            "user_type": "project_bot" if i % 25 == 0 else "human",
            "created_at": "2024-05-10T10:00:00Z" if i % 10 == 0 else "2023-01-01T00:00:00Z",
            "current_sign_in_at": "2024-05-20T10:00:00Z" if i % 7 == 0 else None,
            "last_sign_in_at": None,
            "last_activity_on": "2024-05-20",
        }
        if i % 7 == 0:
            user["current_sign_in_ip"] = f"10.9.{i // 256}.{i % 256}"
        if i == 42:
            user["username"] = "alice"
            user["name"] = "Alice Example"
        users.append(user)
    return users


def make_ctx(
    tmp_path: Path,
    users: list[dict[str, Any]] | None = None,
    *,
    url: str = "http://127.0.0.1:9",
    token: str = "drill-token-not-used",
    window: tuple[str | None, str | None] = WINDOW,
) -> AppContext:
    store = Store.open(tmp_path / "state.db")
    incident = store.create_incident(
        "test", "compromised-instance", None, url, window[0], window[1]
    )
    if users:
        store.upsert_users(incident.id, users, "2024-06-01T00:00:00Z")
    connection = Connection(
        config=ConnectionConfig(url),
        token=Secret(token),
        token_source="drill",
        profile_name="test",
        is_drill=True,
    )
    return AppContext(store=store, incident=incident, connection=connection, coverage=None)


class PaneApp(App[None]):
    CSS_PATH = [stylesheet("panes.tcss"), stylesheet("users.tcss")]

    def __init__(self, ctx: AppContext, *, autoload: bool = False) -> None:
        super().__init__()
        self.ctx = ctx
        self.autoload = autoload
        self.progress: list[UsersPane.ReviewProgressChanged] = []
        self.pages: list[UsersPane.UsersPageArrived] = []

    def compose(self) -> ComposeResult:
        yield UsersPane(self.ctx, autoload=self.autoload)

    def on_users_pane_review_progress_changed(self, m: UsersPane.ReviewProgressChanged) -> None:
        self.progress.append(m)

    @property
    def pane(self) -> UsersPane:
        return self.query_one(UsersPane)


async def settle(pilot: Any, rounds: int = 3, delay: float = 0.0) -> None:
    """Let debounce timers fire and workers finish, then let their messages land."""
    for n in range(rounds):
        if delay and n == 0:
            await pilot.pause(delay)
        for _ in range(10):
            try:
                await pilot.app.workers.wait_for_complete()
                break
            except WorkerCancelled:  # an exclusive query was replaced by a newer one: fine
                continue
        await pilot.pause()


def ids(app: PaneApp) -> list[int]:
    return [int(k) for k in app.pane.table.keys]


def expected(ctx: AppContext, **query: Any) -> list[int]:
    return ctx.store.user_ids(ctx.incident_id, UserQuery(**query))


def screen_text(app: App[Any]) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def test_quick_filters_by_key(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert len(ids(app)) == 300
            assert app.pane.border_title == "Users 300"
            assert ids(app)[0] == 1  # root is there, first

            await pilot.press("A")
            await settle(pilot)
            admins = [u["id"] for u in make_users() if u["is_admin"]]
            assert ids(app) == admins
            assert app.pane.border_title == f"Users {len(admins)} of 300"
            assert "Filters: admins (A)" in screen_text(app)

            await pilot.press("T")  # admins AND 2FA off
            await settle(pilot)
            both = [u["id"] for u in make_users() if u["is_admin"] and not u["two_factor_enabled"]]
            assert ids(app) == both and both
            # The bar names every active filter with the key that removes it.
            assert "Filters: admins (A) · 2FA off (T)  sort id▲  X clears" in screen_text(app)

            await pilot.press("A", "T", "B")
            await settle(pilot)
            assert ids(app) == [u["id"] for u in make_users() if u["bot"]]
            await pilot.press("B", "K")
            await settle(pilot)
            assert ids(app) == [u["id"] for u in make_users() if u["state"] != "active"]
            await pilot.press("K", "W")
            await settle(pilot)
            assert ids(app) == [i for i in range(10, 301, 10)]
            await pilot.press("W", "I")
            await settle(pilot)
            assert ids(app) == [i for i in range(7, 301, 7)]
            await pilot.press("X")
            await settle(pilot)
            assert len(ids(app)) == 300
            assert "All users  sort id▲  / search · ? lists the filter keys" in screen_text(app)

    asyncio.run(run())


def test_sort_cycles_and_reverses(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("end")
            await pilot.press("s")  # id -> username; the cursor goes back to the top
            await settle(pilot)
            assert app.pane.view.sort == "username"
            assert app.pane.table.cursor_row == 0 and int(app.pane.table.scroll_y) == 0
            by_name = sorted(make_users(), key=lambda u: (u["username"].casefold(), u["id"]))
            assert ids(app) == [u["id"] for u in by_name]
            assert "Username▲" in screen_text(app)
            await pilot.press("S")
            await settle(pilot)
            assert ids(app)[0] == by_name[-1]["id"]
            assert "Username▼" in screen_text(app)
            await pilot.press("s")  # name
            await settle(pilot)
            assert app.pane.view.sort == "name" and not app.pane.view.descending
            assert ids(app) == expected(ctx, sort="name")
            await pilot.press("R")  # risk, highest first, in one key
            await settle(pilot)
            assert app.pane.view.sort == "risk" and app.pane.view.descending
            assert ids(app) == expected(ctx, sort="risk", descending=True)
            assert "sort risk▼" in screen_text(app)

    asyncio.run(run())


def test_search_by_name_and_ip_with_input(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users())

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("slash")
            search = app.query_one("#users-search")
            assert search.has_focus
            await pilot.press(*"alice")
            await settle(pilot, delay=0.2)
            assert ids(app) == [42]
            text = screen_text(app)
            assert "alice" in text and "search alice" in text
            # Typing hides the pane's letter keys from the footer; enter and escape remain.
            shown = {
                (key, active.binding.description)
                for key, active in app.screen.active_bindings.items()
                if active.binding.show
            }
            assert {("enter", "Apply search"), ("escape", "Close search")} <= shown
            await pilot.press("escape")
            await settle(pilot)
            assert app.pane.table.has_focus
            assert ids(app) == [42]  # the query stays applied
            await pilot.press("slash", *["backspace"] * 5, *"10.9.1.")
            await settle(pilot, delay=0.2)
            ip_users = [
                u["id"] for u in make_users() if "10.9.1." in u.get("current_sign_in_ip", "")
            ]
            assert ids(app) == ip_users and ip_users
            await pilot.press("enter")  # submit returns to the table
            await settle(pilot)
            assert app.pane.table.has_focus

    asyncio.run(run())


def test_marks_notes_progress_and_next_unreviewed(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users(50))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.progress and app.progress[-1].reviewed == 0
            assert app.pane.current_user_id == 1
            await pilot.press("C")  # root cleared, then the note dialog (C: mark with a note)
            await settle(pilot)
            assert isinstance(app.screen, NoteScreen)
            await pilot.press(*"known admin", "enter")
            await settle(pilot)
            assert not isinstance(app.screen, NoteScreen)
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert marks[1].mark == "cleared" and marks[1].note == "known admin"
            assert app.progress[-1].root_reviewed is True
            assert "✓ clr✎" in screen_text(app)

            await pilot.press("down", "F")
            await settle(pilot)
            assert isinstance(app.screen, NoteScreen)
            await pilot.press("escape")  # skip the note: the mark stays
            await settle(pilot)
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert marks[2].mark == "flagged" and marks[2].note is None
            last = app.progress[-1]
            assert (last.reviewed, last.total, last.root_reviewed) == (2, 50, True)
            assert "⚑ FLAG" in screen_text(app)

            # Mark id 4 out of order: n from the top stops at 3, then skips 4.
            await pilot.press("down", "down", "c")  # c: no note box, on to the next
            await settle(pilot)
            await pilot.press("home", "n")
            assert app.pane.current_user_id == 3
            await pilot.press("n")
            assert app.pane.current_user_id == 5  # 4 is cleared

            await pilot.press("U")  # unreviewed filter hides marked users
            await settle(pilot)
            assert 1 not in ids(app) and 2 not in ids(app) and 4 not in ids(app)
            assert len(ids(app)) == 47
            await pilot.press("L", "U")  # flagged only
            await settle(pilot)
            assert ids(app) == [2]

            await pilot.press("delete")  # unmark
            await settle(pilot)
            assert 2 not in ctx.store.marks(ctx.incident_id, "user")
            assert ids(app) == []
            assert app.progress[-1].reviewed == 2

    asyncio.run(run())


def test_selection_and_selected_ids(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users(20))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.pane.selected_ids() == [1]  # nothing selected: the cursor's user
            await pilot.press("space", "down", "space")
            assert app.pane.selected_ids() == [1, 3]
            assert "2 selected" in screen_text(app)
            await pilot.press("escape")
            assert app.pane.selected_ids() == [app.pane.current_user_id]

    asyncio.run(run())


def test_state_round_trip_resumes_view_and_cursor(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users())

    async def first() -> dict[str, Any]:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("K", "s", "s", "S", "slash", *"person", "enter")
            await settle(pilot, delay=0.2)
            await pilot.press("down", "down", "down")
            await settle(pilot, delay=0.6)  # the debounced save
            state = app.pane.state()
            assert state["filters"] == ["blocked"]
            assert state["sort"] == "name" and state["descending"] is True
            assert state["search"] == "person"
            assert state["selected_id"] == ids(app)[3]
            return state

    state = asyncio.run(first())
    saved = ctx.store.load_ui_state(ctx.incident_id)[USERS_STATE_KEY]
    assert saved == state

    async def second() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            app.pane.restore(saved)
            await settle(pilot)
            assert app.pane.state()["filters"] == ["blocked"]
            assert app.pane.view.sort == "name" and app.pane.view.descending
            assert app.pane.current_user_id == state["selected_id"]
            assert app.query_one("#users-search").value == "person"
            assert ids(app) == expected(
                ctx, search="person", filters=frozenset({"blocked"}), sort="name", descending=True
            )
            # The whole ui_state dict (as the main screen has it) is accepted too.
            app.pane.restore({USERS_STATE_KEY: {"filters": ["admins"], "sort": "bogus"}})
            await settle(pilot)
            assert app.pane.view.filters == {"admins"} and app.pane.view.sort == "id"

    asyncio.run(second())


def no_enrichment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign-in enrichment after a load replaced by a no-op (the fake loads have no server)."""
    import console.users_load as loader

    monkeypatch.setattr(
        loader,
        "enrich_users_blocking",
        lambda *a, **k: loader.EnrichResult(0, 0, 0.0, False, None),
        raising=False,
    )


def fake_users_load(
    monkeypatch: pytest.MonkeyPatch,
    users: list[dict[str, Any]],
    on_start: Callable[[], object],
    pause: float = 0.0,
) -> None:
    """The users load replaced by pages of 100 of ``users`` (``pause`` seconds apart, stopping
    when cancelled), and sign-in enrichment by a no-op."""
    import console.users_load as loader

    def load(config, token, store, incident_id, *, on_progress=None, cancelled=None, **kw):
        on_start()
        loaded = 0
        for start in range(0, len(users), 100):
            if cancelled is not None and cancelled():
                return loader.LoadResult(loaded, start // 100, 0.1, True, None)
            store.upsert_users(incident_id, users[start : start + 100], "2024-06-01T00:00:00Z")
            loaded += min(100, len(users) - start)
            if on_progress:
                on_progress(loader.LoadProgress(loaded, len(users), start // 100 + 1, False))
            time.sleep(pause)
        return loader.LoadResult(loaded, -(-len(users) // 100), 1.0, False, None)

    monkeypatch.setattr(loader, "load_users_blocking", load)
    no_enrichment(monkeypatch)


def test_load_from_drill_streams_into_table(drill: Any, tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, url=drill.url, token=drill.ADMIN_TOKEN, window=(None, None))

    async def run() -> None:
        app = PaneApp(ctx, autoload=True)
        titles: list[str] = []
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(200):
                await pilot.pause(0.02)
                titles.append(str(app.pane.border_title))
                if not app.pane._loading and app.pane.table.row_count:
                    break
            await settle(pilot)
            total = ctx.store.count_users(ctx.incident_id)
            assert total == 2000
            assert app.pane.table.row_count == total
            assert app.pane.border_title == "Users 2,000"
            assert any("loading…" in t for t in titles)
            assert 1 in ids(app)  # root
            assert app.progress[-1].total == 2000
            # After the load: risk (with every PAT), sign-in IPs for admins, then a rescore.
            await settle(pilot, rounds=4, delay=0.2)
            assert "risk rescored" in screen_text(app), screen_text(app)
            risky = ctx.store.user_ids(ctx.incident_id, UserQuery(sort="risk", descending=True))
            top = ctx.store.get_user(ctx.incident_id, risky[0])
            assert top is not None and top.risk > 0 and top.risk_reasons
            root = ctx.store.get_user(ctx.incident_id, 1)
            assert root is not None and root.current_sign_in_ip  # enriched (admin)
            assert ctx.store.cache_get(ctx.incident_id, "tokens") is not None
            print(
                f"\n[users_pane] drill 2000 users: first rows "
                f"{app.pane.timings.get('first_rows', float('nan')) * 1000:.0f} ms, "
                f"load {app.pane.timings['load'] * 1000:.0f} ms"
            )

    asyncio.run(run())


def test_cancel_and_reload_with_a_slow_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake loader (a page every 50 ms) to test cancel (x) and reload (r) deterministically."""
    ctx = make_ctx(tmp_path)
    calls: list[str] = []
    fake_users_load(
        monkeypatch, make_users(2000), lambda: calls.append(threading.current_thread().name), 0.05
    )

    async def run() -> None:
        app = PaneApp(ctx, autoload=True)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(100):
                await pilot.pause(0.02)
                if app.pane.table.row_count:
                    break
            assert app.pane._loading
            assert "loading…" in str(app.pane.border_title)
            assert "of 2,000" in str(app.pane.border_title)
            t0 = time.perf_counter()
            await pilot.press("down")  # keys work while pages stream in
            key_ms = (time.perf_counter() - t0) * 1000
            assert app.pane.current_user_id == 2
            await pilot.press("x")
            await settle(pilot)
            assert not app.pane._loading
            partial = ctx.store.count_users(ctx.incident_id)
            assert 0 < partial < 2000
            assert "cancelled" in screen_text(app)
            await pilot.press("r")
            await settle(pilot, rounds=5, delay=0.2)
            assert ctx.store.count_users(ctx.incident_id) == 2000
            assert app.pane.table.row_count == 2000
            assert app.pane.current_user_id == 2  # the cursor stayed on its user
            assert len(calls) == 2 and all(name != "MainThread" for name in calls)
            print(f"\n[users_pane] keypress during load: {key_ms:.0f} ms")

    asyncio.run(run())


def test_an_untouched_cursor_stays_on_the_first_row_while_pages_arrive_out_of_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader streams several id ranges at once: root (id 1) may arrive after id 1001."""
    import console.users_load as loader

    ctx = make_ctx(tmp_path)
    users = make_users(2000)
    pages = [users[1000:1100], users[0:100], *(users[i : i + 100] for i in range(100, 1000, 100))]
    first_page_seen = threading.Event()

    def out_of_order(config, token, store, incident_id, *, on_progress=None, cancelled=None, **kw):
        loaded = 0
        for n, page in enumerate(pages, 1):
            store.upsert_users(incident_id, page, "2024-06-01T00:00:00Z")
            loaded += len(page)
            if on_progress:
                on_progress(loader.LoadProgress(loaded, None, n, False))
            if n == 1:
                # The first page is shown alone (the test says when it has seen it); the rest
                # land while the load goes on, root among them.
                assert first_page_seen.wait(30), "the test never saw the first page"
        return loader.LoadResult(loaded, len(pages), 1.0, False, None)

    monkeypatch.setattr(loader, "load_users_blocking", out_of_order)
    no_enrichment(monkeypatch)

    async def run() -> None:
        app = PaneApp(ctx, autoload=True)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(100):
                await pilot.pause(0.02)
                if app.pane.table.row_count:
                    break
            assert app.pane.table.row_count == 100  # only the first page is there yet
            assert app.pane.current_user_id == 1001
            first_page_seen.set()
            await settle(pilot, rounds=5)  # the load ends, its final query and risk run
            assert app.pane.table.row_count == 1100
            assert app.pane.current_user_id == 1 and app.pane.table.scroll_y == 0
            assert "▶      1 " in screen_text(app)

    asyncio.run(run())


def test_a_non_admin_token_keeps_saying_the_list_is_partial(tmp_path: Path) -> None:
    from types import SimpleNamespace

    ctx = make_ctx(tmp_path, make_users(20))
    ctx.coverage = SimpleNamespace(is_admin=False)  # type: ignore[assignment]

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert "partial list: this token is not an administrator" in screen_text(app)

    asyncio.run(run())


def test_a_non_admin_coverage_that_arrives_after_mount_still_says_the_list_is_partial(
    tmp_path: Path,
) -> None:
    from console.capabilities import Coverage

    ctx = make_ctx(tmp_path, make_users(20))  # no coverage yet: the check is still running

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.pane.table.row_count == 20)
            assert "not an administrator" not in screen_text(app)
            app.pane.coverage = Coverage(url="http://127.0.0.1:9", is_admin=False)
            await until(
                pilot,
                lambda: "partial list: this token is not an administrator" in screen_text(app),
            )

    asyncio.run(run())


def test_c_f_and_delete_act_on_the_selection_and_star_selects_the_view(tmp_path: Path) -> None:
    from screens.note import NoteScreen

    users = make_users()
    ctx = make_ctx(tmp_path, users)
    ctx.store.set_mark(ctx.incident_id, "user", 3, "flagged", "keep this note")

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("space", "space", "space")  # users 1, 2, 3 (space moves down)
            await pilot.press("c")
            await settle(pilot)
            assert not isinstance(app.screen, NoteScreen)  # no note dialog for a bulk mark
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert {u: marks[u].mark for u in (1, 2, 3)} == dict.fromkeys((1, 2, 3), "cleared")
            assert marks[3].note == "keep this note"
            assert app.pane.table.selected_keys == []
            assert "3 selected users marked cleared" in screen_text(app)
            assert app.progress[-1].reviewed == 3 and app.progress[-1].root_reviewed

            admins = [u["id"] for u in users if u["is_admin"]]
            await pilot.press("A")  # only admins, then * selects all of them, f flags them
            await settle(pilot)
            await pilot.press("asterisk")
            assert sorted(app.pane.selected_ids()) == sorted(admins)
            await pilot.press("f")
            await settle(pilot)
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert all(marks[u].mark == "flagged" for u in admins)
            assert 2 in marks and marks[2].mark == "cleared"  # outside the view: untouched
            await pilot.press("asterisk", "delete")
            await settle(pilot)
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert not any(u in marks for u in admins)

    asyncio.run(run())


def test_a_failing_sign_in_ip_fetch_is_reported_not_left_spinning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If enrichment raises (store or client failure), the status says so instead of staying on
    "fetching sign-in IPs…" forever."""
    import console.users_load as loader

    ctx = make_ctx(tmp_path)
    users = make_users(300)

    def quick_load(config, token, store, incident_id, *, on_progress=None, cancelled=None, **kw):
        store.upsert_users(incident_id, users, "2024-06-01T00:00:00Z")
        if on_progress:
            on_progress(loader.LoadProgress(len(users), len(users), 3, True))
        return loader.LoadResult(len(users), 3, 0.1, False, None)

    def broken_enrich(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(loader, "load_users_blocking", quick_load)
    monkeypatch.setattr(loader, "fetch_tokens_blocking", lambda *a, **k: [])
    monkeypatch.setattr(loader, "enrich_users_blocking", broken_enrich)

    async def run() -> None:
        app = PaneApp(ctx, autoload=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, rounds=6, delay=0.2)
            text = screen_text(app)
            assert "Sign-in IPs incomplete" in text, text
            assert "fetching sign-in IPs" not in text

    asyncio.run(run())


def test_review_at_speed_five_users_in_five_keys(tmp_path: Path) -> None:
    """`c c c f c`: each key marks the user under the cursor and moves to the next unreviewed
    one; no note box opens (C/F are the keys that ask for a note)."""
    ctx = make_ctx(tmp_path, make_users(20))
    ctx.store.set_mark(ctx.incident_id, "user", 3, "cleared")  # already reviewed: skipped

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.pane.current_user_id == 1
            await pilot.press("c", "c", "c", "f", "c")
            await settle(pilot)
            assert not isinstance(app.screen, NoteScreen)
            marks = ctx.store.marks(ctx.incident_id, "user")
            assert {k: m.mark for k, m in marks.items()} == {
                1: "cleared",
                2: "cleared",
                3: "cleared",
                4: "cleared",
                5: "flagged",
                6: "cleared",
            }
            assert all(m.note is None for m in marks.values())
            assert app.pane.current_user_id == 7
            assert app.progress[-1].reviewed == 6
            # N goes back to the previous unreviewed user (wrapping past the top), n forward.
            await pilot.press("N")
            assert app.pane.current_user_id == 20
            await pilot.press("n")
            assert app.pane.current_user_id == 7

    asyncio.run(run())


def test_n_steps_through_matches_while_a_search_is_on(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users(30))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("slash", *"user001", "enter")
            await settle(pilot, delay=0.2)
            matches = [int(k) for k in app.pane.table.keys]
            assert len(matches) > 2 and 1 not in matches
            first = app.pane.current_user_id
            assert first == matches[0]
            ctx.store.set_mark(ctx.incident_id, "user", matches[1], "cleared")
            await pilot.press("n")  # the next match, reviewed or not
            assert app.pane.current_user_id == matches[1]
            await pilot.press("N", "N")  # back, then wrap to the last match
            assert app.pane.current_user_id == matches[-1]

    asyncio.run(run())


def test_escape_is_back_close_search_then_clear_it_then_the_filters(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users(60))

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("A")
            await settle(pilot)
            await pilot.press("slash", *"user", "escape")  # 1: close the box, keep the text
            await settle(pilot, delay=0.2)
            pane = app.pane
            box = pane.query_one("#users-search")
            assert pane.view.search == "user" and pane.view.filters and not box.has_focus
            assert pane.table.has_focus
            await pilot.press("escape")  # 2: clear the search
            await settle(pilot)
            assert pane.view.search == "" and pane.view.filters == {"admins"}
            await pilot.press("escape")  # 3: clear the filters
            await settle(pilot)
            assert not pane.view.filters and len(pane.table.keys) == 60

    asyncio.run(run())


def test_the_detail_line_shows_the_whole_risk_reason(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, make_users(10))
    reasons = ["created in the incident window", "personal access token created in the window"]
    ctx.store.set_risk(ctx.incident_id, {4: (70, reasons)})

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.pane.move_to_user(4)
            await pilot.pause()
            text = screen_text(app)
            assert "Risk 70: created in the incident window; personal access token" in text

    asyncio.run(run())


def test_the_title_and_bar_follow_the_pages_without_waiting_for_a_requery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While users stream in, the count follows the pages (a few times a second, the last one
    always shown); the id list is re-queried seldom (at most every LOAD_REFRESH_S), and the
    count must not wait for it: no rows beyond the first page's are queried meanwhile."""
    from textual.widgets import ProgressBar

    import console.users_load as loader

    ctx = make_ctx(tmp_path)
    users = make_users(300)
    release = threading.Event()

    def held_load(config, token, store, incident_id, *, on_progress=None, cancelled=None, **kw):
        store.upsert_users(incident_id, users[:100], "2024-06-01T00:00:00Z")
        if on_progress:
            on_progress(loader.LoadProgress(100, 2000, 1, False))
        while not release.wait(0.02):
            if cancelled is not None and cancelled():
                return loader.LoadResult(100, 1, 0.1, True, None)
        return loader.LoadResult(100, 1, 0.1, False, None)

    monkeypatch.setattr(loader, "load_users_blocking", held_load)

    async def run() -> None:
        app = PaneApp(ctx, autoload=True)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(200):
                await pilot.pause(0.02)
                if app.pane.table.row_count:
                    break
            pane = app.pane
            assert pane._loading and pane.table.row_count == 100
            # The next pages (as the loader thread would post them), one right after another:
            # a requery is due in a second at the earliest, the count is due now.
            pane.post_message(UsersPane.UsersPageArrived(200, 2000, 2, False))
            await until(pilot, lambda: pane.border_title == "Users 200 of 2,000 loading…")
            pane.post_message(UsersPane.UsersPageArrived(300, 2000, 3, False))
            bar = pane.query_one("#users-progress", ProgressBar)
            await until(
                pilot,
                lambda: (
                    pane.border_title == "Users 300 of 2,000 loading…"
                    and (bar.progress, bar.total) == (300, 2000)
                ),
            )
            assert pane.table.row_count == 100  # the store holds 100: the count did not query
            release.set()
            await settle(pilot)

    asyncio.run(run())


@pytest.mark.parametrize("new_incident", [True, False], ids=["created now", "opened"])
def test_a_new_incident_loads_at_once_an_opened_one_asks_its_cache_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_incident: bool
) -> None:
    """An incident created by this start has nothing cached: the load starts with the pane,
    without a first query to say the cache is empty (its first page brings the first query).
    An opened one queries its cache first and loads only when that is empty."""
    import dataclasses

    from screens.panes.users import jobs

    ctx = dataclasses.replace(make_ctx(tmp_path), new_incident=new_incident)
    events: list[str] = []
    query = jobs.query

    def counting_query(*args: Any, **kwargs: Any) -> Any:
        events.append("query")
        return query(*args, **kwargs)

    monkeypatch.setattr(jobs, "query", counting_query)
    fake_users_load(monkeypatch, make_users(300), lambda: events.append("load"))

    async def run() -> None:
        app = PaneApp(ctx, autoload=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.pane.table.row_count == 300, timeout=30)
            assert events.index("load") == (0 if new_incident else 1)
            assert events.count("load") == 1

    asyncio.run(run())
