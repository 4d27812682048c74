"""Runners API: instance, group and project runners, their managers and tokens."""

from __future__ import annotations

import secrets

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for
from console.drill.model import Runner
from console.drill.paging import paginate_offset, refuse_keyset
from console.drill.web import (
    Ctx,
    Registry,
    Response,
    forbidden,
    json_response,
    no_content,
    not_found,
)

routes = Registry()


def _runner_filter(ctx: Ctx, runners: list[Runner]) -> list[Runner]:
    rtype = ctx.choice("type", ("instance_type", "group_type", "project_type"))
    if rtype:
        runners = [r for r in runners if r.runner_type == rtype]
    status = ctx.choice(
        "status", ("online", "offline", "stale", "never_contacted", "active", "paused")
    )
    if status == "online":
        runners = [r for r in runners if r.contacted_at is not None]
    elif status == "never_contacted":
        runners = [r for r in runners if r.contacted_at is None]
    elif status in ("offline", "stale"):
        runners = []
    elif status == "paused":
        runners = [r for r in runners if r.paused]
    elif status == "active":
        runners = [r for r in runners if not r.paused]
    paused = ctx.bool_param("paused")
    if paused is not None:
        runners = [r for r in runners if r.paused == paused]
    tags = ctx.list_param("tag_list")
    if tags:
        runners = [r for r in runners if set(tags) <= set(r.tag_list)]
    prefix = ctx.str_param("version_prefix")
    if prefix:
        runners = [r for r in runners if r.version.startswith(prefix)]
    return sorted(runners, key=lambda r: r.id)


def _can_manage(ctx: Ctx, r: Runner) -> bool:
    if ctx.is_admin:
        return True
    uid = ctx.caller.id
    if r.runner_type == "group_type":
        return any(ctx.state.group_access(g, uid) >= OWNER for g in r.group_ids)
    if r.runner_type == "project_type":
        return any(ctx.state.project_access(p, uid) >= MAINTAINER for p in r.project_ids)
    return False


@routes("GET", r"/runners/all")
def all_runners(ctx: Ctx) -> Response:
    ctx.require_admin()
    refuse_keyset(ctx)
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, list(ctx.state.runners.values())))
    return json_response([views.runner(r) for r in chunk], headers=headers)


@routes("GET", r"/runners")
def own_runners(ctx: Ctx) -> Response:
    refuse_keyset(ctx)
    mine = [
        r
        for r in ctx.state.runners.values()
        if r.runner_type != "instance_type" and _can_manage(ctx, r)
    ]
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, mine))
    return json_response([views.runner(r) for r in chunk], headers=headers)


def _runner(ctx: Ctx) -> Runner:
    runner = ctx.state.runners.get(ctx.id_param())
    if runner is None:
        raise not_found("Runner")
    if not _can_manage(ctx, runner):
        raise forbidden("No access granted")
    return runner


def _runner_entity(r: Runner) -> tuple[str, int]:
    if r.runner_type == "project_type" and r.project_ids:
        return "Project", r.project_ids[0]
    if r.runner_type == "group_type" and r.group_ids:
        return "Group", r.group_ids[0]
    return "Gitlab::Audit::InstanceScope", 1


@routes("GET", r"/runners/(?P<id>\d+)")
def get_runner(ctx: Ctx) -> Response:
    return json_response(views.runner_detail(ctx.state, _runner(ctx)))


@routes("GET", r"/runners/(?P<id>\d+)/managers")
def runner_managers(ctx: Ctx) -> Response:
    r = _runner(ctx)
    return json_response([views.runner_manager(r)] if r.contacted_at is not None else [])


@routes("PUT", r"/runners/(?P<id>\d+)")
def update_runner(ctx: Ctx) -> Response:
    r = _runner(ctx)
    paused = ctx.bool_param("paused")
    active = ctx.bool_param("active")
    if paused is not None:
        r.paused = paused
    elif active is not None:
        r.paused = not active
    for attr in ("description", "maintenance_note"):
        value = ctx.str_param(attr)
        if value is not None:
            setattr(r, attr, value)
    tags = ctx.list_param("tag_list")
    if tags is not None:
        r.tag_list = tags
    for attr in ("locked", "run_untagged"):
        flag = ctx.bool_param(attr)
        if flag is not None:
            setattr(r, attr, flag)
    level = ctx.choice("access_level", ("not_protected", "ref_protected"))
    if level:
        r.access_level = level
    timeout = ctx.int_param("maximum_timeout")
    if timeout is not None:
        r.maximum_timeout = timeout
    return json_response(views.runner_detail(ctx.state, r))


@routes("DELETE", r"/runners/(?P<id>\d+)")
def delete_runner(ctx: Ctx) -> Response:
    r = _runner(ctx)
    entity_type, entity_id = _runner_entity(r)
    del ctx.state.runners[r.id]
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name="ci_runner_unregistered",
        message=f"Unregistered {r.runner_type.replace('_type', '')} CI runner",
        target=(r.id, "Ci::Runner", r.description),
        ip=ctx.ip,
    )
    return no_content()


@routes("POST", r"/runners/(?P<id>\d+)/reset_authentication_token")
def reset_runner_token(ctx: Ctx) -> Response:
    r = _runner(ctx)
    r.token = "glrt-" + secrets.token_urlsafe(15)[:20]
    r.token_expires_at = None
    entity_type, entity_id = _runner_entity(r)
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name="ci_runner_token_reset",
        message="Reset runner authentication token",
        target=(r.id, "Ci::Runner", r.description),
        ip=ctx.ip,
    )
    return json_response({"token": r.token, "token_expires_at": r.token_expires_at}, status=201)


@routes("GET", r"/projects/(?P<id>[^/]+)/runners")
def project_runners(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    rows = [
        r
        for r in ctx.state.runners.values()
        if p.id in r.project_ids
        or r.runner_type == "instance_type"
        or any(g in r.group_ids for g in _ancestors(ctx, p.group_id))
    ]
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, rows))
    return json_response([views.runner(r) for r in chunk], headers=headers)


@routes("GET", r"/groups/(?P<id>[^/]+)/runners")
def group_runners(ctx: Ctx) -> Response:
    g = group_for(ctx, MAINTAINER)
    rows = [
        r
        for r in ctx.state.runners.values()
        if g.id in r.group_ids or r.runner_type == "instance_type"
    ]
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, rows))
    return json_response([views.runner(r) for r in chunk], headers=headers)


def _ancestors(ctx: Ctx, gid: int | None) -> list[int]:
    out = []
    while gid is not None:
        out.append(gid)
        g = ctx.state.groups.get(gid)
        gid = g.parent_id if g is not None else None
    return out
