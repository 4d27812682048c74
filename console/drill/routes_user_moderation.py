"""User moderation: block, ban, deactivate, approve, delete, disable 2FA, and admin updates;
each change leaves GitLab's audit event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from console.drill import views
from console.drill.access import get_user
from console.drill.model import User
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    bad_request,
    forbidden,
    json_response,
    message_error,
    no_content,
)

routes = Registry()


def _moderation_target(ctx: Ctx) -> User:
    ctx.require_admin()
    return get_user(ctx)


def _audit_user(
    ctx: Ctx, user: User, event: str, message: str, extra: dict[str, Any] | None = None
) -> None:
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=user.id,
        event_name=event,
        message=message,
        target=(user.id, "User", user.name),
        ip=ctx.ip,
        extra=extra,
    )


@routes("POST", r"/users/(?P<id>\d+)/block")
def block(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.state == "ldap_blocked":
        raise forbidden("LDAP blocked users cannot be modified by the API")
    if user.id == ctx.caller.id:
        raise forbidden("The API initiating user cannot be blocked by the API")
    if user.internal:
        raise forbidden("An internal user cannot be blocked")
    if user.state in ("blocked", "banned"):
        # Already blocked: nothing changes and GitLab answers 201 with a JSON null body.
        return json_response(None, status=201)
    user.state = "blocked"
    _audit_user(ctx, user, "user_blocked", "Blocked user")
    return json_response(True, status=201)


@routes("POST", r"/users/(?P<id>\d+)/unblock")
def unblock(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.state == "ldap_blocked":
        raise forbidden("LDAP blocked users cannot be unblocked by the API")
    if user.state == "deactivated":
        raise forbidden("Deactivated users cannot be unblocked by the API")
    if user.state == "banned":
        # Stricter choice: a banned user must be unbanned, not unblocked.
        raise forbidden("Banned users cannot be unblocked by the API")
    if user.state == "active":
        return json_response(False, status=201)
    user.state = "active"
    _audit_user(ctx, user, "unblock_user", "Unblocked user")
    return json_response(True, status=201)


@routes("POST", r"/users/(?P<id>\d+)/ban")
def ban(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.id == ctx.caller.id or user.internal:
        raise forbidden()
    if user.state != "active":
        raise message_error(403, "You cannot ban blocked users.")
    user.state = "banned"
    _audit_user(ctx, user, "ban_user", "Banned user")
    return json_response(True, status=201)


@routes("POST", r"/users/(?P<id>\d+)/unban")
def unban(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.state != "banned":
        raise message_error(403, "You cannot unban active users.")
    user.state = "active"
    _audit_user(ctx, user, "unban_user", "Unbanned user")
    return json_response(True, status=201)


MINIMUM_INACTIVE_DAYS = 90


@routes("POST", r"/users/(?P<id>\d+)/deactivate")
def deactivate(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.state == "deactivated":
        return json_response(True, status=201)
    if user.blocked_like or user.state == "banned":
        raise forbidden("A blocked user cannot be deactivated by the API")
    if user.internal:
        raise forbidden("An internal user cannot be deactivated by the API")
    cutoff = (ctx.state.today() - timedelta(days=MINIMUM_INACTIVE_DAYS)).isoformat()
    if user.last_activity_on is not None and user.last_activity_on > cutoff:
        raise forbidden(
            "The user you are trying to deactivate has been active in the past "
            f"{MINIMUM_INACTIVE_DAYS} days and cannot be deactivated"
        )
    user.state = "deactivated"
    _audit_user(ctx, user, "user_deactivate", "Deactivated user")
    return json_response(True, status=201)


@routes("POST", r"/users/(?P<id>\d+)/activate")
def activate(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.blocked_like or user.state == "banned":
        raise forbidden("A blocked user must be unblocked to be activated")
    if user.state == "deactivated":
        user.state = "active"
        _audit_user(ctx, user, "user_activate", "Activated user")
    return json_response(True, status=201)


@routes("POST", r"/users/(?P<id>\d+)/approve")
def approve(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.state != "blocked_pending_approval":
        raise ApiError(
            409, {"message": "The user you are trying to approve is not pending approval"}
        )
    user.state = "active"
    _audit_user(ctx, user, "user_approved", "Instance access request approved")
    return json_response({"message": "Success"}, status=201)


@routes("POST", r"/users/(?P<id>\d+)/reject")
def reject(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.state != "blocked_pending_approval":
        raise ApiError(409, {"message": "User does not have a pending request"})
    _audit_user(ctx, user, "user_rejected", "Instance access request rejected")
    ctx.state.remove_user(user)
    return json_response({"message": "Success"}, status=200)


@routes("DELETE", r"/users/(?P<id>\d+)")
def delete_user(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    state = ctx.state
    hard = bool(ctx.bool_param("hard_delete", False))
    for m in state.members:
        if m.user_id == user.id and m.source_type == "Namespace" and m.access_level == 50:
            owners = [
                o
                for o in state.members
                if o.source_type == "Namespace"
                and o.source_id == m.source_id
                and o.access_level == 50
            ]
            if len(owners) == 1 and not hard:
                raise message_error(409, "User is a sole owner of a group; use hard_delete")
    _audit_user(ctx, user, "user_destroyed", f"User {user.username} scheduled for deletion")
    for t in state.tokens.values():
        if t.user_id == user.id:
            t.revoked = True
    state.members = [m for m in state.members if m.user_id != user.id]
    state.remove_user(user)
    return no_content()


@routes("PATCH", r"/users/(?P<id>\d+)/disable_two_factor")
def disable_two_factor(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    if user.is_admin:
        raise forbidden(
            "Two-factor authentication for admins cannot be disabled via the API. "
            "Use the Rails console"
        )
    if not user.two_factor:
        raise bad_request("Two-factor authentication is not enabled for this user")
    user.two_factor = False
    _audit_user(ctx, user, "user_disable_two_factor", "Disabled two-factor authentication")
    return no_content()


@routes("PUT", r"/users/(?P<id>\d+)")
def update_user(ctx: Ctx) -> Response:
    user = _moderation_target(ctx)
    state = ctx.state
    changes: list[tuple[str, str, str, str]] = []  # (event, change, from, to)
    username = ctx.str_param("username")
    if username is not None and username.lower() != user.username.lower():
        if username.lower() in state.by_username:
            raise message_error(409, "Username has already been taken")
        state.by_username.pop(user.username.lower(), None)
        changes.append(("user_username_updated", "username", user.username, username))
        user.username = username
        state.by_username[username.lower()] = user
    email = ctx.str_param("email")
    if email is not None and email.lower() != user.email.lower():
        if "@" not in email:
            raise ApiError(400, {"message": {"email": ["is invalid"]}})
        if any(u.email.lower() == email.lower() for u in state.user_order):
            raise message_error(409, "Email has already been taken")
        changes.append(("user_email_address_updated", "email address", user.email, email))
        user.email = email
    name = ctx.str_param("name")
    if name is not None and name != user.name:
        changes.append(("user_name_updated", "name", user.name, name))
        user.name = name
    password = ctx.str_param("password")
    if password is not None:
        if len(password) < 8:
            raise ApiError(
                400, {"message": {"password": ["is too short (minimum is 8 characters)"]}}
            )
        # An admin-set password must be changed at next sign-in.
        user.password_expires_at = state.now_iso()
        changes.append(("user_password_updated", "", "", ""))
    admin = ctx.bool_param("admin")
    if admin is not None and admin != user.is_admin:
        changes.append(
            ("user_admin_status_updated", "admin", str(user.is_admin).lower(), str(admin).lower())
        )
        user.is_admin = admin
    external = ctx.bool_param("external")
    if external is not None and external != user.external:
        changes.append(
            (
                "user_external_status_updated",
                "external",
                str(user.external).lower(),
                str(external).lower(),
            )
        )
        user.external = external
    auditor = ctx.bool_param("auditor")
    if auditor is not None and state.tier != "free" and auditor != user.auditor:
        changes.append(
            (
                "user_auditor_status_updated",
                "auditor",
                str(user.auditor).lower(),
                str(auditor).lower(),
            )
        )
        user.auditor = auditor
    if ctx.str_param("note") is not None:
        user.note = ctx.str_param("note")  # admin notes are not audited by GitLab
    for attr in ("bio", "public_email", "job_title", "organization"):
        value = ctx.str_param(attr)
        if value is not None:
            setattr(user, attr, value)
    for attr in ("can_create_group", "private_profile"):
        flag = ctx.bool_param(attr)
        if flag is not None:
            setattr(user, attr, flag)
    limit = ctx.int_param("projects_limit")
    if limit is not None:
        user.projects_limit = limit
    user.updated_at = state.now_iso()
    for event, change, old, new in changes:
        if event == "user_password_updated":
            _audit_user(ctx, user, event, "Password updated")
        else:
            _audit_user(
                ctx,
                user,
                event,
                f"Changed {change} from {old} to {new}",
                extra={"change": change, "from": old, "to": new},
            )
    return json_response(views.user_with_admin(state, user))
