"""Tokens an administrator manages for a user: impersonation tokens and personal access tokens."""

from __future__ import annotations

from console.drill import views
from console.drill.access import get_user
from console.drill.model import Token, User
from console.drill.paging import paginate_offset
from console.drill.routes_tokens import new_token_value, parse_expiry
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


def _token_state_filter(ctx: Ctx, tokens: list[Token]) -> list[Token]:
    wanted = ctx.choice("state", ("all", "active", "inactive"), "all")
    today = ctx.state.today()
    if wanted == "active":
        return [t for t in tokens if t.active(today)]
    if wanted == "inactive":
        return [t for t in tokens if not t.active(today)]
    return tokens


@routes("GET", r"/users/(?P<id>\d+)/impersonation_tokens")
def list_impersonation(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    tokens = [t for t in ctx.state.tokens.values() if t.user_id == user.id and t.impersonation]
    chunk, headers = paginate_offset(ctx, _token_state_filter(ctx, tokens))
    return json_response([views.pat(t) for t in chunk], headers=headers)


def _impersonation_token(ctx: Ctx) -> Token:
    ctx.require_admin()
    user = get_user(ctx)
    token = ctx.state.tokens.get(ctx.id_param("token_id"))
    if token is None or token.user_id != user.id or not token.impersonation:
        raise not_found("Impersonation Token")
    return token


@routes("GET", r"/users/(?P<id>\d+)/impersonation_tokens/(?P<token_id>\d+)")
def get_impersonation(ctx: Ctx) -> Response:
    return json_response(views.pat(_impersonation_token(ctx)))


@routes("DELETE", r"/users/(?P<id>\d+)/impersonation_tokens/(?P<token_id>\d+)")
def revoke_impersonation(ctx: Ctx) -> Response:
    token = _impersonation_token(ctx)
    if not token.revoked:
        token.revoked = True
        owner = ctx.state.users[token.user_id]
        ctx.state.add_audit(
            author=ctx.caller,
            entity_type="User",
            entity_id=ctx.caller.id,
            event_name="personal_access_token_revoked",
            message=f"Revoked personal access token with id {token.id}",
            target=(owner.id, "User", owner.name),
            ip=ctx.ip,
        )
    return no_content()


def create_token_for(ctx: Ctx, user: User, *, impersonation: bool) -> Token:
    name = ctx.str_param("name")
    if not name:
        raise missing_param("name")
    scopes = ctx.list_param("scopes")
    if not scopes:
        raise missing_param("scopes")
    expires = parse_expiry(ctx, required=False)
    state = ctx.state
    token = state.add_token(
        Token(
            id=state.next_id("token"),
            user_id=user.id,
            name=name,
            value=new_token_value(state),
            scopes=scopes,
            created_at=state.now_iso(),
            expires_at=expires,
            description=ctx.str_param("description") or "",
            impersonation=impersonation,
        )
    )
    state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=ctx.caller.id,
        event_name="personal_access_token_created",
        message=f"Created personal access token with id {token.id}",
        target=(user.id, "User", user.name),
        ip=ctx.ip,
    )
    return token


@routes("POST", r"/users/(?P<id>\d+)/impersonation_tokens")
def create_impersonation(ctx: Ctx) -> Response:
    ctx.require_admin()
    token = create_token_for(ctx, get_user(ctx), impersonation=True)
    return json_response(views.pat(token, with_token=True), status=201)


@routes("POST", r"/users/(?P<id>\d+)/personal_access_tokens")
def create_pat_for_user(ctx: Ctx) -> Response:
    ctx.require_admin()
    token = create_token_for(ctx, get_user(ctx), impersonation=False)
    return json_response(views.pat(token, with_token=True), status=201)
