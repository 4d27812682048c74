"""Who is calling: the request's token, GitLab's checks on it, and its last-used stamp.

Order as in GitLab: token present and known, not revoked (a revoked token shown to a rotate
endpoint revokes its whole rotation family), not expired, account usable, scope wide enough.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from console.drill import routes_tokens
from console.drill.model import Token, User
from console.drill.state import DrillState
from console.drill.timefmt import iso
from console.drill.web import ApiError

_READ_SCOPES = frozenset({"api", "read_api"})
_WRITE_SCOPES = frozenset({"api"})
_USER_READ_PATHS = ("/user", "/users")  # `read_user` also reads user endpoints
_ROTATE = re.compile(routes_tokens.ROTATE_PATH)


def extract_token(headers: dict[str, str], query: dict[str, Any]) -> str | None:
    """The token a request carries: ``PRIVATE-TOKEN``, ``Authorization: Bearer``, or the
    ``private_token``/``access_token`` query parameter (taken out of ``query``)."""
    value = headers.get("private-token")
    if value:
        return value.strip()
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    from_query = query.pop("private_token", None) or query.pop("access_token", None)
    return str(from_query) if from_query else None


def authenticate(
    state: DrillState, value: str | None, method: str, path: str
) -> tuple[User, Token]:
    """The caller and their token, or the ``ApiError`` GitLab answers (401 for a missing,
    unknown, revoked or expired token, 403 for a blocked account or too narrow a scope)."""
    unauthorized = ApiError(401, {"message": "401 Unauthorized"})
    if not value:
        raise unauthorized
    with state.lock:
        token = state.token_by_value(value)
        user = state.users.get(token.user_id) if token is not None else None
    if token is None or user is None:
        raise unauthorized
    bearer = 'Bearer realm="", error="invalid_token", error_description='
    if token.revoked:
        if _ROTATE.match(path):
            # Automatic reuse detection: a revoked token presented to a rotate endpoint
            # revokes its whole rotation family (the attacker and the owner both lose).
            with state.lock:
                routes_tokens.revoke_family(state, token)
                state.touch()
        text = "Token was revoked. You have to re-authorize from the user."
        raise ApiError(
            401,
            {"error": "invalid_token", "error_description": text},
            {"WWW-Authenticate": f'{bearer}"{text}"'},
        )
    if token.expired(state.today()):
        text = "Token has expired."
        raise ApiError(
            401,
            {"error": "invalid_token", "error_description": text},
            {"WWW-Authenticate": f'{bearer}"{text}"'},
        )
    if user.state in ("blocked", "ldap_blocked", "banned"):
        raise ApiError(403, {"message": "403 Forbidden - Your account has been blocked."})
    if user.state == "blocked_pending_approval":
        raise ApiError(
            403,
            {
                "message": "403 Forbidden - Your account is pending approval "
                "from your administrator and hence blocked."
            },
        )
    if user.state == "deactivated":
        raise ApiError(
            403,
            {
                "message": "403 Forbidden - Your account has been deactivated "
                "by your administrator. Please log back in to "
                "reactivate your account."
            },
        )
    scopes = set(token.scopes)
    if method == "GET":
        allowed = bool(scopes & _READ_SCOPES) or (
            "read_user" in scopes and path.startswith(_USER_READ_PATHS)
        )
        needed = "read_api"
    else:
        allowed = bool(scopes & _WRITE_SCOPES)
        needed = "api"
    if not allowed:
        raise ApiError(
            403,
            {
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided "
                "by the access token.",
                "scope": needed,
            },
        )
    return user, token


def touch_token(state: DrillState, token: Token, ip: str) -> None:
    """GitLab refreshes ``last_used_at`` at most once a minute and keeps ≤5 recent IPs."""
    now = state.current_time()
    stale = iso(now - timedelta(minutes=1)) or ""
    if token.last_used_at is None or token.last_used_at < stale:
        token.last_used_at = iso(now)
    if ip in token.last_used_ips:
        token.last_used_ips.remove(ip)
    token.last_used_ips.insert(0, ip)
    del token.last_used_ips[5:]
