"""Each pane's "current view" export: rows after the pane's filters, with the export columns."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from console.audit import AuditEvent, AuditFilter
from console.export import USER_EXPORT_COLUMNS
from console.store import Mark, Store
from screens.export_views import view_of
from screens.panes.users.view import UsersView


def _event(i: int, name: str) -> AuditEvent:
    return AuditEvent(i, f"2026-03-0{i}T00:00:00Z", 5, "mallory", "User", 5, "mallory", name,
                      "auth", "User", "9", "victim", "203.0.113.9", "")


def test_views_follow_the_panes_filters(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None,
                                None)
    store.upsert_users(inc.id, [{"id": i, "username": n} for i, n in
                                ((1, "root"), (2, "bob"), (3, "bobby"), (4, "alice"))],
                       "2026-01-01T00:00:00Z")
    ctx = SimpleNamespace(store=store, incident=inc)

    users = view_of("users", SimpleNamespace(view=UsersView(search="bob")), ctx)
    assert users is not None and users[2] == USER_EXPORT_COLUMNS
    rows = users[1]
    assert callable(rows)
    assert [r["username"] for r in rows()] == ["bob", "bobby"]

    pane = SimpleNamespace(events=[_event(1, "user_blocked"), _event(2, "user_created")],
                           filter=AuditFilter(search="created"))
    audit = view_of("audit", pane, ctx)
    assert audit is not None and [r["event_name"] for r in audit[1]] == ["user_created"]

    cred = SimpleNamespace(key="pat:1", to_dict=lambda: {"kind": "pat", "id": 1, "name": "ci",
                                                         "value": "never"})
    other = SimpleNamespace(key="pat:2", to_dict=lambda: {"kind": "pat", "id": 2})
    pane = SimpleNamespace(rows=[cred, other], matches=lambda r: r is cred,
                           marks={"pat:1": Mark("credential", "pat:1", "flagged", "leaked",
                                                "t")})
    creds = view_of("credentials", pane, ctx)
    assert creds is not None
    [row] = creds[1]
    assert row["name"] == "ci" and row["mark"] == "flagged" and "value" not in row

    assert view_of("journal", SimpleNamespace(shown=[{"id": 1, "action": "block_user"}]),
                   ctx) is not None
    assert view_of("users", SimpleNamespace(), ctx) is None
