"""Users API: list and get users (offset and keyset), the current user, memberships, contribution
events, service accounts and activity.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from console.drill import views
from console.drill.access import get_user
from console.drill.model import HUMAN, PROJECT_BOT, SERVICE_ACCOUNT, User
from console.drill.paging import (
    KEYSET_UNAVAILABLE,
    keyset_requested,
    paginate_keyset,
    paginate_offset,
)
from console.drill.state import DrillState
from console.drill.timefmt import iso
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    forbidden,
    json_response,
    not_found,
    param_error,
)

routes = Registry()


# Filters GitLab strips (silently) unless the caller can read all resources (admin/auditor).
ADMIN_ONLY_FILTERS = (
    "created_after",
    "created_before",
    "order_by",
    "sort",
    "two_factor",
    "without_projects",
    "admins",
    "external",
    "skip_ldap",
    "auditors",
)
USER_ORDER = ("id", "name", "username", "created_at", "updated_at")


def _sort_key(order_by: str) -> Callable[[User], tuple[Any, ...]]:
    if order_by == "id":
        return lambda u: (u.id,)
    if order_by == "name":
        return lambda u: (u.name, u.id)
    if order_by == "username":
        return lambda u: (u.username, u.id)
    if order_by == "created_at":
        return lambda u: (u.created_at, u.id)
    return lambda u: (u.updated_at, u.id)


def _user_filter(ctx: Ctx) -> Callable[[User], bool] | None:
    """Build one predicate from the query; ``None`` when nothing filters."""
    state = ctx.state
    admin = ctx.is_admin
    checks: list[Callable[[User], bool]] = []
    if not admin:
        # Non-admins never see banned users (GitLab hides them from everyone but admins).
        checks.append(lambda u: u.state != "banned")
    search = ctx.str_param("search")
    if search:
        needle = search.lower()

        def match_search(u: User) -> bool:
            if needle in u.username.lower() or needle in u.name.lower():
                return True
            if u.public_email and u.public_email.lower() == needle:
                return True
            return admin and u.email.lower() == needle  # private email: admins, exact only

        checks.append(match_search)
    public_email = ctx.str_param("public_email")
    if public_email:
        checks.append(lambda u: u.public_email.lower() == public_email.lower())
    if ctx.bool_param("active"):
        checks.append(lambda u: u.state == "active")
    if ctx.bool_param("exclude_active"):
        checks.append(lambda u: u.state != "active")
    if ctx.bool_param("blocked"):
        checks.append(lambda u: u.state in ("blocked", "ldap_blocked"))
    if ctx.bool_param("exclude_external"):
        checks.append(lambda u: not u.external)
    if ctx.bool_param("exclude_internal"):
        checks.append(lambda u: not u.internal)
    if ctx.bool_param("without_project_bots"):
        checks.append(lambda u: u.user_type != PROJECT_BOT)
    if ctx.bool_param("humans"):
        checks.append(lambda u: u.user_type == HUMAN)
    if ctx.bool_param("exclude_humans"):
        checks.append(lambda u: u.user_type != HUMAN)
    if admin:
        if ctx.bool_param("external"):
            checks.append(lambda u: u.external)
        if ctx.bool_param("admins"):
            checks.append(lambda u: u.is_admin)
        if ctx.bool_param("auditors") and state.tier != "free":
            checks.append(lambda u: u.auditor)
        if ctx.bool_param("skip_ldap") and state.tier != "free":
            checks.append(lambda u: not u.ldap)
        two_factor = ctx.choice("two_factor", ("enabled", "disabled"))
        if two_factor == "enabled":
            checks.append(lambda u: u.two_factor)
        elif two_factor == "disabled":
            checks.append(lambda u: not u.two_factor)
        after = ctx.datetime_param("created_after")
        if after is not None:
            after_s = iso(after) or ""
            checks.append(lambda u: u.created_at >= after_s)
        before = ctx.datetime_param("created_before")
        if before is not None:
            before_s = iso(before) or ""
            checks.append(lambda u: u.created_at <= before_s)
        if ctx.bool_param("without_projects"):
            with_members = {m.user_id for m in state.members}
            checks.append(lambda u: u.id not in with_members)
        extern_uid = ctx.str_param("extern_uid")
        provider = ctx.str_param("provider")
        if extern_uid and provider:
            checks.append(
                lambda u: any(
                    i.get("provider") == provider and str(i.get("extern_uid")) == extern_uid
                    for i in u.identities
                )
            )
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda u: all(check(u) for check in checks)


@routes("GET", r"/users")
def list_users(ctx: Ctx) -> Response:
    state = ctx.state
    if not ctx.is_admin:
        # GitLab strips these before the finder runs; no error, the filter just vanishes.
        for name in ADMIN_ONLY_FILTERS:
            ctx.params.pop(name, None)
        if ctx.has("extern_uid") and ctx.has("provider"):
            raise forbidden()
    order_by = ctx.choice("order_by", USER_ORDER, "id") or "id"
    sort = ctx.choice("sort", ("asc", "desc"), "desc") or "desc"
    descending = sort == "desc"
    key = _sort_key(order_by)

    def build() -> Sequence[User]:
        username = ctx.str_param("username")
        predicate = _user_filter(ctx)
        items: Sequence[User]
        if username:
            found = state.by_username.get(username.lower())
            items = [found] if found is not None and (predicate is None or predicate(found)) else []
        elif predicate is None:
            items = _by_created(state) if order_by == "created_at" else state.user_order
        else:
            items = [u for u in _created_candidates(ctx) if predicate(u)]
        if order_by != "id" and items is not _by_created(state):
            items = sorted(items, key=key)
        if descending:
            items = items[::-1]
        return items

    # The filtered, ordered list depends only on the caller's admin flag and the non-paging
    # parameters (admin-only ones are already gone for others); paging it is a bisect + slice.
    cache_key = ("users", ctx.is_admin, _list_params(ctx))
    items: Sequence[User] = state.cached_list(cache_key, build)
    if keyset_requested(ctx):
        chunk, headers = paginate_keyset(
            ctx,
            items,
            key,
            cursor_fields=lambda u: _cursor_fields(u, order_by),
            parse_cursor=lambda c: _parse_cursor(c, order_by),
            descending=descending,
        )
    else:
        chunk, headers = paginate_offset(ctx, items, offset_limit_type="User")
    if ctx.is_admin:
        body = [views.user_with_admin(state, u) for u in chunk]
    else:
        body = [views.user_basic(state, u) for u in chunk]
    return json_response(body, headers=headers)


def _by_created(state: DrillState) -> Sequence[User]:
    """Every user ordered by ``(created_at, id)`` (GitLab has an index for this too)."""
    return state.cached_list(
        ("users_by_created_at",),
        lambda: sorted(state.user_order, key=lambda u: (u.created_at, u.id)),
    )


def _created_candidates(ctx: Ctx) -> Sequence[User]:
    """Users in id order, narrowed by an admin's ``created_after``/``created_before`` through a
    cached creation-time index (a partitioned load asks for 16 such slices of the instance);
    the caller still applies the full predicate, bounds included."""
    state = ctx.state
    after = ctx.datetime_param("created_after") if ctx.is_admin else None
    before = ctx.datetime_param("created_before") if ctx.is_admin else None
    if after is None and before is None:
        return state.user_order
    by_created = _by_created(state)
    lo = (
        0
        if after is None
        else bisect_left(by_created, iso(after) or "", key=lambda u: u.created_at)
    )
    hi = (
        len(by_created)
        if before is None
        else bisect_right(by_created, iso(before) or "", key=lambda u: u.created_at)
    )
    return sorted(by_created[lo:hi], key=lambda u: u.id)


_PAGING_PARAMS = frozenset({"cursor", "page", "per_page", "pagination", "private_token"})


def _list_params(ctx: Ctx) -> tuple[tuple[str, str], ...]:
    """The request's parameters that shape the list (not which page of it), canonically."""
    return tuple(
        sorted(
            (name, repr(value)) for name, value in ctx.params.items() if name not in _PAGING_PARAMS
        )
    )


