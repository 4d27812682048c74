"""Row builders, one per inventory source; the review flags they attach are in ``flags.py``.

Each builder keeps only allow-listed fields: a CI/CD variable's value never reaches a row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from console.inventory.flags import (
    ADMIN_SCOPES,
    UNUSED_DAYS,
    credential_flags,
    in_window,
    parse_window,
)
from console.inventory.model import ROTATE_HINTS, Credential
from console.secret import redact_url
from console.timeutil import parse_ts

__all__ = [
    "ADMIN_SCOPES",
    "UNUSED_DAYS",
    "UserInfo",
    "credential_flags",
    "deploy_key_row",
    "deploy_token_row",
    "hook_row",
    "parse_window",
    "runner_row",
    "token_row",
    "variable_row",
]


def _s(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _scopes(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


UserInfo = Mapping[str, Any]  # at least username; optionally bot / user_type


_RESOURCE_BOT = re.compile(r"^(project|group)_\d+_bot")


def _user_kind(info: UserInfo | None) -> str:
    """pat, bot_token (group/project access token) or service_token, from the owner."""
    if not info:
        return "pat"
    user_type = str(info.get("user_type") or info.get("kind") or "")
    username = str(info.get("username") or "")
    if user_type in ("service_account", "service"):
        return "service_token"
    if user_type in ("project_bot", "group_bot") or _RESOURCE_BOT.match(username):
        return "bot_token"
    if user_type == "bot" or info.get("bot") is True:
        # The REST user has only `bot: true`; GitLab names resource bots project_N_bot_… /
        # group_N_bot_…, so any other bot holding a PAT is a service account.
        return "service_token"
    return "pat"


def token_row(
    raw: Mapping[str, Any],
    user: UserInfo | None,
    window: tuple[datetime, datetime] | None,
    now: datetime,
) -> Credential:
    kind = "impersonation" if raw.get("impersonation") else _user_kind(user)
    revoked = bool(raw.get("revoked"))
    expires = _s(raw.get("expires_at"))
    expired = expires is not None and (parse_ts(expires) or now) <= now
    state = (
        "revoked"
        if revoked
        else "expired"
        if expired
        else ("active" if raw.get("active", True) else "inactive")
    )
    scopes = _scopes(raw.get("scopes"))
    user_id = raw.get("user_id") if isinstance(raw.get("user_id"), int) else None
    owner = (
        str(user.get("username"))
        if user and user.get("username")
        else (f"user #{user_id}" if user_id is not None else "")
    )
    extra = {"user_id": str(user_id) if user_id is not None else ""}
    if raw.get("description"):
        extra["description"] = str(raw["description"])
    ips = raw.get("last_used_ips")
    if isinstance(ips, list) and ips:
        extra["last_used_ips"] = ", ".join(str(i) for i in ips)
    flags = credential_flags(
        kind=kind,
        created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("last_used_at")),
        expires_at=expires,
        scopes=scopes,
        state=state,
        window=window,
        now=now,
        expiry_applies=True,
        tracks_use=True,
    )
    return Credential(
        kind=kind,
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        owner=owner,
        owner_type="user",
        owner_id=user_id,
        scopes=scopes,
        created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("last_used_at")),
        expires_at=expires,
        state=state,
        protected=None,
        flags=tuple(flags),
        rotate_hint=ROTATE_HINTS[kind],
        extra=extra,
    )


def deploy_key_row(
    raw: Mapping[str, Any], window: tuple[datetime, datetime] | None, now: datetime
) -> Credential:
    def paths(key: str) -> list[str]:
        items = raw.get(key)
        if not isinstance(items, list):
            return []
        return [
            str(p.get("path_with_namespace") or p.get("name") or p.get("id"))
            for p in items
            if isinstance(p, Mapping)
        ]

    write, read = paths("projects_with_write_access"), paths("projects_with_readonly_access")
    reach = write + read
    owner = reach[0] + (f" (+{len(reach) - 1})" if len(reach) > 1 else "") if reach else ""
    expires = _s(raw.get("expires_at"))
    expired = expires is not None and (parse_ts(expires) or now) <= now
    state = "expired" if expired else "active"
    scopes = ("write",) if write else ("read",)
    flags = credential_flags(
        kind="deploy_key",
        created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("last_used_at")),
        expires_at=expires,
        scopes=(),
        state=state,
        window=window,
        now=now,
        expiry_applies=True,
        tracks_use="last_used_at" in raw,
    )
    if write:
        flags.insert(0, "write access")
    extra = {
        "fingerprint_sha256": str(raw.get("fingerprint_sha256") or ""),
        "write access": ", ".join(write),
        "read-only access": ", ".join(read),
    }
    return Credential(
        kind="deploy_key",
        id=int(raw["id"]),
        name=str(raw.get("title") or ""),
        owner=owner,
        owner_type="project" if reach else "",
        owner_id=None,
        scopes=scopes,
        created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("last_used_at")),
        expires_at=expires,
        state=state,
        protected=None,
        flags=tuple(flags),
        rotate_hint=ROTATE_HINTS["deploy_key"],
        extra=extra,
    )


def deploy_token_row(
    raw: Mapping[str, Any], window: tuple[datetime, datetime] | None, now: datetime
) -> Credential:
    expires = _s(raw.get("expires_at"))
    state = "revoked" if raw.get("revoked") else "expired" if raw.get("expired") else "active"
    scopes = _scopes(raw.get("scopes"))
    flags = credential_flags(
        kind="deploy_token",
        created_at=_s(raw.get("created_at")),
        last_used_at=None,
        expires_at=expires,
        scopes=(),
        state=state,
        window=window,
        now=now,
        expiry_applies=True,
        tracks_use=False,
    )
    if any(s.startswith("write_") for s in scopes):
        flags.insert(0, "write scope")
    return Credential(
        kind="deploy_token",
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        owner="",
        owner_type="",
        owner_id=None,
        scopes=scopes,
        created_at=_s(raw.get("created_at")),
        last_used_at=None,
        expires_at=expires,
        state=state,
        protected=None,
        flags=tuple(flags),
        rotate_hint=ROTATE_HINTS["deploy_token"],
        extra={"username": str(raw.get("username") or "")},
    )


def runner_row(
    raw: Mapping[str, Any], window: tuple[datetime, datetime] | None, now: datetime
) -> Credential:
    runner_type = str(raw.get("runner_type") or "")
    state = "paused" if raw.get("paused") else str(raw.get("status") or "")
    flags = credential_flags(
        kind="runner",
        created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("contacted_at")),
        expires_at=None,
        scopes=(),
        state=state,
        window=window,
        now=now,
        expiry_applies=False,
        tracks_use=False,
    )
    if runner_type == "instance_type" or raw.get("is_shared"):
        flags.insert(0, "instance runner")
    if in_window(_s(raw.get("contacted_at")), window):
        flags.append("contacted in incident window")
    owner = {"instance_type": "instance", "group_type": "group", "project_type": "project"}.get(
        runner_type, runner_type
    )
    name = str(raw.get("description") or raw.get("name") or "")
    return Credential(
        kind="runner",
        id=int(raw["id"]),
        name=name,
        owner=owner,
        owner_type=owner,
        owner_id=None,
        scopes=(),
        created_at=_s(raw.get("created_at")),
        last_used_at=_s(raw.get("contacted_at")),
        expires_at=_s(raw.get("token_expires_at")),
        state=state,
        protected=None,
        flags=tuple(flags),
        rotate_hint=ROTATE_HINTS["runner"],
        extra={"runner_type": runner_type, "ip_address": str(raw.get("ip_address") or "")},
    )


def variable_row(
    raw: Mapping[str, Any], scope: str, owner: str, owner_id: int | None
) -> Credential:
    """Build a row from a variable **without its value** (only the allow-listed fields)."""
    key = str(raw.get("key") or "")
    env = str(raw.get("environment_scope") or "*") if scope != "instance" else ""
    kind = f"{scope}_variable"
    ident: str = key if scope == "instance" else f"{owner_id}:{key}:{env}"
    protected = bool(raw.get("protected"))
    masked, hidden = bool(raw.get("masked")), bool(raw.get("hidden"))
    flags: list[str] = []
    if protected:
        flags.append("protected variable")
    if not masked and not hidden:
        flags.append("not masked")
    if hidden:
        flags.append("hidden")
    if str(raw.get("variable_type") or "") == "file":
        flags.append("file variable")
    extra = {
        "variable_type": str(raw.get("variable_type") or "env_var"),
        "masked": str(masked).lower(),
        "hidden": str(hidden).lower(),
        "raw": str(bool(raw.get("raw"))).lower(),
    }
    if env:
        extra["environment_scope"] = env
    if raw.get("description"):
        extra["description"] = str(raw["description"])
    return Credential(
        kind=kind,
        id=ident,
        name=key,
        owner=owner,
        owner_type=scope,
        owner_id=owner_id,
        scopes=(env,) if env else (),
        created_at=None,
        last_used_at=None,
        expires_at=None,
        state="masked" if masked else "plain",
        protected=protected,
        flags=tuple(flags),
        rotate_hint=ROTATE_HINTS[kind],
        extra=extra,
    )


_HOOK_EVENT = re.compile(r"^(.*)_events$")


def hook_row(
    raw: Mapping[str, Any],
    scope: str,
    owner: str,
    owner_id: int | None,
    window: tuple[datetime, datetime] | None,
    now: datetime,
) -> Credential:
    kind = f"{scope}_hook"
    url, hidden = redact_url(str(raw.get("url") or ""))
    events = tuple(m.group(1) for k, v in raw.items() if v is True and (m := _HOOK_EVENT.match(k)))
    flags = credential_flags(
        kind=kind,
        created_at=_s(raw.get("created_at")),
        last_used_at=None,
        expires_at=None,
        scopes=(),
        state="",
        window=window,
        now=now,
        expiry_applies=False,
        tracks_use=False,
    )
    if raw.get("enable_ssl_verification") is False:
        flags.append("TLS verification off")
    if hidden:
        flags.append("credentials in URL")
    if raw.get("token_present") is False:
        flags.append("no secret token")
    name = str(raw.get("name") or "") or url
    extra = {"url": url}
    if raw.get("description"):
        extra["description"] = str(raw["description"])
    if raw.get("alert_status"):
        extra["alert_status"] = str(raw["alert_status"])
    state = "disabled" if raw.get("disabled_until") else "active"
    return Credential(
        kind=kind,
        id=int(raw["id"]),
        name=name,
        owner=owner,
        owner_type=scope if scope != "system" else "instance",
        owner_id=owner_id,
        scopes=events,
        created_at=_s(raw.get("created_at")),
        last_used_at=None,
        expires_at=None,
        state=state,
        protected=None,
        flags=tuple(flags),
        rotate_hint=ROTATE_HINTS[kind],
        extra=extra,
    )
