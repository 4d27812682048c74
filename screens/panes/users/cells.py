"""The users table's columns and cells, and the one-line risk explanation under the table.

Pure functions of a ``UserRow``: every server string goes through ``safe_cell``.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text

from console.store import UserRow
from screens.panes.base import detail_text
from screens.safe import safe_cell
from screens.widgets.virtual_table import Column

__all__ = ["COLUMNS", "risk_explanation", "user_cells"]

COLUMNS: Final = (
    Column("id", "ID", 6, justify="right"),
    Column("username", "Username", 12, flex=3),
    Column("name", "Name", 10, priority=3, flex=2),
    Column("state", "State", 7, priority=1),
    Column("is_admin", "Adm", 3),
    Column("two_factor", "2FA", 3),
    Column("kind", "Typ", 3, priority=2),
    Column("created_at", "Created", 10, priority=5),
    Column("current_sign_in_at", "Sign-in", 10, priority=2),
    Column("last_activity_on", "Active", 10, priority=6),
    Column("risk", "Risk", 4, justify="right"),
    Column("mark", "Review", 7),
)

_STATE_SHORT: Final = {
    "active": "active",
    "blocked": "blocked",
    "banned": "banned",
    "deactivated": "deactiv",
    "ldap_blocked": "ldapblk",
    "blocked_pending_approval": "pending",
}
_KIND_SHORT: Final = {"human": "", "bot": "bot", "service": "svc"}


def _date(value: str | None) -> Text:
    if not value:
        return Text("—", style="dim")
    return safe_cell(value[:10], max_cells=10)


def _risk_cell(score: int) -> Text:
    if score <= 0:
        return Text("·", style="dim")
    style = "bold red" if score >= 50 else "yellow" if score >= 20 else ""
    return Text(str(score), style=style)


def _mark_cell(mark: str | None, note: str | None) -> Text:
    suffix = "✎" if note else ""
    if mark == "cleared":
        return Text(f"✓ clr{suffix}", style="green")
    if mark == "flagged":
        return Text(f"⚑ FLAG{suffix}", style="bold red")
    return Text("·", style="dim")


def user_cells(user: UserRow) -> dict[str, Text]:
    """Sanitised cells for one user row (every server string through ``safe_cell``)."""
    state = user.state or ""
    state_text = _STATE_SHORT.get(state)
    if state_text is None:
        state_cell = safe_cell(state, max_cells=7)
    else:
        state_cell = Text(state_text, style="" if state == "active" else "bold red")
    if user.two_factor is None:
        tfa = Text("?", style="dim")
    elif user.two_factor:
        tfa = Text("on", style="green")
    else:
        tfa = Text("off", style="yellow" if user.kind == "human" else "dim")
    return {
        "id": Text(str(user.id)),
        "username": safe_cell(user.username, kind="username"),
        "name": safe_cell(user.name, kind="name"),
        "state": state_cell,
        "is_admin": Text("ADM", style="bold magenta") if user.is_admin else Text(""),
        "two_factor": tfa,
        "kind": Text(_KIND_SHORT.get(user.kind, user.kind[:3]), style="cyan"),
        "created_at": _date(user.created_at),
        "current_sign_in_at": _date(user.current_sign_in_at or user.last_sign_in_at),
        "last_activity_on": _date(user.last_activity_on),
        "risk": _risk_cell(user.risk),
        "mark": _mark_cell(user.mark, user.note),
    }


def risk_explanation(user: UserRow) -> Text:
    """The row's risk score and every reason for it, for the line under the table."""
    if user.risk <= 0 or not user.risk_reasons:
        text = detail_text(f"Risk {max(user.risk, 0)}", "no risk signals")
    else:
        text = detail_text(f"Risk {user.risk}", "; ".join(user.risk_reasons))
    if user.note:
        text.append("  ")
        text.append_text(detail_text("Note", user.note))
    return text
