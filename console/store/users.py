"""The users cache's vocabulary: row and query types, filter names, and GitLab JSON → columns.

One row per GitLab user per incident; :mod:`console.store.user_cache` writes and reads the rows,
:mod:`console.store.user_queries` filters, searches and sorts them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from console.store.values import dbstr, opt_bool, opt_int
from console.timeutil import normalize_ts

__all__ = [
    "BLOCKED_STATES",
    "BOT_USER_TYPES",
    "FILTERS",
    "SORT_KEYS",
    "UPSERT_USERS",
    "USER_COLUMNS",
    "USER_FROM",
    "USER_SELECT",
    "USER_SELECT_COLUMNS",
    "UserQuery",
    "UserRow",
    "row_to_user",
    "user_kind",
    "user_values",
]

BLOCKED_STATES: Final = (
    "blocked",
    "banned",
    "deactivated",
    "ldap_blocked",
    "blocked_pending_approval",
)
BOT_USER_TYPES: Final = frozenset(
    {
        "project_bot",
        "group_bot",
        "alert_bot",
        "support_bot",
        "visual_review_bot",
        "migration_bot",
        "security_bot",
        "automation_bot",
        "security_policy_bot",
        "admin_bot",
        "suggested_reviewers_bot",
        "llm_bot",
        "duo_code_review_bot",
        "ghost",
        "import_user",
        "placeholder",
        "service_user",
    }
)
FILTERS: Final = frozenset(
    {
        "admins",
        "no_2fa",
        "bots",
        "blocked",
        "created_in_window",
        "signed_in_in_window",
        "unreviewed",
        "flagged",
        "cleared",
        "risky",
    }
)


def user_kind(user: Mapping[str, Any]) -> Literal["human", "bot", "service"]:
    """``service`` for service accounts, ``bot`` for bot/internal users, else ``human``."""
    user_type = user.get("user_type")
    if user_type == "service_account":
        return "service"
    # The users API does not expose user_type, and service accounts answer bot: true. GitLab
    # names them service_account_<hex> (instance) or service_account_group_<id>_<hex> unless a
    # username was given, so the generated prefix is the signal the list response carries.
    username = user.get("username")
    if user.get("bot") and isinstance(username, str) and username.startswith("service_account_"):
        return "service"
    if user.get("bot") or user_type in BOT_USER_TYPES:
        return "bot"
    return "human"


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    name: str
    email: str | None
    state: str | None
    is_admin: bool
    two_factor: bool | None
    kind: str
    user_type: str | None
    external: bool | None
    created_at: str | None
    last_sign_in_at: str | None
    current_sign_in_at: str | None
    last_activity_on: str | None
    current_sign_in_ip: str | None
    last_sign_in_ip: str | None
    sign_in_count: int | None
    risk: int
    risk_reasons: tuple[str, ...]
    mark: str | None
    note: str | None


USER_COLUMNS: Final[tuple[str, ...]] = tuple(UserRow.__dataclass_fields__)
SORT_KEYS: Final = frozenset(USER_COLUMNS) | {"risk", "mark"}


@dataclass(frozen=True, slots=True)
class UserQuery:
    search: str = ""
    filters: frozenset[str] = frozenset()
    sort: str = "id"
    descending: bool = False
    window: tuple[str, str] | None = None


#: What :func:`row_to_user` reads, in its order, and where from.
USER_SELECT_COLUMNS: Final = (
    "u.id, u.username, u.name, u.email, u.state, u.is_admin, u.two_factor, u.kind, "
    "u.user_type, u.external, u.created_at, u.last_sign_in_at, u.current_sign_in_at, "
    "u.last_activity_on, u.current_sign_in_ip, u.last_sign_in_ip, u.sign_in_count, u.risk, "
    "u.risk_reasons, m.mark, m.note"
)
USER_FROM: Final = (
    "FROM users u LEFT JOIN marks m "
    "ON m.incident_id = u.incident_id AND m.object_type = 'user' AND m.object_id = +u.id "
)
USER_SELECT: Final = f"SELECT {USER_SELECT_COLUMNS} {USER_FROM}"


def row_to_user(r: Sequence[Any]) -> UserRow:
    return UserRow(
        id=r[0],
        username=r[1],
        name=r[2],
        email=r[3],
        state=r[4],
        is_admin=bool(r[5]),
        two_factor=None if r[6] is None else bool(r[6]),
        kind=r[7],
        user_type=r[8],
        external=None if r[9] is None else bool(r[9]),
        created_at=r[10],
        last_sign_in_at=r[11],
        current_sign_in_at=r[12],
        last_activity_on=r[13],
        current_sign_in_ip=r[14],
        last_sign_in_ip=r[15],
        sign_in_count=r[16],
        risk=r[17],
        risk_reasons=() if r[18] == "[]" else tuple(json.loads(r[18])),
        mark=r[19],
        note=r[20],
    )


def user_values(
    incident_id: int, user: Mapping[str, Any], fetched_at: str | None
) -> tuple[Any, ...]:
    username = dbstr(user.get("username")) or ""
    name = dbstr(user.get("name")) or ""
    email = dbstr(user.get("email"))
    search = "\n".join((username, name, email or "")).casefold()
    two_factor = user.get("two_factor_enabled", user.get("two_factor"))
    return (
        incident_id,
        opt_int(user.get("id")),
        username,
        name,
        email,
        dbstr(user.get("state")),
        1 if user.get("is_admin") else 0,
        opt_bool(two_factor),
        user_kind(user),
        dbstr(user.get("user_type")),
        opt_bool(user.get("external")),
        normalize_ts(user.get("created_at")),
        normalize_ts(user.get("last_sign_in_at")),
        normalize_ts(user.get("current_sign_in_at")),
        dbstr(user.get("last_activity_on")),
        dbstr(user.get("current_sign_in_ip")),
        dbstr(user.get("last_sign_in_ip")),
        opt_int(user.get("sign_in_count")),
        search,
        fetched_at,
    )


UPSERT_USERS: Final = """
INSERT INTO users (incident_id, id, username, name, email, state, is_admin, two_factor, kind,
                   user_type, external, created_at, last_sign_in_at, current_sign_in_at,
                   last_activity_on, current_sign_in_ip, last_sign_in_ip, sign_in_count,
                   search_text, fetched_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (incident_id, id) DO UPDATE SET
    username = excluded.username,
    name = excluded.name,
    email = coalesce(excluded.email, users.email),
    state = excluded.state,
    is_admin = excluded.is_admin,
    two_factor = coalesce(excluded.two_factor, users.two_factor),
    kind = excluded.kind,
    user_type = coalesce(excluded.user_type, users.user_type),
    external = coalesce(excluded.external, users.external),
    created_at = coalesce(excluded.created_at, users.created_at),
    last_sign_in_at = coalesce(excluded.last_sign_in_at, users.last_sign_in_at),
    current_sign_in_at = coalesce(excluded.current_sign_in_at, users.current_sign_in_at),
    last_activity_on = coalesce(excluded.last_activity_on, users.last_activity_on),
    current_sign_in_ip = coalesce(excluded.current_sign_in_ip, users.current_sign_in_ip),
    last_sign_in_ip = coalesce(excluded.last_sign_in_ip, users.last_sign_in_ip),
    sign_in_count = coalesce(excluded.sign_in_count, users.sign_in_count),
    search_text = CASE WHEN excluded.email IS NULL AND users.email IS NOT NULL
                       THEN excluded.search_text || py_casefold(users.email)
                       ELSE excluded.search_text END,
    fetched_at = coalesce(excluded.fetched_at, users.fetched_at)
"""
