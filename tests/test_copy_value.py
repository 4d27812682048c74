"""``y`` copies what the table shows, never a secret (screens/copy_value.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rich.text import Text
from textual.widget import Widget

from screens.copy_value import copyable_value


class Pane(Widget):
    def __init__(self, **attrs: Any) -> None:
        super().__init__()
        for name, value in attrs.items():
            setattr(self, name, value)


def test_username_from_the_users_table_without_our_warning_flag() -> None:
    table = SimpleNamespace(
        cursor_key=7,
        _provider=lambda keys: {7: {"username": Text("⚠ mchen"), "id": Text("7")}},
    )
    assert copyable_value(Pane(table=table)) == "mchen"


def test_audit_event_ip_else_event_name_and_credential_id() -> None:
    event = SimpleNamespace(ip_address="203.0.113.9", event_name="user_signed_in")
    assert copyable_value(Pane(selected_event=lambda: event)) == "203.0.113.9"
    quiet = SimpleNamespace(ip_address="", event_name="user_signed_in")
    assert copyable_value(Pane(selected_event=lambda: quiet)) == "user_signed_in"
    token = SimpleNamespace(id=42, kind="personal_access_token")
    assert copyable_value(Pane(selected_row=lambda: token)) == "42"


def test_never_a_token_and_never_control_characters() -> None:
    secret = "glpat-" + "A" * 20
    assert copyable_value(Pane(copy_value=lambda: secret)) is None
    copied = copyable_value(Pane(copy_value=lambda: "evil\x1b]52;c;bad\x07"))
    assert copied is not None and "\x1b" not in copied and "\x07" not in copied
    assert copyable_value(Pane()) is None