def _cursor_fields(u: User, order_by: str) -> dict[str, Any]:
    if order_by == "id":
        return {"id": u.id}
    return {order_by: getattr(u, order_by), "id": u.id}


def _parse_cursor(c: dict[str, str], order_by: str) -> tuple[Any, ...]:
    try:
        if order_by == "id":
            return (int(c["id"]),)
        return (c[order_by], int(c["id"]))
    except (KeyError, ValueError) as exc:
        raise param_error("cursor is invalid") from exc


def highest_role(state: DrillState, uid: int) -> int:
    return max((m.access_level for m in state.members if m.user_id == uid), default=0)


@routes("GET", r"/users/(?P<id>\d+)")
def get_one(ctx: Ctx) -> Response:
    user = get_user(ctx)
    state = ctx.state
    if ctx.is_admin:
        return json_response(
            views.user_details_with_admin(state, user, highest_role(state, user.id))
        )
    if user.state == "banned":
        raise not_found("User")
    return json_response(views.user_profile(state, user))


@routes("GET", r"/user")
def current_user(ctx: Ctx) -> Response:
    u = ctx.caller
    if u.is_admin:
        return json_response(
            views.user_details_with_admin(ctx.state, u, highest_role(ctx.state, u.id))
        )
    return json_response(views.user_public(ctx.state, u))


