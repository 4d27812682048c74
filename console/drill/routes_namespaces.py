"""Groups, projects and their members (direct and inherited)."""

from __future__ import annotations

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for
from console.drill.model import ACCESS_NAMES, Member
from console.drill.paging import (
    KEYSET_UNAVAILABLE,
    keyset_requested,
    paginate_keyset,
    paginate_offset,
)
from console.drill.state import DrillState
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    forbidden,
    json_response,
    message_error,
    no_content,
    not_found,
    param_error,
)

routes = Registry()


# --------------------------------------------------------------------------- groups


@routes("GET", r"/groups")
def list_groups(ctx: Ctx) -> Response:
    if keyset_requested(ctx):
        # GitLab offers keyset on /groups only for unauthenticated name-ordered requests.
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
    state = ctx.state
    rows = sorted(state.groups.values(), key=lambda g: g.full_path)
    if not ctx.is_admin or not ctx.bool_param("all_available", True):
        rows = [
            g
            for g in rows
            if state.group_access(g.id, ctx.caller.id) > 0 or g.visibility == "public"
        ]
    search = ctx.str_param("search")
    if search:
        rows = [
            g
            for g in rows
            if search.lower() in g.full_path.lower() or search.lower() in g.name.lower()
        ]
    if ctx.bool_param("top_level_only"):
        rows = [g for g in rows if g.parent_id is None]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.group(state, g) for g in chunk], headers=headers)


@routes("GET", r"/groups/(?P<id>[^/]+)")
def get_group(ctx: Ctx) -> Response:
    return json_response(views.group(ctx.state, group_for(ctx)))


@routes("PUT", r"/groups/(?P<id>[^/]+)")
def update_group(ctx: Ctx) -> Response:
    g = group_for(ctx, OWNER)
    state = ctx.state
    audits: list[tuple[str, str, str, str]] = []
    require = ctx.bool_param("require_two_factor_authentication")
    if require is not None and require != g.require_two_factor_authentication:
        audits.append(
            (
                "group_require_two_factor_authentication_updated",
                "require_two_factor_authentication",
                str(g.require_two_factor_authentication).lower(),
                str(require).lower(),
            )
        )
        g.require_two_factor_authentication = require
    grace = ctx.int_param("two_factor_grace_period")
    if grace is not None and grace != g.two_factor_grace_period:
        if grace < 0:
            raise ApiError(
                400,
                {"message": {"two_factor_grace_period": ["must be greater than or equal to 0"]}},
            )
        audits.append(
            (
                "group_two_factor_grace_period_updated",
                "two_factor_grace_period",
                str(g.two_factor_grace_period),
                str(grace),
            )
        )
        g.two_factor_grace_period = grace
    for attr in ("name", "description"):
        value = ctx.str_param(attr)
        if value is not None and value != getattr(g, attr):
            if attr == "name":
                audits.append(("group_name_updated", "name", g.name, value))
            setattr(g, attr, value)
    visibility = ctx.choice("visibility", ("private", "internal", "public"))
    if visibility and visibility != g.visibility:
        audits.append(
            ("group_visibility_level_updated", "visibility_level", g.visibility, visibility)
        )
        g.visibility = visibility
    for event, change, old, new in audits:
        state.add_audit(
            author=ctx.caller,
            entity_type="Group",
            entity_id=g.id,
            event_name=event,
            message=f"Changed {change} from {old} to {new}",
            target=(g.id, "Group", g.name),
            ip=ctx.ip,
            extra={"change": change, "from": old, "to": new},
        )
    return json_response(views.group(state, g))


@routes("GET", r"/groups/(?P<id>[^/]+)/projects")
def group_projects(ctx: Ctx) -> Response:
    g = group_for(ctx)
    rows = sorted(
        (p for p in ctx.state.projects.values() if p.group_id == g.id), key=lambda p: p.id
    )
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.project(ctx.state, p) for p in chunk], headers=headers)


@routes("GET", r"/groups/(?P<id>[^/]+)/subgroups")
def subgroups(ctx: Ctx) -> Response:
    g = group_for(ctx)
    rows = sorted(
        (s for s in ctx.state.groups.values() if s.parent_id == g.id), key=lambda s: s.full_path
    )
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.group(ctx.state, s) for s in chunk], headers=headers)


