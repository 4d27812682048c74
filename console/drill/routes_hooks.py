"""System, group and project webhooks."""

from __future__ import annotations

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for, scope_entity
from console.drill.model import Hook
from console.drill.paging import paginate_offset, refuse_keyset
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    json_response,
    missing_param,
    no_content,
    not_found,
)

routes = Registry()


_HOOK_BASE = r"/(?:hooks|groups/(?P<gid>[^/]+)/hooks|projects/(?P<pid>[^/]+)/hooks)"
_HOOK_FLAGS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "repository_update_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "pipeline_events",
    "wiki_page_events",
    "job_events",
    "deployment_events",
    "feature_flag_events",
    "releases_events",
    "emoji_events",
    "resource_access_token_events",
    "subgroup_events",
    "member_events",
)


def _hook_owner(ctx: Ctx) -> tuple[str, int]:
    if ctx.path.startswith("/hooks"):
        ctx.require_admin()
        return "system", 0
    if ctx.path.startswith("/groups/"):
        if ctx.state.tier == "free":
            raise not_found()  # group webhooks are Premium+
        return "group", group_for(ctx, OWNER, key="gid").id
    return "project", project_for(ctx, MAINTAINER, key="pid").id


def _hooks(ctx: Ctx, scope: str, owner: int) -> list[Hook]:
    return sorted(
        (h for h in ctx.state.hooks.values() if h.scope == scope and h.owner_id == owner),
        key=lambda h: h.id,
    )


def _hook(ctx: Ctx, scope: str, owner: int) -> Hook:
    hook = ctx.state.hooks.get(ctx.id_param("hook_id"))
    if hook is None or hook.scope != scope or hook.owner_id != owner:
        raise not_found("Hook")
    return hook


def _apply_hook_params(ctx: Ctx, hook: Hook) -> None:
    url = ctx.str_param("url")
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise ApiError(
                400, {"message": {"url": ["is blocked: Only allowed schemes are http, https"]}}
            )
        hook.url = url
    token = ctx.str_param("token")
    if token is not None:
        hook.token = token  # write-only: never serialised
    for attr in ("name", "description", "push_events_branch_filter"):
        value = ctx.str_param(attr)
        if value is not None:
            setattr(hook, attr, value)
    strategy = ctx.choice("branch_filter_strategy", ("wildcard", "regex", "all_branches"))
    if strategy:
        hook.branch_filter_strategy = strategy
    for flag in _HOOK_FLAGS:
        enabled = ctx.bool_param(flag)
        if enabled is not None:
            hook.events[flag] = enabled
    ssl = ctx.bool_param("enable_ssl_verification")
    if ssl is not None:
        hook.enable_ssl_verification = ssl


@routes("GET", _HOOK_BASE)
def list_hooks(ctx: Ctx) -> Response:
    refuse_keyset(ctx)
    scope, owner = _hook_owner(ctx)
    chunk, headers = paginate_offset(ctx, _hooks(ctx, scope, owner))
    return json_response([views.hook(h) for h in chunk], headers=headers)


@routes("GET", _HOOK_BASE + r"/(?P<hook_id>\d+)")
def get_hook(ctx: Ctx) -> Response:
    scope, owner = _hook_owner(ctx)
    return json_response(views.hook(_hook(ctx, scope, owner)))


@routes("POST", _HOOK_BASE)
def create_hook(ctx: Ctx) -> Response:
    scope, owner = _hook_owner(ctx)
    if not ctx.str_param("url"):
        raise missing_param("url")
    hook = Hook(
        ctx.state.next_id("hook"), scope, owner, "", ctx.state.now_iso(), created_by=ctx.caller.id
    )
    _apply_hook_params(ctx, hook)
    ctx.state.hooks[hook.id] = hook
    entity_type, entity_id = scope_entity(scope, owner)
    kind = {"system": "SystemHook", "group": "GroupHook", "project": "ProjectHook"}[scope]
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name="webhook_created",
        message=f"Created {scope} hook",
        target=(hook.id, kind, hook.url),
        ip=ctx.ip,
    )
    return json_response(views.hook(hook), status=201)


@routes("PUT", _HOOK_BASE + r"/(?P<hook_id>\d+)")
def update_hook(ctx: Ctx) -> Response:
    scope, owner = _hook_owner(ctx)
    hook = _hook(ctx, scope, owner)
    # GitLab has no audit event type for webhook edits: a changed URL or secret is invisible
    # in the audit log, so the drill records none either.
    _apply_hook_params(ctx, hook)
    return json_response(views.hook(hook))


@routes("DELETE", _HOOK_BASE + r"/(?P<hook_id>\d+)")
def delete_hook(ctx: Ctx) -> Response:
    scope, owner = _hook_owner(ctx)
    hook = _hook(ctx, scope, owner)
    del ctx.state.hooks[hook.id]
    entity_type, entity_id = scope_entity(scope, owner)
    kind = {"system": "SystemHook", "group": "GroupHook", "project": "ProjectHook"}[scope]
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name="webhook_destroyed",
        message=f"Destroyed {scope} hook",
        target=(hook.id, kind, hook.url),
        ip=ctx.ip,
    )
    return no_content()
