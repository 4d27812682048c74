"""Each pane's "current view" export: rows after the pane's filters, with the export columns.

Real pane objects over a real store (not mounted: the export reads only what they hold); the
credentials pane's export is checked mounted in tests/tui/test_credentials_pane.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from textual.widget import Widget

from console.export import USER_EXPORT_COLUMNS
from screens.export_views import view_of
from screens.journal_view import JournalView
from screens.panes.users import UsersPane
from screens.panes.users.view import UsersView
from tests.tui.test_users_pane import make_ctx


def test_views_follow_the_panes_filters(tmp_path: Path) -> None:
    ctx = make_ctx(
        tmp_path,
        [
            {"id": i, "username": n}
            for i, n in ((1, "root"), (2, "bob"), (3, "bobby"), (4, "alice"))
        ],
    )

    users = UsersPane(ctx, autoload=False)
    users.view = UsersView(search="bob")
    exported = view_of("users", users, ctx)
    assert exported is not None and exported[2] == USER_EXPORT_COLUMNS
    rows = exported[1]
    assert callable(rows)
    assert [r["username"] for r in rows()] == ["bob", "bobby"]

    journal = JournalView(SimpleNamespace(store=ctx.store, incident=ctx.incident))
    journal.shown = [{"id": 1, "action": "block_user"}]
    exported = view_of("journal", journal, ctx)
    assert exported is not None and exported[1] == [
        {c: ({"id": 1, "action": "block_user"}).get(c) for c in exported[2]}
    ]

    assert view_of("users", Widget(), ctx) is None  # not a pane that exports


def test_the_audit_view_exports_its_matching_events_from_the_store(tmp_path: Path) -> None:
    from console.audit.view import AuditView
    from console.export import EVENT_COLUMNS
    from screens.panes.audit import AuditPane

    ctx = make_ctx(tmp_path, [{"id": 1, "username": "root"}])
    ctx.store.upsert_events(
        ctx.incident_id,
        "instance",
        [
            {
                "id": i,
                "created_at": f"2026-11-0{i}T10:00:00Z",
                "author_name": who,
                "event_name": "add_ssh_key",
                "ip_address": ip,
                "categories": ["KEY"],
            }
            for i, who, ip in (
                (1, "mchen", "203.0.113.66"),
                (2, "alice", "10.0.0.2"),
                (3, "mchen", "203.0.113.66"),
            )
        ],
    )
    audit = AuditPane(ctx, load_on_mount=False)
    audit.view = AuditView(ip="203.0.113.66")
    exported = view_of("audit", audit, ctx)
    assert exported is not None and exported[0] == "audit_events"
    assert exported[2] == EVENT_COLUMNS
    rows = exported[1]
    assert callable(rows)
    assert [r["id"] for r in rows()] == [3, 1]  # newest first, only the filtered IP
