"""Response actions on personal access tokens.

Revoke is convergent (a second DELETE returns 204 again, but GitLab still emails and audits it:
the engine's pre-read avoids sending it at all). Rotate is not: each call mints a new token and
rotating an already revoked token revokes the whole token family, so it is never repeated.
"""

from __future__ import annotations

from collections.abc import Mapping

import gitlab

from actions.engine import (
    JSON,
    ApplyResult,
    BaseAction,
    HttpFailure,
    State,
    Target,
    get_json,
    http,
    register,
)
from console.secret import Secret


def _token_state(gl: gitlab.Gitlab, token_id: int) -> State:
    body = get_json(gl, f"/personal_access_tokens/{token_id}")
    if not isinstance(body, Mapping):
        raise HttpFailure(None, "unexpected response reading the token", transport=True)
    return State({
        "revoked": body.get("revoked"),
        "active": body.get("active"),
        "user_id": body.get("user_id"),
        "expires_at": body.get("expires_at"),
        "scopes": body.get("scopes"),
    })


class RevokeToken(BaseAction):
    name = "revoke_token"
    title = "Revoke token"
    description = "Revoke the personal access token immediately (it stops working at once)."
    target_kinds = frozenset({"token"})
    convergent = True
    already = "already revoked; nothing sent"

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _token_state(gl, target.id)

    def desired(self, state: State) -> bool:
        return state.get("revoked") is True

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "delete", f"/personal_access_tokens/{target.id}")

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 400:
            return f"GitLab could not revoke the token (400): {exc.message}"
        return None


class RotateToken(BaseAction):
    name = "rotate_token"
    title = "Rotate token"
    description = ("Revoke the token and mint a replacement with the same scopes (new value "
                   "shown once; it expires in 7 days by default). Never repeated automatically.")
    target_kinds = frozenset({"token"})
    convergent = False
    already = ("already revoked: not rotated (rotating a revoked token would revoke its whole "
               "token family)")
    resume_note = ("the replacement token's value was lost with the crash: revoke the new token "
                   "and create another if it is still needed")

    def __init__(self, *, expires_at: str | None = None) -> None:
        self.expires_at = expires_at

    def params(self) -> dict[str, JSON]:
        return {"expires_at": self.expires_at} if self.expires_at else {}

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _token_state(gl, target.id)

    def desired(self, state: State) -> bool:
        # Rotation revokes the old token. An already revoked token must not be rotated:
        # GitLab treats that as token reuse and revokes the whole family.
        return state.get("revoked") is True

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        data = {"expires_at": self.expires_at} if self.expires_at else None
        result = http(gl, "post", f"/personal_access_tokens/{target.id}/rotate", data=data)
        body = result.body if isinstance(result.body, Mapping) else {}
        value = body.get("token")
        extra: dict[str, JSON] = {"new_token_id": body.get("id"),
                                  "new_expires_at": body.get("expires_at")}
        return ApplyResult(result.http_status, result.request_id, None,
                           Secret(value) if isinstance(value, str) and value.strip() else None,
                           extra)

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 400:
            return f"GitLab refused to rotate the token (400): {exc.message}"
        return None


def _revoke(params: Mapping[str, JSON]) -> RevokeToken:
    return RevokeToken()


def _rotate(params: Mapping[str, JSON]) -> RotateToken:
    value = params.get("expires_at")
    return RotateToken(expires_at=str(value) if value else None)


register(RevokeToken.name, _revoke)
register(RotateToken.name, _rotate)
