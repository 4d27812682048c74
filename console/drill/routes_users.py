"""Users API: list/get, moderation, 2FA, updates and the per-user sub-resources."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from console.drill import views
from console.drill.model import HUMAN, PROJECT_BOT, SERVICE_ACCOUNT, Email, SshKey, Token, User
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
    bad_request,
    forbidden,
    json_response,
    message_error,
    missing_param,
    no_content,
    not_found,
    param_error,
)

routes = Registry()

# Filters GitLab strips (silently) unless the caller can read all resources (admin/auditor).
ADMIN_ONLY_FILTERS = ("created_after", "created_before", "order_by", "sort", "two_factor",
                      "without_projects", "admins", "external", "skip_ldap", "auditors")
USER_ORDER = ("id", "name", "username", "created_at", "updated_at")


def get_user(ctx: Ctx, key: str = "id") -> User:
    user = ctx.state.find_user(ctx.match.get(key, ""))
    if user is None:
        raise not_found("User")
    return user


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
            checks.append(lambda u: any(i.get("provider") == provider
                                        and str(i.get("extern_uid")) == extern_uid
                                        for i in u.identities))
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
            ctx, items, key,
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
    return state.cached_list(("users_by_created_at",),
                             lambda: sorted(state.user_order, key=lambda u: (u.created_at, u.id)))


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
    lo = 0 if after is None else bisect_left(by_created, iso(after) or "",
                                             key=lambda u: u.created_at)
    hi = len(by_created) if before is None else bisect_right(by_created, iso(before) or "",
                                                              key=lambda u: u.created_at)
    return sorted(by_created[lo:hi], key=lambda u: u.id)


_PAGING_PARAMS = frozenset({"cursor", "page", "per_page", "pagination", "private_token"})


def _list_params(ctx: Ctx) -> tuple[tuple[str, str], ...]:
    """The request's parameters that shape the list (not which page of it), canonically."""
    return tuple(sorted((name, repr(value)) for name, value in ctx.params.items()
                        if name not in _PAGING_PARAMS))


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
        return json_response(views.user_details_with_admin(state, user,
                                                           highest_role(state, user.id)))
    if user.state == "banned":
        raise not_found("User")
    return json_response(views.user_profile(state, user))


@routes("GET", r"/user")
def current_user(ctx: Ctx) -> Response:
    u = ctx.caller
    if u.is_admin:
        return json_response(views.user_details_with_admin(ctx.state, u,
                                                           highest_role(ctx.state, u.id)))
    return json_response(views.user_public(ctx.state, u))


# --------------------------------------------------------------------------- moderation


def _moderation_target(ctx: Ctx) -> User:
    ctx.require_admin()
    return get_user(ctx)


def _audit_user(ctx: Ctx, user: User, event: str, message: str,
                extra: dict[str, Any] | None = None) -> None:
    ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=user.id,
                        event_name=event, message=message, target=(user.id, "User", user.name),
                        ip=ctx.ip, extra=extra)


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
        raise ApiError(409, {"message": "The user you are trying to approve is not pending "
                                        "approval"})
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
            owners = [o for o in state.members if o.source_type == "Namespace"
                      and o.source_id == m.source_id and o.access_level == 50]
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
        raise forbidden("Two-factor authentication for admins cannot be disabled via the API. "
                        "Use the Rails console")
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
            raise ApiError(400, {"message": {"password": [
                "is too short (minimum is 8 characters)"]}})
        # An admin-set password must be changed at next sign-in.
        user.password_expires_at = state.now_iso()
        changes.append(("user_password_updated", "", "", ""))
    admin = ctx.bool_param("admin")
    if admin is not None and admin != user.is_admin:
        changes.append(("user_admin_status_updated", "admin", str(user.is_admin).lower(),
                        str(admin).lower()))
        user.is_admin = admin
    external = ctx.bool_param("external")
    if external is not None and external != user.external:
        changes.append(("user_external_status_updated", "external",
                        str(user.external).lower(), str(external).lower()))
        user.external = external
    auditor = ctx.bool_param("auditor")
    if auditor is not None and state.tier != "free" and auditor != user.auditor:
        changes.append(("user_auditor_status_updated", "auditor", str(user.auditor).lower(),
                        str(auditor).lower()))
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
            _audit_user(ctx, user, event, f"Changed {change} from {old} to {new}",
                        extra={"change": change, "from": old, "to": new})
    return json_response(views.user_with_admin(state, user))


