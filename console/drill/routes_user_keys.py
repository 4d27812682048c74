"""A user's SSH keys, GPG keys and email addresses."""

from __future__ import annotations

from console.drill import views
from console.drill.access import get_user
from console.drill.model import Email, SshKey, User
from console.drill.paging import paginate_offset
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


@routes("GET", r"/users/(?P<id>[^/]+)/keys")
def list_keys(ctx: Ctx) -> Response:
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    chunk, headers = paginate_offset(ctx, ctx.state.ssh_keys.get(user.id, []))
    return json_response([views.ssh_key(k) for k in chunk], headers=headers)


def _find_key(ctx: Ctx, user: User) -> SshKey:
    ctx.state.ensure_detail(user)
    kid = ctx.id_param("key_id")
    for k in ctx.state.ssh_keys.get(user.id, []):
        if k.id == kid:
            return k
    raise not_found("Key")


@routes("GET", r"/users/(?P<id>[^/]+)/keys/(?P<key_id>\d+)")
def get_key(ctx: Ctx) -> Response:
    return json_response(views.ssh_key(_find_key(ctx, get_user(ctx))))


@routes("POST", r"/users/(?P<id>\d+)/keys")
def add_key(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    title = ctx.str_param("title")
    key = ctx.str_param("key")
    if not title:
        raise missing_param("title")
    if not key:
        raise missing_param("key")
    if not key.startswith(("ssh-", "ecdsa-", "sk-")):
        raise ApiError(
            400,
            {
                "message": {
                    "key": [
                        "type is forbidden. Must be RSA, ECDSA, ED25519, ECDSA_SK, or ED25519_SK"
                    ]
                }
            },
        )
    record = SshKey(
        ctx.state.next_id("ssh_key"),
        user.id,
        title,
        key,
        ctx.state.now_iso(),
        ctx.str_param("expires_at"),
        ctx.choice("usage_type", ("auth", "signing", "auth_and_signing"), "auth_and_signing")
        or "auth_and_signing",
    )
    ctx.state.ssh_keys.setdefault(user.id, []).append(record)
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=user.id,
        event_name="add_ssh_key",
        message="Added SSH key",
        target=(record.id, "Key", title),
        ip=ctx.ip,
    )
    return json_response(views.ssh_key(record), status=201)


@routes("DELETE", r"/users/(?P<id>\d+)/keys/(?P<key_id>\d+)")
def delete_key(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    key = _find_key(ctx, user)
    ctx.state.ssh_keys[user.id].remove(key)
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=user.id,
        event_name="remove_ssh_key",
        message="Removed SSH key",
        target=(key.id, "Key", key.title),
        ip=ctx.ip,
    )
    return no_content()


@routes("GET", r"/users/(?P<id>\d+)/gpg_keys")
def list_gpg(ctx: Ctx) -> Response:
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    chunk, headers = paginate_offset(ctx, ctx.state.gpg_keys.get(user.id, []))
    return json_response([views.gpg_key(k) for k in chunk], headers=headers)


def _remove_gpg(ctx: Ctx) -> None:
    ctx.require_admin()
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    kid = ctx.id_param("key_id")
    keys = ctx.state.gpg_keys.get(user.id, [])
    for k in keys:
        if k.id == kid:
            keys.remove(k)
            ctx.state.add_audit(
                author=ctx.caller,
                entity_type="User",
                entity_id=user.id,
                event_name="remove_gpg_key",
                message="Removed GPG key",
                target=(k.id, "GpgKey", k.key[:40]),
                ip=ctx.ip,
            )
            return
    raise not_found("GPG Key")


@routes("GET", r"/users/(?P<id>\d+)/gpg_keys/(?P<key_id>\d+)")
def get_gpg(ctx: Ctx) -> Response:
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    kid = ctx.id_param("key_id")
    for k in ctx.state.gpg_keys.get(user.id, []):
        if k.id == kid:
            return json_response(views.gpg_key(k))
    raise not_found("GPG Key")


@routes("DELETE", r"/users/(?P<id>\d+)/gpg_keys/(?P<key_id>\d+)")
def delete_gpg(ctx: Ctx) -> Response:
    _remove_gpg(ctx)
    return no_content()


@routes("POST", r"/users/(?P<id>\d+)/gpg_keys/(?P<key_id>\d+)/revoke")
def revoke_gpg(ctx: Ctx) -> Response:
    _remove_gpg(ctx)
    return Response(status=202, empty=True)


@routes("GET", r"/users/(?P<id>\d+)/emails")
def list_emails(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    chunk, headers = paginate_offset(ctx, ctx.state.emails.get(user.id, []))
    return json_response([views.email(e) for e in chunk], headers=headers)


@routes("POST", r"/users/(?P<id>\d+)/emails")
def add_email(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    address = ctx.str_param("email")
    if not address:
        raise missing_param("email")
    record = Email(
        ctx.state.next_id("email"),
        user.id,
        address,
        ctx.state.now_iso() if ctx.bool_param("skip_confirmation") else None,
    )
    ctx.state.emails.setdefault(user.id, []).append(record)
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=user.id,
        event_name="email_created",
        message=f"Added email {address}",
        target=(record.id, "Email", address),
        ip=ctx.ip,
    )
    return json_response(views.email(record), status=201)


@routes("DELETE", r"/users/(?P<id>\d+)/emails/(?P<email_id>\d+)")
def delete_email(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    ctx.state.ensure_detail(user)
    eid = ctx.id_param("email_id")
    emails = ctx.state.emails.get(user.id, [])
    for e in emails:
        if e.id == eid:
            emails.remove(e)
            ctx.state.add_audit(
                author=ctx.caller,
                entity_type="User",
                entity_id=user.id,
                event_name="email_destroyed",
                message=f"Removed email {e.email}",
                target=(e.id, "Email", e.email),
                ip=ctx.ip,
            )
            return no_content()
    raise not_found("Email")
