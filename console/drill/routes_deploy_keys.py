"""Deploy keys API: instance-wide keys and their project attachments."""

from __future__ import annotations

import hashlib

from console.drill import views
from console.drill.access import MAINTAINER, project_for
from console.drill.model import DeployKey
from console.drill.paging import paginate_offset, refuse_keyset
from console.drill.web import (
    Ctx,
    Registry,
    Response,
    json_response,
    missing_param,
    no_content,
    not_found,
)

routes = Registry()


@routes("GET", r"/deploy_keys")
def all_deploy_keys(ctx: Ctx) -> Response:
    ctx.require_admin()
    refuse_keyset(ctx)
    rows = sorted(ctx.state.deploy_keys.values(), key=lambda k: k.id)
    if ctx.bool_param("public"):
        rows = []  # the drill has no public (instance-wide) deploy keys
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.deploy_key_admin(ctx.state, k) for k in chunk], headers=headers)


def _fingerprints(text: str) -> tuple[str, str]:
    digest = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    return (
        ":".join(digest[i : i + 2] for i in range(0, 32, 2)),
        "SHA256:" + hashlib.sha256(text.encode()).hexdigest()[:43],
    )


@routes("POST", r"/deploy_keys")
def create_instance_deploy_key(ctx: Ctx) -> Response:
    ctx.require_admin()
    title, key = ctx.str_param("title"), ctx.str_param("key")
    if not title:
        raise missing_param("title")
    if not key:
        raise missing_param("key")
    md5, sha = _fingerprints(key)
    record = DeployKey(
        ctx.state.next_id("deploy_key"),
        title,
        key,
        md5,
        sha,
        ctx.state.now_iso(),
        ctx.str_param("expires_at"),
        user_id=ctx.caller.id,
    )
    ctx.state.deploy_keys[record.id] = record
    return json_response(views.deploy_key_admin(ctx.state, record), status=201)


_DK_BASE = r"/projects/(?P<id>[^/]+)/deploy_keys"


def _dk(ctx: Ctx, pid: int) -> DeployKey:
    key = ctx.state.deploy_keys.get(ctx.id_param("key_id"))
    if key is None or pid not in key.projects:
        raise not_found("Deploy Key")
    return key


@routes("GET", _DK_BASE)
def list_project_keys(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    rows = sorted(
        (k for k in ctx.state.deploy_keys.values() if p.id in k.projects), key=lambda k: k.id
    )
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.deploy_key_project(k, p.id) for k in chunk], headers=headers)


@routes("GET", _DK_BASE + r"/(?P<key_id>\d+)")
def get_project_key(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    return json_response(views.deploy_key_project(_dk(ctx, p.id), p.id))


@routes("POST", _DK_BASE)
def add_project_key(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    title, key = ctx.str_param("title"), ctx.str_param("key")
    if not title:
        raise missing_param("title")
    if not key:
        raise missing_param("key")
    md5, sha = _fingerprints(key)
    record = DeployKey(
        ctx.state.next_id("deploy_key"),
        title,
        key,
        md5,
        sha,
        ctx.state.now_iso(),
        ctx.str_param("expires_at"),
        user_id=ctx.caller.id,
        projects={p.id: bool(ctx.bool_param("can_push", False))},
    )
    ctx.state.deploy_keys[record.id] = record
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="Project",
        entity_id=p.id,
        event_name="deploy_key_added",
        message=f"Added deploy key {title}",
        target=(record.id, "DeployKey", title),
        ip=ctx.ip,
    )
    return json_response(views.deploy_key_project(record, p.id), status=201)


@routes("PUT", _DK_BASE + r"/(?P<key_id>\d+)")
def update_project_key(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    key = _dk(ctx, p.id)
    title = ctx.str_param("title")
    if title is not None:
        key.title = title
    push = ctx.bool_param("can_push")
    if push is not None:
        key.projects[p.id] = push
    return json_response(views.deploy_key_project(key, p.id))


@routes("POST", _DK_BASE + r"/(?P<key_id>\d+)/enable")
def enable_project_key(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    key = ctx.state.deploy_keys.get(ctx.id_param("key_id"))
    if key is None:
        raise not_found("Deploy Key")
    key.projects.setdefault(p.id, False)
    return json_response(views.deploy_key_project(key, p.id), status=201)


@routes("DELETE", _DK_BASE + r"/(?P<key_id>\d+)")
def delete_project_key(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    key = _dk(ctx, p.id)
    del key.projects[p.id]
    if not key.projects:
        del ctx.state.deploy_keys[key.id]  # unused anywhere else: removed from the system
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="Project",
        entity_id=p.id,
        event_name="deploy_key_removed",
        message=f"Removed deploy key {key.title}",
        target=(key.id, "DeployKey", key.title),
        ip=ctx.ip,
    )
    return no_content()