# --------------------------------------------------------------------------- SSH / GPG / emails


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
        raise ApiError(400, {"message": {"key": ["type is forbidden. Must be RSA, ECDSA, "
                                                 "ED25519, ECDSA_SK, or ED25519_SK"]}})
    record = SshKey(ctx.state.next_id("ssh_key"), user.id, title, key, ctx.state.now_iso(),
                    ctx.str_param("expires_at"),
                    ctx.choice("usage_type", ("auth", "signing", "auth_and_signing"),
                               "auth_and_signing") or "auth_and_signing")
    ctx.state.ssh_keys.setdefault(user.id, []).append(record)
    ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=user.id,
                        event_name="add_ssh_key", message="Added SSH key",
                        target=(record.id, "Key", title), ip=ctx.ip)
    return json_response(views.ssh_key(record), status=201)


@routes("DELETE", r"/users/(?P<id>\d+)/keys/(?P<key_id>\d+)")
def delete_key(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    key = _find_key(ctx, user)
    ctx.state.ssh_keys[user.id].remove(key)
    ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=user.id,
                        event_name="remove_ssh_key", message="Removed SSH key",
                        target=(key.id, "Key", key.title), ip=ctx.ip)
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
            ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=user.id,
                                event_name="remove_gpg_key", message="Removed GPG key",
                                target=(k.id, "GpgKey", k.key[:40]), ip=ctx.ip)
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
    record = Email(ctx.state.next_id("email"), user.id, address,
                   ctx.state.now_iso() if ctx.bool_param("skip_confirmation") else None)
    ctx.state.emails.setdefault(user.id, []).append(record)
    ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=user.id,
                        event_name="email_created", message=f"Added email {address}",
                        target=(record.id, "Email", address), ip=ctx.ip)
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
            ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=user.id,
                                event_name="email_destroyed", message=f"Removed email {e.email}",
                                target=(e.id, "Email", e.email), ip=ctx.ip)
            return no_content()
    raise not_found("Email")


# --------------------------------------------------------------------------- memberships/events


@routes("GET", r"/users/(?P<id>\d+)/memberships")
def memberships(ctx: Ctx) -> Response:
    ctx.require_admin()
    user = get_user(ctx)
    kind = ctx.choice("type", ("Project", "Namespace"))
    rows = [m for m in ctx.state.members if m.user_id == user.id
            and (kind is None or m.source_type == kind)]
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


# --------------------------------------------------------------------------- tokens per user


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
        ctx.state.add_audit(author=ctx.caller, entity_type="User", entity_id=ctx.caller.id,
                            event_name="personal_access_token_revoked",
                            message=f"Revoked personal access token with id {token.id}",
                            target=(owner.id, "User", owner.name), ip=ctx.ip)
    return no_content()


def create_token_for(ctx: Ctx, user: User, *, impersonation: bool) -> Token:
    from console.drill.routes_tokens import new_token_value, parse_expiry

    name = ctx.str_param("name")
    if not name:
        raise missing_param("name")
    scopes = ctx.list_param("scopes")
    if not scopes:
        raise missing_param("scopes")
    expires = parse_expiry(ctx, required=False)
    state = ctx.state
    token = state.add_token(Token(
        id=state.next_id("token"), user_id=user.id, name=name, value=new_token_value(state),
        scopes=scopes, created_at=state.now_iso(), expires_at=expires,
        description=ctx.str_param("description") or "", impersonation=impersonation))
    state.add_audit(author=ctx.caller, entity_type="User", entity_id=ctx.caller.id,
                    event_name="personal_access_token_created",
                    message=f"Created personal access token with id {token.id}",
                    target=(user.id, "User", user.name), ip=ctx.ip)
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


# --------------------------------------------------------------------------- service accounts


@routes("GET", r"/service_accounts", tier="premium")
def list_service_accounts(ctx: Ctx) -> Response:
    ctx.require_admin()
    rows = [u for u in ctx.state.user_order if u.user_type == SERVICE_ACCOUNT]
    order_by = ctx.choice("order_by", ("id", "username"), "id")
    sort = ctx.choice("sort", ("asc", "desc"), "desc")
    rows.sort(key=(lambda u: u.username) if order_by == "username" else (lambda u: u.id),
              reverse=sort == "desc")
    if keyset_requested(ctx):
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.service_account(ctx.state, u) for u in chunk], headers=headers)


@routes("GET", r"/user/activities")
def activities(ctx: Ctx) -> Response:
    since = ctx.str_param("from") or (ctx.state.today() - timedelta(days=182)).isoformat()
    rows = [u for u in ctx.state.user_order
            if u.last_activity_on is not None and u.last_activity_on >= since[:10]
            and (ctx.is_admin or not u.private_profile)]
    rows.sort(key=lambda u: (u.last_activity_on or "", u.id))
    chunk, headers = paginate_offset(ctx, rows)
    return json_response([{"username": u.username, "last_activity_on": u.last_activity_on,
                           "last_activity_at": u.last_activity_on} for u in chunk],
                         headers=headers)

