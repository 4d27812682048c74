"""Deploy tokens API: instance-wide list, group and project tokens."""

from __future__ import annotations

import secrets

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for
from console.drill.model import DeployToken
from console.drill.paging import paginate_offset, refuse_keyset
from console.drill.web import (
    Ctx,
    Registry,
    Response,
    json_response,
    missing_param,
    no_content,
    not_found,
    param_error,
)

routes = Registry()


@routes("GET", r"/deploy_tokens")
def all_deploy_tokens(ctx: Ctx) -> Response:
    ctx.require_admin()
    refuse_keyset(ctx)
    rows = sorted(ctx.state.deploy_tokens.values(), key=lambda t: t.id)
    if ctx.bool_param("active"):
        now = ctx.state.now_iso()
        rows = [t for t in rows if not t.revoked and (t.expires_at is None or t.expires_at > now)]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.deploy_token(t) for t in chunk], headers=headers)


_DT_BASE = r"/(?:groups/(?P<gid>[^/]+)|projects/(?P<pid>[^/]+))/deploy_tokens"
_DT_SCOPES = (
    "read_repository",
    "read_registry",
    "write_registry",
    "read_package_registry",
    "write_package_registry",
    "read_virtual_registry",
    "write_virtual_registry",
)


def _dt_owner(ctx: Ctx, write: bool) -> tuple[str, int]:
    if ctx.path.startswith("/groups/"):
        return "group", group_for(ctx, OWNER if write else MAINTAINER, key="gid").id
    return "project", project_for(ctx, MAINTAINER, key="pid").id


def _dt(ctx: Ctx, kind: str, owner: int) -> DeployToken:
    token = ctx.state.deploy_tokens.get(ctx.id_param("token_id"))
    if token is None or token.owner_type != kind or token.owner_id != owner:
        raise not_found("Deploy Token")
    return token


@routes("GET", _DT_BASE)
def list_deploy_tokens(ctx: Ctx) -> Response:
    kind, owner = _dt_owner(ctx, write=False)
    rows = sorted(
        (
            t
            for t in ctx.state.deploy_tokens.values()
            if t.owner_type == kind and t.owner_id == owner
        ),
        key=lambda t: t.id,
    )
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.deploy_token(t) for t in chunk], headers=headers)


@routes("GET", _DT_BASE + r"/(?P<token_id>\d+)")
def get_deploy_token(ctx: Ctx) -> Response:
    kind, owner = _dt_owner(ctx, write=False)
    return json_response(views.deploy_token(_dt(ctx, kind, owner)))


@routes("POST", _DT_BASE)
def create_deploy_token(ctx: Ctx) -> Response:
    kind, owner = _dt_owner(ctx, write=True)
    name = ctx.str_param("name")
    scopes = ctx.list_param("scopes")
    if not name:
        raise missing_param("name")
    if not scopes:
        raise missing_param("scopes")
    if any(s not in _DT_SCOPES for s in scopes):
        raise param_error("scopes does not have a valid value")
    state = ctx.state
    tid = state.next_id("deploy_token")
    expires = ctx.str_param("expires_at")
    token = DeployToken(
        tid,
        name,
        ctx.str_param("username") or f"gitlab+deploy-token-{tid}",
        "gldt-" + secrets.token_urlsafe(15)[:20],
        scopes,
        (expires[:10] + "T00:00:00.000Z") if expires else None,
        state.now_iso(),
        kind,
        owner,
    )
    state.deploy_tokens[tid] = token
    prefix = "group_" if kind == "group" else ""
    state.add_audit(
        author=ctx.caller,
        entity_type="Group" if kind == "group" else "Project",
        entity_id=owner,
        event_name=f"{prefix}deploy_token_created",
        message=f"Created {kind} deploy token",
        target=(tid, "DeployToken", name),
        ip=ctx.ip,
    )
    return json_response(views.deploy_token(token, with_token=True), status=201)


@routes("DELETE", _DT_BASE + r"/(?P<token_id>\d+)")
def delete_deploy_token(ctx: Ctx) -> Response:
    kind, owner = _dt_owner(ctx, write=True)
    token = _dt(ctx, kind, owner)
    del ctx.state.deploy_tokens[token.id]
    prefix = "group_" if kind == "group" else ""
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="Group" if kind == "group" else "Project",
        entity_id=owner,
        event_name=f"{prefix}deploy_token_destroyed",
        message=f"Destroyed {kind} deploy token",
        target=(token.id, "DeployToken", token.name),
        ip=ctx.ip,
    )
    return no_content()