# --------------------------------------------------------------------------- memberships/events


@routes("GET", r"/users/(?P<id>\d+)/memberships")
def memberships(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    kind = ctx.choice("type", ("Project", "Namespace"))
    rows = [
        m
        for m in ctx.state.members
        if m.user_id == user.id and (kind is None or m.source_type == kind)
    ]
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.membership(ctx.state, m) for m in chunk], headers=headers)


@routes("GET", r"/users/(?P<id>[^/]+)/events")
def user_events(ctx: Ctx) -> Response:
    user = get_user(ctx)
    state = ctx.state
    state.ensure_detail(user)
    events = list(state.contrib.get(user.id, []))
    action = ctx.str_param("action")
    if action:
        events = [e for e in events if e.action_name.split(" ")[0].startswith(action[:5])]
    target_type = ctx.str_param("target_type")
    if target_type:
        events = [e for e in events if (e.target_type or "").lower() == target_type.lower()]
    before = ctx.str_param("before")
    if before:
        events = [e for e in events if e.created_at[:10] < before[:10]]
    after = ctx.str_param("after")
    if after:
        events = [e for e in events if e.created_at[:10] > after[:10]]
    sort = ctx.choice("sort", ("asc", "desc"), "desc")
    events.sort(key=lambda e: (e.created_at, e.id), reverse=sort == "desc")
    chunk, headers = paginate_offset(ctx, events)
    return json_response([views.contrib_event(state, e) for e in chunk], headers=headers)


# --------------------------------------------------------------------------- service accounts


@routes("GET", r"/service_accounts", tier="premium")
def list_service_accounts(ctx: Ctx) -> Response:
    ctx.require_admin()
    rows = [u for u in ctx.state.user_order if u.user_type == SERVICE_ACCOUNT]
    order_by = ctx.choice("order_by", ("id", "username"), "id")
    sort = ctx.choice("sort", ("asc", "desc"), "desc")
    rows.sort(
        key=(lambda u: u.username) if order_by == "username" else (lambda u: u.id),
        reverse=sort == "desc",
    )
    if keyset_requested(ctx):
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.service_account(ctx.state, u) for u in chunk], headers=headers)


@routes("GET", r"/user/activities")
def activities(ctx: Ctx) -> Response:
    since = ctx.str_param("from") or (ctx.state.today() - timedelta(days=182)).isoformat()
    rows = [
        u
        for u in ctx.state.user_order
        if u.last_activity_on is not None
        and u.last_activity_on >= since[:10]
        and (ctx.is_admin or not u.private_profile)
    ]
    rows.sort(key=lambda u: (u.last_activity_on or "", u.id))
    chunk, headers = paginate_offset(ctx, rows)
    return json_response(
        [
            {
                "username": u.username,
                "last_activity_on": u.last_activity_on,
                "last_activity_at": u.last_activity_on,
            }
            for u in chunk
        ],
        headers=headers,
    )