@routes("GET", r"/groups/(?P<id>[^/]+)/service_accounts", tier="premium")
def group_service_accounts(ctx: Ctx) -> Response:
    g = group_for(ctx, OWNER)
    ids = {
        m.user_id for m in ctx.state.members if m.source_type == "Namespace" and m.source_id == g.id
    }
    rows = [u for u in ctx.state.user_order if u.id in ids and u.user_type == "service_account"]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.service_account(ctx.state, u) for u in chunk], headers=headers)


# --------------------------------------------------------------------------- projects


@routes("GET", r"/projects")
def list_projects(ctx: Ctx) -> Response:
    state = ctx.state
    rows = sorted(state.projects.values(), key=lambda p: p.id)
    if not ctx.is_admin or ctx.bool_param("membership"):
        rows = [
            p
            for p in rows
            if state.project_access(p.id, ctx.caller.id) > 0 or p.visibility == "public"
        ]
    search = ctx.str_param("search")
    if search:
        rows = [p for p in rows if search.lower() in state.project_path(p.id).lower()]
    sort = ctx.choice("sort", ("asc", "desc"), "desc")
    order_by = ctx.choice(
        "order_by",
        ("id", "name", "path", "created_at", "updated_at", "last_activity_at", "similarity"),
        "created_at",
    )
    if keyset_requested(ctx):
        if order_by != "id":
            raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
        rows = rows[::-1] if sort == "desc" else rows
        chunk, headers = paginate_keyset(
            ctx,
            rows,
            lambda p: (p.id,),
            lambda p: {"id": p.id},
            lambda c: (int(c.get("id", "0")),),
            descending=sort == "desc",
        )
    else:
        if order_by in ("id", "created_at"):
            rows = sorted(rows, key=lambda p: p.id, reverse=sort == "desc")
        elif order_by in ("name", "path"):
            rows = sorted(rows, key=lambda p: getattr(p, order_by), reverse=sort == "desc")
        chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.project(state, p) for p in chunk], headers=headers)


@routes("GET", r"/projects/(?P<id>[^/]+)")
def get_project(ctx: Ctx) -> Response:
    return json_response(views.project(ctx.state, project_for(ctx)))


# --------------------------------------------------------------------------- members


def _source(ctx: Ctx, need: int) -> tuple[str, int]:
    if ctx.path.startswith("/groups/"):
        return "Namespace", group_for(ctx, need).id
    return "Project", project_for(ctx, need).id


def _members(state: DrillState, source_type: str, source_id: int) -> list[Member]:
    return sorted(
        (
            m
            for m in state.members
            if m.source_type == source_type
            and m.source_id == source_id
            and m.user_id in state.users
        ),
        key=lambda m: m.user_id,
    )


_MEMBERS = r"/(?:groups|projects)/(?P<id>[^/]+)/members"


@routes("GET", _MEMBERS)
def list_members(ctx: Ctx) -> Response:
    source_type, source_id = _source(ctx, 0)
    rows = _members(ctx.state, source_type, source_id)
    query = ctx.str_param("query")
    if query:
        rows = [
            m
            for m in rows
            if query.lower() in ctx.state.users[m.user_id].username.lower()
            or query.lower() in ctx.state.users[m.user_id].name.lower()
        ]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.member(ctx.state, m) for m in chunk], headers=headers)


@routes("GET", _MEMBERS + r"/all")
def list_all_members(ctx: Ctx) -> Response:
    state = ctx.state
    source_type, source_id = _source(ctx, 0)
    best: dict[int, Member] = {}
    sources: list[tuple[str, int]] = [(source_type, source_id)]
    gid = (
        state.projects[source_id].group_id
        if source_type == "Project"
        else state.groups[source_id].parent_id
    )
    while gid is not None:
        sources.append(("Namespace", gid))
        parent = state.groups.get(gid)
        gid = parent.parent_id if parent is not None else None
    for st, sid in sources:
        for m in _members(state, st, sid):
            if m.user_id not in best or best[m.user_id].access_level < m.access_level:
                best[m.user_id] = m
    rows = [best[k] for k in sorted(best)]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.member(state, m) for m in chunk], headers=headers)


