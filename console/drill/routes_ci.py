"""Runners, CI/CD variables, webhooks, deploy tokens and deploy keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for
from console.drill.model import DeployKey, DeployToken, Hook, Runner, Variable
from console.drill.paging import KEYSET_UNAVAILABLE, keyset_requested, paginate_offset
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    forbidden,
    json_response,
    message_error,
    missing_param,
    no_content,
    not_found,
    param_error,
)

routes = Registry()


def _no_keyset(ctx: Ctx) -> None:
    if keyset_requested(ctx):
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})


def _entity(scope: str, owner: int) -> tuple[str, int]:
    if scope == "project":
        return "Project", owner
    if scope == "group":
        return "Group", owner
    return "Gitlab::Audit::InstanceScope", 1


# --------------------------------------------------------------------------- runners


def _runner_filter(ctx: Ctx, runners: list[Runner]) -> list[Runner]:
    rtype = ctx.choice("type", ("instance_type", "group_type", "project_type"))
    if rtype:
        runners = [r for r in runners if r.runner_type == rtype]
    status = ctx.choice("status", ("online", "offline", "stale", "never_contacted", "active",
                                   "paused"))
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
    _no_keyset(ctx)
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, list(ctx.state.runners.values())))
    return json_response([views.runner(r) for r in chunk], headers=headers)


@routes("GET", r"/runners")
def own_runners(ctx: Ctx) -> Response:
    _no_keyset(ctx)
    mine = [r for r in ctx.state.runners.values()
            if r.runner_type != "instance_type" and _can_manage(ctx, r)]
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
    ctx.state.add_audit(author=ctx.caller, entity_type=entity_type, entity_id=entity_id,
                        event_name="ci_runner_unregistered",
                        message=f"Unregistered {r.runner_type.replace('_type', '')} CI runner",
                        target=(r.id, "Ci::Runner", r.description), ip=ctx.ip)
    return no_content()


@routes("POST", r"/runners/(?P<id>\d+)/reset_authentication_token")
def reset_runner_token(ctx: Ctx) -> Response:
    r = _runner(ctx)
    r.token = "glrt-" + secrets.token_urlsafe(15)[:20]
    r.token_expires_at = None
    entity_type, entity_id = _runner_entity(r)
    ctx.state.add_audit(author=ctx.caller, entity_type=entity_type, entity_id=entity_id,
                        event_name="ci_runner_token_reset",
                        message="Reset runner authentication token",
                        target=(r.id, "Ci::Runner", r.description), ip=ctx.ip)
    return json_response({"token": r.token, "token_expires_at": r.token_expires_at},
                         status=201)


@routes("GET", r"/projects/(?P<id>[^/]+)/runners")
def project_runners(ctx: Ctx) -> Response:
    p = project_for(ctx, MAINTAINER)
    rows = [r for r in ctx.state.runners.values()
            if p.id in r.project_ids or r.runner_type == "instance_type"
            or any(g in r.group_ids for g in _ancestors(ctx, p.group_id))]
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, rows))
    return json_response([views.runner(r) for r in chunk], headers=headers)


@routes("GET", r"/groups/(?P<id>[^/]+)/runners")
def group_runners(ctx: Ctx) -> Response:
    g = group_for(ctx, MAINTAINER)
    rows = [r for r in ctx.state.runners.values() if g.id in r.group_ids
            or r.runner_type == "instance_type"]
    chunk, headers = paginate_offset(ctx, _runner_filter(ctx, rows))
    return json_response([views.runner(r) for r in chunk], headers=headers)


def _ancestors(ctx: Ctx, gid: int | None) -> list[int]:
    out = []
    while gid is not None:
        out.append(gid)
        g = ctx.state.groups.get(gid)
        gid = g.parent_id if g is not None else None
    return out


# --------------------------------------------------------------------------- variables

_VAR_SCOPES = {"admin/ci": "instance", "groups": "group", "projects": "project"}
_VAR_BASE = r"/(?P<scope>admin/ci|groups/(?P<gid>[^/]+)|projects/(?P<pid>[^/]+))/variables"
_VAR_EVENTS = {"instance": "ci_instance_variable", "group": "ci_group_variable",
               "project": "ci_variable"}


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
        raise message_error(409, "There are multiple variables with provided parameters. "
                                 "Please use 'filter[environment_scope]'")
    return rows[0]


def _check_masked(value: str) -> None:
    if len(value) < 8 or any(c.isspace() for c in value):
        raise ApiError(400, {"message": {"value": ["is invalid"]}})


def _audit_var(ctx: Ctx, scope: str, owner: int, v: Variable, action: str,
               extra: dict[str, Any] | None = None) -> None:
    entity_type, entity_id = _entity(scope, owner)
    verb = {"created": "Added", "updated": "Changed", "deleted": "Removed"}[action]
    ctx.state.add_audit(author=ctx.caller, entity_type=entity_type, entity_id=entity_id,
                        event_name=f"{_VAR_EVENTS[scope]}_{action}",
                        message=f"{verb} variable {v.key}",
                        target=(v.key, "Ci::Variable", v.key), ip=ctx.ip, extra=extra)


@routes("GET", _VAR_BASE)
def list_vars(ctx: Ctx) -> Response:
    _no_keyset(ctx)
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
    v = Variable(scope, owner, key, value,
                 variable_type=ctx.choice("variable_type", ("env_var", "file"), "env_var")
                 or "env_var",
                 protected=bool(ctx.bool_param("protected", False)), masked=masked,
                 hidden=hidden, raw=bool(ctx.bool_param("raw", False)),
                 environment_scope=env, description=ctx.str_param("description"))
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
        extra = {"change": change} if change == "value" else {
            "change": change, "from": old, "to": new}
        _audit_var(ctx, scope, owner, v, "updated", extra=extra)
    return json_response(views.variable(v))


@routes("DELETE", _VAR_BASE + r"/(?P<key>[^/]+)")
def delete_var(ctx: Ctx) -> Response:
    scope, owner = _var_owner(ctx)
    v = _one_var(ctx, scope, owner)
    ctx.state.variables.remove(v)
    _audit_var(ctx, scope, owner, v, "deleted")
    return no_content()


# --------------------------------------------------------------------------- hooks

_HOOK_BASE = r"/(?:hooks|groups/(?P<gid>[^/]+)/hooks|projects/(?P<pid>[^/]+)/hooks)"
_HOOK_FLAGS = ("push_events", "tag_push_events", "merge_requests_events",
               "repository_update_events", "issues_events", "confidential_issues_events",
               "note_events", "confidential_note_events", "pipeline_events", "wiki_page_events",
               "job_events", "deployment_events", "feature_flag_events", "releases_events",
               "emoji_events", "resource_access_token_events", "subgroup_events",
               "member_events")


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
    return sorted((h for h in ctx.state.hooks.values()
                   if h.scope == scope and h.owner_id == owner), key=lambda h: h.id)


def _hook(ctx: Ctx, scope: str, owner: int) -> Hook:
    hook = ctx.state.hooks.get(ctx.id_param("hook_id"))
    if hook is None or hook.scope != scope or hook.owner_id != owner:
        raise not_found("Hook")
    return hook


def _apply_hook_params(ctx: Ctx, hook: Hook) -> None:
    url = ctx.str_param("url")
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, {"message": {"url": ["is blocked: Only allowed schemes are "
                                                     "http, https"]}})
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
    _no_keyset(ctx)
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
    hook = Hook(ctx.state.next_id("hook"), scope, owner, "", ctx.state.now_iso(),
                created_by=ctx.caller.id)
    _apply_hook_params(ctx, hook)
    ctx.state.hooks[hook.id] = hook
    entity_type, entity_id = _entity(scope, owner)
    kind = {"system": "SystemHook", "group": "GroupHook", "project": "ProjectHook"}[scope]
    ctx.state.add_audit(author=ctx.caller, entity_type=entity_type, entity_id=entity_id,
                        event_name="webhook_created", message=f"Created {scope} hook",
                        target=(hook.id, kind, hook.url), ip=ctx.ip)
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
    entity_type, entity_id = _entity(scope, owner)
    kind = {"system": "SystemHook", "group": "GroupHook", "project": "ProjectHook"}[scope]
    ctx.state.add_audit(author=ctx.caller, entity_type=entity_type, entity_id=entity_id,
                        event_name="webhook_destroyed", message=f"Destroyed {scope} hook",
                        target=(hook.id, kind, hook.url), ip=ctx.ip)
    return no_content()


# --------------------------------------------------------------------------- deploy tokens


@routes("GET", r"/deploy_tokens")
def all_deploy_tokens(ctx: Ctx) -> Response:
    ctx.require_admin()
    _no_keyset(ctx)
    rows = sorted(ctx.state.deploy_tokens.values(), key=lambda t: t.id)
    if ctx.bool_param("active"):
        now = ctx.state.now_iso()
        rows = [t for t in rows if not t.revoked and (t.expires_at is None or t.expires_at > now)]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.deploy_token(t) for t in chunk], headers=headers)


_DT_BASE = r"/(?:groups/(?P<gid>[^/]+)|projects/(?P<pid>[^/]+))/deploy_tokens"
_DT_SCOPES = ("read_repository", "read_registry", "write_registry", "read_package_registry",
              "write_package_registry", "read_virtual_registry", "write_virtual_registry")


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
    rows = sorted((t for t in ctx.state.deploy_tokens.values()
                   if t.owner_type == kind and t.owner_id == owner), key=lambda t: t.id)
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
    token = DeployToken(tid, name, ctx.str_param("username") or f"gitlab+deploy-token-{tid}",
                        "gldt-" + secrets.token_urlsafe(15)[:20], scopes,
                        (expires[:10] + "T00:00:00.000Z") if expires else None,
                        state.now_iso(), kind, owner)
    state.deploy_tokens[tid] = token
    prefix = "group_" if kind == "group" else ""
    state.add_audit(author=ctx.caller, entity_type="Group" if kind == "group" else "Project",
                    entity_id=owner, event_name=f"{prefix}deploy_token_created",
                    message=f"Created {kind} deploy token",
                    target=(tid, "DeployToken", name), ip=ctx.ip)
    return json_response(views.deploy_token(token, with_token=True), status=201)


@routes("DELETE", _DT_BASE + r"/(?P<token_id>\d+)")
def delete_deploy_token(ctx: Ctx) -> Response:
    kind, owner = _dt_owner(ctx, write=True)
    token = _dt(ctx, kind, owner)
    del ctx.state.deploy_tokens[token.id]
    prefix = "group_" if kind == "group" else ""
    ctx.state.add_audit(author=ctx.caller,
                        entity_type="Group" if kind == "group" else "Project", entity_id=owner,
                        event_name=f"{prefix}deploy_token_destroyed",
                        message=f"Destroyed {kind} deploy token",
                        target=(token.id, "DeployToken", token.name), ip=ctx.ip)
    return no_content()


# --------------------------------------------------------------------------- deploy keys


@routes("GET", r"/deploy_keys")
def all_deploy_keys(ctx: Ctx) -> Response:
    ctx.require_admin()
    _no_keyset(ctx)
    rows = sorted(ctx.state.deploy_keys.values(), key=lambda k: k.id)
    if ctx.bool_param("public"):
        rows = []  # the drill has no public (instance-wide) deploy keys
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.deploy_key_admin(ctx.state, k) for k in chunk], headers=headers)


def _fingerprints(text: str) -> tuple[str, str]:
    digest = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    return (":".join(digest[i:i + 2] for i in range(0, 32, 2)),
            "SHA256:" + hashlib.sha256(text.encode()).hexdigest()[:43])


@routes("POST", r"/deploy_keys")
def create_instance_deploy_key(ctx: Ctx) -> Response:
    ctx.require_admin()
    title, key = ctx.str_param("title"), ctx.str_param("key")
    if not title:
        raise missing_param("title")
    if not key:
        raise missing_param("key")
    md5, sha = _fingerprints(key)
    record = DeployKey(ctx.state.next_id("deploy_key"), title, key, md5, sha,
                       ctx.state.now_iso(), ctx.str_param("expires_at"), user_id=ctx.caller.id)
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
    rows = sorted((k for k in ctx.state.deploy_keys.values() if p.id in k.projects),
                  key=lambda k: k.id)
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
    record = DeployKey(ctx.state.next_id("deploy_key"), title, key, md5, sha,
                       ctx.state.now_iso(), ctx.str_param("expires_at"), user_id=ctx.caller.id,
                       projects={p.id: bool(ctx.bool_param("can_push", False))})
    ctx.state.deploy_keys[record.id] = record
    ctx.state.add_audit(author=ctx.caller, entity_type="Project", entity_id=p.id,
                        event_name="deploy_key_added", message=f"Added deploy key {title}",
                        target=(record.id, "DeployKey", title), ip=ctx.ip)
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
    ctx.state.add_audit(author=ctx.caller, entity_type="Project", entity_id=p.id,
                        event_name="deploy_key_removed", message=f"Removed deploy key {key.title}",
                        target=(key.id, "DeployKey", key.title), ip=ctx.ip)
    return no_content()
