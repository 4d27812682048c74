"""CI/CD variables API at instance (``admin/ci``), group and project level."""

from __future__ import annotations

from typing import Any

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for, scope_entity
from console.drill.model import Variable
from console.drill.paging import paginate_offset, refuse_keyset
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    json_response,
    message_error,
    missing_param,
    no_content,
    not_found,
)

routes = Registry()


_VAR_SCOPES = {"admin/ci": "instance", "groups": "group", "projects": "project"}
_VAR_BASE = r"/(?P<scope>admin/ci|groups/(?P<gid>[^/]+)|projects/(?P<pid>[^/]+))/variables"
_VAR_EVENTS = {
    "instance": "ci_instance_variable",
    "group": "ci_group_variable",
    "project": "ci_variable",
}


def _var_owner(ctx: Ctx) -> tuple[str, int]:
    if ctx.path.startswith("/admin/"):
        ctx.require_admin()
        return "instance", 0
    if ctx.path.startswith("/groups/"):
        # Stricter choice: group variables need Owner (some versions allow Maintainer).
        return "group", group_for(ctx, OWNER, key="gid").id
    return "project", project_for(ctx, MAINTAINER, key="pid").id


def _vars(ctx: Ctx, scope: str, owner: int) -> list[Variable]:
    return [v for v in ctx.state.variables if v.scope == scope and v.owner_id == owner]


def _one_var(ctx: Ctx, scope: str, owner: int) -> Variable:
    key = ctx.match.get("key", "")
    rows = [v for v in _vars(ctx, scope, owner) if v.key == key]
    env = ctx.params.get("filter[environment_scope]")
    if isinstance(ctx.params.get("filter"), dict):
        env = ctx.params["filter"].get("environment_scope")
    if env is not None:
        rows = [v for v in rows if v.environment_scope == env]
    if not rows:
        raise not_found("Variable")
    if len(rows) > 1:
        raise message_error(
            409,
            "There are multiple variables with provided parameters. "
            "Please use 'filter[environment_scope]'",
        )
    return rows[0]


def _check_masked(value: str) -> None:
    if len(value) < 8 or any(c.isspace() for c in value):
        raise ApiError(400, {"message": {"value": ["is invalid"]}})


def _audit_var(
    ctx: Ctx, scope: str, owner: int, v: Variable, action: str, extra: dict[str, Any] | None = None
) -> None:
    entity_type, entity_id = scope_entity(scope, owner)
    verb = {"created": "Added", "updated": "Changed", "deleted": "Removed"}[action]
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name=f"{_VAR_EVENTS[scope]}_{action}",
        message=f"{verb} variable {v.key}",
        target=(v.key, "Ci::Variable", v.key),
        ip=ctx.ip,
        extra=extra,
    )


@routes("GET", _VAR_BASE)
def list_vars(ctx: Ctx) -> Response:
    refuse_keyset(ctx)
    scope, owner = _var_owner(ctx)
    chunk, headers = paginate_offset(ctx, _vars(ctx, scope, owner))
    return json_response([views.variable(v) for v in chunk], headers=headers)


@routes("GET", _VAR_BASE + r"/(?P<key>[^/]+)")
def get_var(ctx: Ctx) -> Response:
    scope, owner = _var_owner(ctx)
    return json_response(views.variable(_one_var(ctx, scope, owner)))


@routes("POST", _VAR_BASE)
def create_var(ctx: Ctx) -> Response:
    scope, owner = _var_owner(ctx)
    key = ctx.str_param("key")
    value = ctx.str_param("value")
    if not key:
        raise missing_param("key")
    if value is None:
        raise missing_param("value")
    if not all(c.isalnum() or c == "_" for c in key) or len(key) > 255:
        raise ApiError(400, {"message": {"key": ["can contain only letters, digits and '_'."]}})
    env = ctx.str_param("environment_scope", "*") or "*"
    if any(v.key == key and v.environment_scope == env for v in _vars(ctx, scope, owner)):
        raise ApiError(400, {"message": {"key": [f"({key}) has already been taken"]}})
    hidden = bool(ctx.bool_param("masked_and_hidden", False)) and scope != "instance"
    masked = hidden or bool(ctx.bool_param("masked", False))
    if masked:
        _check_masked(value)
    v = Variable(
        scope,
        owner,
        key,
        value,
        variable_type=ctx.choice("variable_type", ("env_var", "file"), "env_var") or "env_var",
        protected=bool(ctx.bool_param("protected", False)),
        masked=masked,
        hidden=hidden,
        raw=bool(ctx.bool_param("raw", False)),
        environment_scope=env,
        description=ctx.str_param("description"),
    )
    ctx.state.variables.append(v)
    _audit_var(ctx, scope, owner, v, "created")
    return json_response(views.variable(v), status=201)


@routes("PUT", _VAR_BASE + r"/(?P<key>[^/]+)")
def update_var(ctx: Ctx) -> Response:
    scope, owner = _var_owner(ctx)
    v = _one_var(ctx, scope, owner)
    changes: list[tuple[str, str, str]] = []
    value = ctx.str_param("value")
    masked = ctx.bool_param("masked")
    if v.hidden and masked is False:
        raise ApiError(400, {"message": {"masked": ["cannot be unset for hidden variables"]}})
    if masked is not None and masked != v.masked:
        changes.append(("masked", str(v.masked).lower(), str(masked).lower()))
        v.masked = masked
    if value is not None and value != v.value:
        if v.masked:
            _check_masked(value)
        changes.append(("value", "", ""))  # the drill never writes variable values to audit
        v.value = value
    protected = ctx.bool_param("protected")
    if protected is not None and protected != v.protected:
        changes.append(("protected", str(v.protected).lower(), str(protected).lower()))
        v.protected = protected
    for attr in ("description", "environment_scope"):
        new = ctx.str_param(attr)
        if new is not None and new != getattr(v, attr):
            changes.append((attr, str(getattr(v, attr) or ""), new))
            setattr(v, attr, new)
    raw = ctx.bool_param("raw")
    if raw is not None:
        v.raw = raw
    vtype = ctx.choice("variable_type", ("env_var", "file"))
    if vtype:
        v.variable_type = vtype
    for change, old, new in changes:
        extra = (
            {"change": change} if change == "value" else {"change": change, "from": old, "to": new}
        )
        _audit_var(ctx, scope, owner, v, "updated", extra=extra)
    return json_response(views.variable(v))


@routes("DELETE", _VAR_BASE + r"/(?P<key>[^/]+)")
def delete_var(ctx: Ctx) -> Response:
    scope, owner = _var_owner(ctx)
    v = _one_var(ctx, scope, owner)
    ctx.state.variables.remove(v)
    _audit_var(ctx, scope, owner, v, "deleted")
    return no_content()