def _member(ctx: Ctx, need: int) -> Member:
    source_type, source_id = _source(ctx, need)
    m = ctx.state.member(source_type, source_id, ctx.id_param("user_id"))
    if m is None:
        raise not_found("Member")
    return m


@routes("GET", _MEMBERS + r"/(?P<user_id>\d+)")
def get_member(ctx: Ctx) -> Response:
    return json_response(views.member(ctx.state, _member(ctx, 0)))


def _entity(m: Member) -> tuple[str, int]:
    return ("Group" if m.source_type == "Namespace" else "Project"), m.source_id


@routes("PUT", _MEMBERS + r"/(?P<user_id>\d+)")
def update_member(ctx: Ctx) -> Response:
    need = OWNER if ctx.path.startswith("/groups/") else MAINTAINER
    m = _member(ctx, need)
    level = ctx.int_param("access_level")
    if level is None:
        raise ApiError(400, {"error": "access_level is missing"})
    if level not in ACCESS_NAMES:
        raise param_error("access_level does not have a valid value")
    if (
        level == 50
        and m.source_type == "Project"
        and not ctx.is_admin
        and ctx.state.project_access(m.source_id, ctx.caller.id) < OWNER
    ):
        raise forbidden()
    old = m.access_level
    m.access_level = level
    expires = ctx.str_param("expires_at")
    if expires is not None:
        m.expires_at = expires or None
    if old != level:
        entity_type, entity_id = _entity(m)
        u = ctx.state.users[m.user_id]
        ctx.state.add_audit(
            author=ctx.caller,
            entity_type=entity_type,
            entity_id=entity_id,
            event_name="member_updated",
            message="Membership updated",
            target=(u.id, "User", u.name),
            ip=ctx.ip,
            extra={
                "change": "access_level",
                "from": ACCESS_NAMES.get(old, ""),
                "to": ACCESS_NAMES[level],
            },
        )
    return json_response(views.member(ctx.state, m))


@routes("POST", _MEMBERS)
def add_member(ctx: Ctx) -> Response:
    need = OWNER if ctx.path.startswith("/groups/") else MAINTAINER
    source_type, source_id = _source(ctx, need)
    uid = ctx.int_param("user_id")
    level = ctx.int_param("access_level")
    if uid is None or level is None:
        raise ApiError(400, {"error": "user_id, access_level are missing"})
    user = ctx.state.users.get(uid)
    if user is None:
        raise not_found("User")
    if ctx.state.member(source_type, source_id, uid) is not None:
        raise message_error(409, "Member already exists")
    if level not in ACCESS_NAMES:
        raise param_error("access_level does not have a valid value")
    m = Member(
        source_type,
        source_id,
        uid,
        level,
        ctx.state.now_iso(),
        ctx.caller.id,
        ctx.str_param("expires_at"),
    )
    ctx.state.members.append(m)
    entity_type, entity_id = _entity(m)
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name="member_created",
        message="Membership created",
        target=(uid, "User", user.name),
        ip=ctx.ip,
        extra={"add": "user_access", "as": ACCESS_NAMES[level]},
    )
    return json_response(views.member(ctx.state, m), status=201)


@routes("DELETE", _MEMBERS + r"/(?P<user_id>\d+)")
def remove_member(ctx: Ctx) -> Response:
    need = OWNER if ctx.path.startswith("/groups/") else MAINTAINER
    m = _member(ctx, need)
    if m.source_type == "Namespace" and m.access_level == 50:
        owners = [
            o for o in _members(ctx.state, m.source_type, m.source_id) if o.access_level == 50
        ]
        if len(owners) == 1:
            raise forbidden()  # the last owner cannot be removed
    ctx.state.members.remove(m)
    entity_type, entity_id = _entity(m)
    u = ctx.state.users[m.user_id]
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type=entity_type,
        entity_id=entity_id,
        event_name="member_destroyed",
        message="Membership destroyed",
        target=(u.id, "User", u.name),
        ip=ctx.ip,
        extra={"remove": "user_access"},
    )
    return no_content()
