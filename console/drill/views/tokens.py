"""Token entities: personal/impersonation and resource access tokens, deploy tokens, OAuth
applications. A secret value appears only where GitLab shows it once (``with_token``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from console.drill.model import DeployToken, OAuthApp, Token
from console.drill.timefmt import iso


def pat(t: Token, *, with_token: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "revoked": t.revoked,
        "created_at": t.created_at,
        "description": t.description,
        "scopes": list(t.scopes),
        "user_id": t.user_id,
        "last_used_at": t.last_used_at,
        "active": not t.revoked and not _expired(t),
        "expires_at": t.expires_at,
        "last_used_ips": list(t.last_used_ips),
    }
    if t.impersonation:
        data["impersonation"] = True
    if with_token:
        data["token"] = t.value
    return data


def _expired(t: Token) -> bool:
    return t.expires_at is not None and date.fromisoformat(t.expires_at) <= datetime.now(UTC).date()


def resource_token(t: Token, *, with_token: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "user_id": t.user_id,
        "active": not t.revoked and not _expired(t),
        "granular": False,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked": t.revoked,
        "access_level": t.access_level or 40,
        "scopes": list(t.scopes),
        "last_used_at": t.last_used_at,
        "resource_type": t.resource_type or "project",
        "resource_id": t.resource_id or 0,
    }
    if with_token:
        data["token"] = t.value
    return data


def deploy_token(t: DeployToken, *, with_token: bool = False) -> dict[str, Any]:
    expired = t.expires_at is not None and t.expires_at <= (iso(datetime.now(UTC)) or "")
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "username": t.username,
        "expires_at": t.expires_at,
        "scopes": list(t.scopes),
        "revoked": t.revoked,
        "expired": expired,
    }
    if with_token:
        data["token"] = t.token
    return data


def oauth_app(a: OAuthApp) -> dict[str, Any]:
    """``GET /applications`` row: the secret is never listed (only POST returns it once)."""
    return {
        "id": a.id,
        "application_id": a.application_id,
        "application_name": a.name,
        "callback_url": a.callback_url,
        "confidential": a.confidential,
    }
