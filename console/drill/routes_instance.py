"""Instance-wide endpoints: application settings (changes audited), version and metadata,
statistics and the licence.
"""

from __future__ import annotations

from typing import Any

from console.drill.state import DrillState
from console.drill.web import ApiError, Ctx, Registry, Response, json_response

routes = Registry()


@routes("GET", r"/application/settings")
def get_settings(ctx: Ctx) -> Response:
    ctx.require_admin()
    return json_response(dict(ctx.state.settings))


@routes("PUT", r"/application/settings")
def put_settings(ctx: Ctx) -> Response:
    ctx.require_admin()
    settings = ctx.state.settings
    changed: list[tuple[str, Any, Any]] = []
    for key, raw in ctx.params.items():
        if key not in settings or key in ("id", "created_at", "updated_at"):
            continue
        current = settings[key]
        value: Any
        if isinstance(current, bool):
            value = ctx.bool_param(key)
        elif isinstance(current, int):
            value = ctx.int_param(key)
            if key == "two_factor_grace_period" and value is not None and value < 0:
                raise ApiError(400, {"message": {key: ["must be greater than or equal to 0"]}})
        elif isinstance(current, list):
            value = raw if isinstance(raw, list) else [v for v in str(raw).split(",") if v]
        else:
            value = raw
        if value != current:
            changed.append((key, current, value))
            settings[key] = value
    if changed:
        settings["updated_at"] = ctx.state.now_iso()
    for key, old, new in changed:
        ctx.state.add_audit(
            author=ctx.caller,
            entity_type="Gitlab::Audit::InstanceScope",
            entity_id=1,
            event_name="application_setting_updated",
            message=f"Changed {key} from {_text(old)} to {_text(new)}",
            ip=ctx.ip,
            extra={"change": key, "from": _text(old), "to": _text(new)},
            entity_path="gitlab_instance",
        )
    return json_response(dict(settings))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return ""
    return str(value)


def _metadata(state: DrillState) -> dict[str, Any]:
    return {
        "version": state.version,
        "revision": state.revision,
        "kas": {
            "enabled": False,
            "externalUrl": None,
            "externalK8sProxyUrl": None,
            "version": None,
        },
        "enterprise": True,
    }


@routes("GET", r"/version")
def version(ctx: Ctx) -> Response:
    return json_response(_metadata(ctx.state))


@routes("GET", r"/metadata")
def metadata(ctx: Ctx) -> Response:
    return json_response(_metadata(ctx.state))


def _approx(n: int) -> str:
    return f"{n:,}"


@routes("GET", r"/application/statistics")
def statistics(ctx: Ctx) -> Response:
    ctx.require_admin()
    state = ctx.state
    keys = sum(len(v) for v in state.ssh_keys.values())
    # Bulk users' keys are lazy; estimate them as GitLab's approximate counts do.
    keys += sum(1 for u in state.user_order[state.seeded_max_id :] if u.id not in state._detailed)
    return json_response(
        {
            "forks": _approx(3),
            "issues": _approx(len(state.users) * 3),
            "merge_requests": _approx(len(state.users) * 2),
            "notes": _approx(len(state.users) * 11),
            "snippets": _approx(42),
            "ssh_keys": _approx(keys),
            "milestones": _approx(64),
            "users": _approx(len(state.users)),
            "groups": _approx(len(state.groups)),
            "projects": _approx(len(state.projects)),
            "active_users": _approx(sum(1 for u in state.user_order if u.state == "active")),
        }
    )


@routes("GET", r"/license", tier="premium")
def license_info(ctx: Ctx) -> Response:
    ctx.require_admin()
    return json_response(
        {
            "id": 1,
            "plan": ctx.state.tier,
            "expired": False,
            "user_limit": 0,
            "active_users": len(ctx.state.users),
            "licensee": {"Name": "ACME Corp (drill)"},
        }
    )
