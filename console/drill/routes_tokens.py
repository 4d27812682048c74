"""Personal access tokens and group/project access tokens (bot-user tokens).

Rotation follows GitLab: the old token is revoked, the new one expires in 7 days unless
``expires_at`` is given, and rotation writes **no** audit event. Presenting an already revoked
token to a rotate endpoint is treated as reuse: the whole token family is revoked and the
request fails 401 (see ``DrillServer._authenticate``). Rotating a revoked token by id with a
valid token is a 400.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from console.drill import views
from console.drill.access import MAINTAINER, OWNER, group_for, project_for
from console.drill.model import ACCESS_NAMES, PROJECT_BOT, Member, Token, User
from console.drill.paging import KEYSET_UNAVAILABLE, keyset_requested, paginate_offset
from console.drill.state import DrillState
from console.drill.timefmt import iso
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    bad_request,
    json_response,
    message_error,
    missing_param,
    no_content,
    not_found,
    param_error,
)

routes = Registry()

DEFAULT_ROTATION_DAYS = 7
MAX_LIFETIME_DAYS = 365
ROTATE_PATH = r"^/(personal_access_tokens|groups/[^/]+/access_tokens|projects/[^/]+/access_tokens)/[^/]+/rotate$"  # noqa: E501


def new_token_value(state: DrillState, prefix: str = "glpat-") -> str:
    return prefix + secrets.token_urlsafe(15)[:20]


def parse_expiry(ctx: Ctx, *, required: bool) -> str | None:
    raw = ctx.str_param("expires_at")
    if raw is None or raw == "":
        if required:
            raise missing_param("expires_at")
        return None
    try:
        value = date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise param_error("expires_at is invalid") from exc
    today = ctx.state.today()
    if value <= today:
        raise ApiError(400, {"message": {"expires_at": ["must be in the future"]}})
    if value > today + timedelta(days=MAX_LIFETIME_DAYS):
        raise ApiError(
            400,
            {
                "message": {
                    "expires_at": [
                        "must be before " + (today + timedelta(days=MAX_LIFETIME_DAYS)).isoformat()
                    ]
                }
            },
        )
    return value.isoformat()


def token_family(state: DrillState, token: Token) -> list[Token]:
    """Every token linked to ``token`` by rotation (ancestors and descendants)."""
    root = token
    while root.previous_id is not None and root.previous_id in state.tokens:
        root = state.tokens[root.previous_id]
    family = [root]
    current = root
    while current.rotated_to is not None and current.rotated_to in state.tokens:
        current = state.tokens[current.rotated_to]
        family.append(current)
    return family


def revoke_family(state: DrillState, token: Token) -> None:
    for member in token_family(state, token):
        member.revoked = True


def rotate(ctx: Ctx, token: Token) -> Token:
    state = ctx.state
    if token.revoked:
        raise bad_request("Token already revoked")
    if token.expired(state.today()):
        raise bad_request("Token already expired")
    expires = (
        parse_expiry(ctx, required=False)
        or (state.today() + timedelta(days=DEFAULT_ROTATION_DAYS)).isoformat()
    )
    token.revoked = True
    prefix = "glpat-"
    fresh = state.add_token(
        Token(
            id=state.next_id("token"),
            user_id=token.user_id,
            name=token.name,
            value=new_token_value(state, prefix),
            scopes=list(token.scopes),
            created_at=state.now_iso(),
            expires_at=expires,
            description=token.description,
            impersonation=token.impersonation,
            resource_type=token.resource_type,
            resource_id=token.resource_id,
            access_level=token.access_level,
            previous_id=token.id,
        )
    )
    token.rotated_to = fresh.id
    return fresh


def _revoke_pat(ctx: Ctx, token: Token) -> None:
    if token.revoked:
        return  # repeated revoke: still 204, nothing new to audit
    token.revoked = True
    owner = ctx.state.users.get(token.user_id)
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=ctx.caller.id,
        event_name="personal_access_token_revoked",
        message=f"Revoked personal access token with id {token.id}",
        target=(token.user_id, "User", owner.name if owner else ""),
        ip=ctx.ip,
        extra={"revocation_source": "self" if token.user_id == ctx.caller.id else "admin"},
    )


# --------------------------------------------------------------------------- PATs


def _datetime_filter(
    ctx: Ctx, tokens: list[Token], name: str, attr: str, after: bool
) -> list[Token]:
    value = ctx.datetime_param(name)
    if value is None:
        return tokens
    stamp = iso(value) or ""
    if after:
        return [t for t in tokens if getattr(t, attr) is not None and getattr(t, attr) >= stamp]
    return [t for t in tokens if getattr(t, attr) is not None and getattr(t, attr) <= stamp]


def filter_tokens(ctx: Ctx, tokens: list[Token]) -> list[Token]:
    today = ctx.state.today()
    wanted = ctx.choice("state", ("active", "inactive"))
    if wanted == "active":
        tokens = [t for t in tokens if t.active(today)]
    elif wanted == "inactive":
        tokens = [t for t in tokens if not t.active(today)]
    revoked = ctx.bool_param("revoked")
    if revoked is not None:
        tokens = [t for t in tokens if t.revoked == revoked]
    tokens = _datetime_filter(ctx, tokens, "created_after", "created_at", True)
    tokens = _datetime_filter(ctx, tokens, "created_before", "created_at", False)
    tokens = _datetime_filter(ctx, tokens, "last_used_after", "last_used_at", True)
    tokens = _datetime_filter(ctx, tokens, "last_used_before", "last_used_at", False)
    for name, after in (("expires_after", True), ("expires_before", False)):
        raw = ctx.str_param(name)
        if raw:
            try:
                bound = date.fromisoformat(raw[:10]).isoformat()
            except ValueError as exc:
                raise param_error(f"{name} is invalid") from exc
            tokens = [
                t
                for t in tokens
                if t.expires_at is not None
                and (t.expires_at >= bound if after else t.expires_at <= bound)
            ]
    search = ctx.str_param("search")
    if search:
        tokens = [t for t in tokens if search.lower() in t.name.lower()]
    sort = ctx.choice(
        "sort",
        (
            "created_asc",
            "created_desc",
            "expires_asc",
            "expires_desc",
            "last_used_asc",
            "last_used_desc",
            "name_asc",
            "name_desc",
        ),
    )
    if sort:
        field, direction = sort.rsplit("_", 1)
        attr = {
            "created": "created_at",
            "expires": "expires_at",
            "last_used": "last_used_at",
            "name": "name",
        }[field]
        tokens = sorted(
            tokens, key=lambda t: (getattr(t, attr) or "", t.id), reverse=direction == "desc"
        )
    return tokens


@routes("GET", r"/personal_access_tokens")
def list_pats(ctx: Ctx) -> Response:
    if keyset_requested(ctx):
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
    state = ctx.state
    user_id = ctx.int_param("user_id")
    if ctx.is_admin:
        if user_id is not None and user_id not in state.users:
            raise not_found("User")
        tokens = [t for t in state.tokens.values() if user_id is None or t.user_id == user_id]
    else:
        if user_id is not None and user_id != ctx.caller.id:
            raise message_error(401, "401 Unauthorized")
        tokens = [
            t for t in state.tokens.values() if t.user_id == ctx.caller.id and not t.impersonation
        ]
    tokens.sort(key=lambda t: t.id)
    chunk, headers = paginate_offset(ctx, filter_tokens(ctx, tokens))
    return json_response([views.pat(t) for t in chunk], headers=headers)


def _pat_for(ctx: Ctx) -> Token:
    ref = ctx.match.get("token_id", "")
    if ref == "self":
        return ctx.token
    token = ctx.state.tokens.get(int(ref)) if ref.isdigit() else None
    if token is not None and token.resource_type is not None:
        # A group or project access token has its own endpoints: asked for through the
        # personal-token ones it does not exist (the rotate-a-group-token-here bug of issue 10).
        token = None
        if not ctx.is_admin:
            raise message_error(401, "401 Unauthorized")
    if ctx.is_admin:
        if token is None:
            raise not_found("Personal Access Token")
        return token
    if token is None or token.user_id != ctx.caller.id or token.impersonation:
        raise message_error(401, "401 Unauthorized")
    return token


@routes("GET", r"/personal_access_tokens/(?P<token_id>self|\d+)")
def get_pat(ctx: Ctx) -> Response:
    return json_response(views.pat(_pat_for(ctx)))


@routes("DELETE", r"/personal_access_tokens/(?P<token_id>self|\d+)")
def delete_pat(ctx: Ctx) -> Response:
    _revoke_pat(ctx, _pat_for(ctx))
    return no_content()


@routes("POST", r"/personal_access_tokens/(?P<token_id>self|\d+)/rotate")
def rotate_pat(ctx: Ctx) -> Response:
    token = _pat_for(ctx)
    if ctx.match.get("token_id") == "self" and not ({"api", "self_rotate"} & set(ctx.token.scopes)):
        raise ApiError(403, {"error": "insufficient_scope", "scope": "api self_rotate"})
    if token.resource_type is not None and ctx.match.get("token_id") == "self":
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    fresh = rotate(ctx, token)
    return json_response(views.pat(fresh, with_token=True))


# --------------------------------------------------------------------------- resource tokens


def _resource(ctx: Ctx) -> tuple[str, int]:
    if ctx.path.startswith("/groups/"):
        return "group", group_for(ctx, OWNER).id
    return "project", project_for(ctx, MAINTAINER).id


def _resource_tokens(ctx: Ctx, kind: str, rid: int) -> list[Token]:
    return sorted(
        (t for t in ctx.state.tokens.values() if t.resource_type == kind and t.resource_id == rid),
        key=lambda t: t.id,
    )


def _resource_token(ctx: Ctx) -> tuple[str, int, Token]:
    kind, rid = _resource(ctx)
    ref = ctx.match.get("token_id", "")
    token: Token | None
    if ref == "self":
        token = (
            ctx.token if ctx.token.resource_type == kind and ctx.token.resource_id == rid else None
        )
    else:
        token = ctx.state.tokens.get(int(ref)) if ref.isdigit() else None
    if token is None or token.resource_type != kind or token.resource_id != rid:
        raise not_found("Access Token")
    return kind, rid, token


_RESOURCE = r"/(?P<kind>groups|projects)/(?P<id>[^/]+)/access_tokens"


@routes("GET", _RESOURCE)
def list_resource_tokens(ctx: Ctx) -> Response:
    if keyset_requested(ctx):
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
    kind, rid = _resource(ctx)
    chunk, headers = paginate_offset(ctx, filter_tokens(ctx, _resource_tokens(ctx, kind, rid)))
    return json_response([views.resource_token(t) for t in chunk], headers=headers)


@routes("GET", _RESOURCE + r"/(?P<token_id>self|\d+)")
def get_resource_token(ctx: Ctx) -> Response:
    return json_response(views.resource_token(_resource_token(ctx)[2]))


@routes("POST", _RESOURCE)
def create_resource_token(ctx: Ctx) -> Response:
    kind, rid = _resource(ctx)
    state = ctx.state
    name = ctx.str_param("name")
    if not name:
        raise missing_param("name")
    scopes = ctx.list_param("scopes")
    if not scopes:
        raise missing_param("scopes")
    level = ctx.int_param("access_level", 40) or 40
    if level not in (10, 15, 20, 30, 40, 50):
        raise ApiError(400, {"error": "access_level does not have a valid value"})
    expires = parse_expiry(ctx, required=True)
    uid = state.next_id("user")
    username = f"{kind}_{rid}_bot_{secrets.token_hex(16)}"
    now = state.now_iso()
    bot = state.add_user(
        User(
            id=uid,
            username=username,
            name=name,
            email=f"{username}@noreply.drill.invalid",
            state="active",
            user_type=PROJECT_BOT,
            is_admin=False,
            two_factor=False,
            external=False,
            created_at=now,
            created_by=ctx.caller.id,
            confirmed_at=now,
            last_sign_in_at=None,
            current_sign_in_at=None,
            last_activity_on=None,
            current_sign_in_ip=None,
            last_sign_in_ip=None,
            sign_in_count=0,
            namespace_id=uid,
            updated_at=now,
        )
    )
    state.members.append(
        Member("Namespace" if kind == "group" else "Project", rid, uid, level, now, ctx.caller.id)
    )
    token = state.add_token(
        Token(
            id=state.next_id("token"),
            user_id=bot.id,
            name=name,
            value=new_token_value(state),
            scopes=scopes,
            created_at=now,
            expires_at=expires,
            description=ctx.str_param("description") or "",
            resource_type=kind,
            resource_id=rid,
            access_level=level,
        )
    )
    entity = "Group" if kind == "group" else "Project"
    state.add_audit(
        author=ctx.caller,
        entity_type=entity,
        entity_id=rid,
        event_name=f"{kind}_access_token_created",
        message=f"Created {kind} access token with token_id: {token.id} with "
        f"scopes: {scopes} and {views_level(level)} access level.",
        target=(token.id, "PersonalAccessToken", name),
        ip=ctx.ip,
    )
    return json_response(views.resource_token(token, with_token=True), status=201)


def views_level(level: int) -> str:
    return ACCESS_NAMES.get(level, str(level))


@routes("DELETE", _RESOURCE + r"/(?P<token_id>self|\d+)")
def revoke_resource_token(ctx: Ctx) -> Response:
    kind, rid, token = _resource_token(ctx)
    if not token.revoked:
        token.revoked = True
        ctx.state.add_audit(
            author=ctx.caller,
            entity_type="Group" if kind == "group" else "Project",
            entity_id=rid,
            event_name=f"{kind}_access_token_deleted",
            message=f"Revoked {kind} access token with token_id: {token.id}",
            target=(token.id, "PersonalAccessToken", token.name),
            ip=ctx.ip,
        )
    return no_content()


@routes("POST", _RESOURCE + r"/(?P<token_id>self|\d+)/rotate")
def rotate_resource_token(ctx: Ctx) -> Response:
    _kind, _rid, token = _resource_token(ctx)
    fresh = rotate(ctx, token)
    return json_response(views.resource_token(fresh, with_token=True))
