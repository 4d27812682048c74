"""Layout snapshots of the main screens (pytest-textual-snapshot), at 80x24 and 160x50.

Behaviour is asserted with text elsewhere; these catch what only a rendered screen shows:
columns that fit 80 cells, the detail line under the table, hostile text drawn as visible
stand-ins, badges, and legibility under ``NO_COLOR``.  Review an SVG diff before
``pytest --snapshot-update``; regenerate only on the pinned Textual.

Determinism: the data is fixed (users from ``make_users``, events and credentials from the pane
tests), fetch times are fixed strings, no load runs (``autoload=False``), the drill is not used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from console.audit import AuditEvent
from console.context import AppContext
from screens.help import HelpScreen, collect_bindings
from screens.panes.audit import AuditPane
from screens.panes.credentials import CredentialsPane
from screens.panes.users import UsersPane
from styles import stylesheet
from tests.pilot_helpers import until
from tests.tui.test_untrusted_text_ui import hostile_dossier, hostile_users
from tests.tui.test_users_pane import make_ctx, settle

SIZES = [(80, 24), (160, 50)]
FETCHED = "2024-06-01T12:00:00Z"
NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
STYLES = [stylesheet(n) for n in ("app.tcss", "panes.tcss", "users.tcss", "dossier.tcss")]


class OnePane(App[None]):
    """One pane, with the app's stylesheets."""

    CSS_PATH = STYLES

    def __init__(self, make: Any) -> None:
        super().__init__()
        self._make = make

    def compose(self) -> ComposeResult:
        yield self._make()


async def users_ready(pilot: Pilot[None]) -> None:
    """The first query landed and its status line is up (also on a loaded 2-core machine)."""
    await settle(pilot)
    pane = pilot.app.query_one(UsersPane)
    for _ in range(100):
        status = str(pane.query_one("#users-status").render())
        if pane.table.row_count == 30 and "from the local cache" in status:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def _users_app(tmp_path: Path) -> OnePane:
    ctx = make_ctx(tmp_path, hostile_users())
    ctx.store.set_risk(
        ctx.incident_id,
        {
            3: (60, ["reason \x1b]52;c;eA==\x07 [/b]"]),
            1: (20, ["administrator without a review mark"]),
        },
    )
    ctx.store.set_mark(ctx.incident_id, "user", 4, "flagged", "asked to rotate")
    return OnePane(lambda: UsersPane(ctx, autoload=False))


def _events() -> list[AuditEvent]:
    from console.audit import normalize_event
    from tests.tui.test_audit_pane import EVENTS

    return [e for e in (normalize_event(raw) for raw in EVENTS) if e is not None]


def _audit_app(ctx: AppContext) -> tuple[OnePane, Any]:
    ctx.store.upsert_events(ctx.incident_id, "instance", [e.to_dict() for e in _events()])
    app = OnePane(lambda: AuditPane(ctx, load_on_mount=False))

    async def loaded(pilot: Pilot[None]) -> None:
        pane = pilot.app.query_one(AuditPane)
        await until(pilot, lambda: pane.rids is not None and bool(pane.counts))
        await settle(pilot)
        pane.table.focus()
        await pilot.press("down", "down")

    return app, loaded


def _credentials_app(ctx: AppContext) -> tuple[OnePane, Any]:
    from console.inventory import fetch_inventory
    from console.inventory.store_load import FETCHED_KINDS, credential_record
    from tests.tui.test_credentials_pane import _server

    app = OnePane(lambda: CredentialsPane(ctx, load_on_mount=False))
    window = ("2025-05-05T12:00:00Z", "2025-05-10T12:00:00Z")
    rows = list(fetch_inventory(_server(), window, now=NOW).rows)  # frozen clock: "expired"

    async def loaded(pilot: Pilot[None]) -> None:
        pane = pilot.app.query_one(CredentialsPane)
        ctx.store.replace_credentials(
            ctx.incident_id,
            [credential_record(r) for r in rows],
            kinds=FETCHED_KINDS,
            fetched_at=FETCHED,
        )
        pane.start()
        await settle(pilot)
        pane.table.focus()
        pane.table.move_to_key("pat:9")
        await settle(pilot)

    return app, loaded


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_users_pane_with_hostile_rows(snap_compare: Any, tmp_path: Path, size: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await users_ready(pilot)
        await pilot.press("down", "down")  # user 3: the hostile risk reason in the detail line
        await pilot.pause()

    assert snap_compare(_users_app(tmp_path), terminal_size=size, run_before=run_before)


def test_users_pane_under_no_color(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    assert snap_compare(_users_app(tmp_path), terminal_size=(80, 24), run_before=users_ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_audit_pane(snap_compare: Any, tmp_path: Path, size: Any) -> None:
    app, loaded = _audit_app(make_ctx(tmp_path))
    assert snap_compare(app, terminal_size=size, run_before=loaded)


def test_audit_pane_filter_with_no_match(snap_compare: Any, tmp_path: Path) -> None:
    app, loaded = _audit_app(make_ctx(tmp_path))

    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("p")  # Repositories: none in this window; the bar says so

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_credentials_pane(snap_compare: Any, tmp_path: Path, size: Any) -> None:
    app, loaded = _credentials_app(make_ctx(tmp_path))
    assert snap_compare(app, terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dossier_with_hostile_sections(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: Any
) -> None:
    import console.dossier as dossier_module

    app = _users_app(tmp_path)
    monkeypatch.setattr(dossier_module, "fetch_dossier", lambda gl, uid, w: hostile_dossier(uid, w))
    monkeypatch.setattr(AppContext, "gitlab", lambda self: object())

    async def run_before(pilot: Pilot[None]) -> None:
        await users_ready(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_over_the_users_pane(snap_compare: Any, tmp_path: Path, size: Any) -> None:
    app = _users_app(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await users_ready(pilot)
        await pilot.app.push_screen(HelpScreen(collect_bindings(pilot.app.screen)))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
