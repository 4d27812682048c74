"""``y`` copies what the screen shows, never a secret (screens/copy_value.py).

Real panes with the snapshot tests' fixed data, and the journal view over a real journal.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget

from console.store import Store
from screens.copy_value import copyable_value
from screens.journal_view import JournalView
from screens.panes.audit import AuditPane
from screens.panes.credentials import CredentialsPane
from screens.panes.users import UsersPane
from tests.pilot_helpers import settle_workers
from tests.tui.test_snapshots import _audit_app, _credentials_app, _users_app, users_ready
from tests.tui.test_users_pane import make_ctx


def _run(app: App[None], before: Any, check: Any) -> None:
    async def go() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await before(pilot)
            check(app)

    asyncio.run(go())


def test_the_username_of_the_highlighted_user_without_our_warning_flag(tmp_path: Path) -> None:
    def check(app: App[None]) -> None:
        pane = app.query_one(UsersPane)
        row = pane.ctx.store.get_user(pane.ctx.incident_id, pane.current_user_id)
        assert row is not None
        copied = copyable_value(pane)
        assert copied == row.username, (copied, row.username)

    _run(_users_app(tmp_path), users_ready, check)


def test_the_audit_events_ip_and_the_credentials_id(tmp_path: Path) -> None:
    app, loaded = _audit_app(make_ctx(tmp_path))

    def audit(app: App[None]) -> None:
        pane = app.query_one(AuditPane)
        event = pane.selected_event()
        assert event is not None
        assert copyable_value(pane) == str(event.ip_address or event.event_name or event.id)

    _run(app, loaded, audit)

    app, loaded = _credentials_app(make_ctx(tmp_path / "c"))

    def credentials(app: App[None]) -> None:
        pane = app.query_one(CredentialsPane)
        row = pane.selected_row()
        assert row is not None and copyable_value(pane) == str(row.id)

    _run(app, loaded, credentials)


def test_the_journal_view_copies_the_chains_head(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    incident = store.create_incident(
        "t", "compromised-account", None, "https://g.example", "2026-03-01", None
    )
    entry = store.journal_intent(incident.id, "block_user", "user", 10, "jlee", {}, None)
    store.journal_update(entry, "sent", http_status=201, request_id="req-10")
    store.journal_update(entry, "done")
    ctx = SimpleNamespace(store=store, incident=incident)  # all the view reads

    class JournalApp(App[None]):
        def compose(self) -> ComposeResult:
            yield JournalView(ctx)

    async def loaded(pilot: Any) -> None:
        await settle_workers(pilot.app, pilot)

    def check(app: App[None]) -> None:
        view = app.query_one(JournalView)
        assert view.check is not None and view.check.ok
        assert copyable_value(view) == view.check.head
        assert len(view.check.head) >= 16

    _run(JournalApp(), loaded, check)


class Says(Widget):
    """A pane that says itself what ``y`` copies (the ``CopiesValue`` protocol)."""

    def __init__(self, value: str | None) -> None:
        super().__init__()
        self.value = value

    def copy_value(self) -> str | None:
        return self.value


def test_never_a_token_and_never_control_characters() -> None:
    assert copyable_value(Says("glpat-" + "A" * 20)) is None
    copied = copyable_value(Says("evil\x1b]52;c;bad\x07"))
    assert copied is not None and "\x1b" not in copied and "\x07" not in copied
    assert copyable_value(Says(None)) is None
    assert copyable_value(Widget()) is None
