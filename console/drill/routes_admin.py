"""Admin-only endpoints the eradication actions need: token information and OAuth applications.

``POST /admin/token`` (GitLab 17.5 behind a flag, GA 17.8) answers "what is this token?" for a
pasted value: personal, impersonation, group/project access, deploy and runner tokens. Unknown
values are 404 and the value itself is never echoed or logged.

The Applications API only sees *instance-wide* OAuth applications: GitLab exposes no REST call
for the applications a user owns, so neither does the drill (user-owned apps are listed nowhere).
"""

from __future__ import annotations

import secrets
from typing import Any

from console.drill import views
from console.drill.model import DeployToken, OAuthApp, Runner, Token
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

#: The first release where the token-information endpoint is generally available.
TOKEN_INFO_SINCE = (17, 8)


def _version(text: str) -> tuple[int, int]:
    parts = text.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


@routes("POST", r"/admin/token")
def token_information(ctx: Ctx) -> Response:
    ctx.require_admin()
    if _version(ctx.state.version) < TOKEN_INFO_SINCE:
        raise ApiError(404, {"error": "404 Not Found"})  # no such route on older versions
    value = ctx.str_param("token")
    if not value:
        raise missing_param("token")
    state = ctx.state
    found: Token | DeployToken | Runner | None = state.token_by_value(value)
    if isinstance(found, Token):
        view = views.resource_token(found) if found.resource_type else views.pat(found)
        return json_response(view)
    for dt in state.deploy_tokens.values():
        if secrets.compare_digest(dt.token, value):
            body: dict[str, Any] = views.deploy_token(dt)
            body["token_type"] = "DeployToken"  # noqa: S105 (a type name)
            return json_response(body)
    for runner in state.runners.values():
        if secrets.compare_digest(runner.token, value):
            body = views.runner_detail(state, runner)
            body["token_type"] = "Ci::Runner"  # noqa: S105 (a type name)
            return json_response(body)
    raise not_found()


@routes("GET", r"/applications")
def list_applications(ctx: Ctx) -> Response:
    ctx.require_admin()
    rows = sorted(
        (a for a in ctx.state.oauth_apps.values() if a.owner_id is None), key=lambda a: a.id
    )
    return json_response([views.oauth_app(a) for a in rows])


@routes("POST", r"/applications")
def create_application(ctx: Ctx) -> Response:
    ctx.require_admin()
    name, redirect, scopes = (
        ctx.str_param("name"),
        ctx.str_param("redirect_uri"),
        ctx.str_param("scopes"),
    )
    for field, value in (("name", name), ("redirect_uri", redirect), ("scopes", scopes)):
        if not value:
            raise missing_param(field)
    state = ctx.state
    app = OAuthApp(
        state.next_id("oauth_app"),
        secrets.token_hex(32),
        str(name),
        "gloas-" + secrets.token_hex(32),
        str(redirect),
        str(scopes).split(),
        state.now_iso(),
        bool(ctx.bool_param("confidential", True)),
    )
    state.oauth_apps[app.id] = app
    state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=ctx.caller.id,
        event_name="oauth_application_created",
        message=f"OAuth application added: {app.name}",
        target=(app.id, "Doorkeeper::Application", app.name),
        ip=ctx.ip,
    )
    body = views.oauth_app(app)
    body["secret"] = app.secret  # shown once, on creation only
    return json_response(body, status=200)


@routes("DELETE", r"/applications/(?P<id>\d+)")
def delete_application(ctx: Ctx) -> Response:
    ctx.require_admin()
    app = ctx.state.oauth_apps.get(ctx.id_param())
    if app is None or app.owner_id is not None:
        raise not_found("Application")
    del ctx.state.oauth_apps[app.id]
    ctx.state.add_audit(
        author=ctx.caller,
        entity_type="User",
        entity_id=ctx.caller.id,
        event_name="oauth_application_deleted",
        message=f"OAuth application deleted: {app.name}",
        target=(app.id, "Doorkeeper::Application", app.name),
        ip=ctx.ip,
    )
    return no_content()
