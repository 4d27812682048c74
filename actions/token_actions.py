"""Response actions on access tokens, each through its own kind's endpoint.

Kinds: ``personal`` (``/personal_access_tokens/:id``), ``impersonation``
(``/users/:user_id/impersonation_tokens/:id``), ``group`` and ``project``
(``/groups|projects/:id/access_tokens/:id``). A group token asked through the personal-token
endpoint is 404, so the kind and its owner are parameters of the action, journaled with it.

Revoke is convergent (a second DELETE returns 204 again, but GitLab still emails and audits it:
the engine's pre-read avoids sending it at all). Rotate is not: each call mints a new token and
rotating an already revoked token revokes the whole token family, so it is never repeated.
GitLab has no REST call to rotate an impersonation token (only the Admin Area can): revoke it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import gitlab

from actions.base import BaseAction
from actions.model import JSON, ApplyResult, Attention, State, Target
from actions.registry import register
from actions.resource import Call
from actions.transport import HttpFailure, get_json, http
from console.sanitize import safe
from console.secret import Secret
from console.timeutil import parse_ts

TOKEN_KINDS = ("personal", "impersonation", "group", "project")
#: margin for the server's clock when looking for what a lost rotate created
CLOCK_MARGIN = timedelta(minutes=5)


def token_path(kind: str, owner_id: int | None, token_id: int | str) -> str:
    """The token's own endpoint (its owner: the user, group or project)."""
    if kind == "personal":
        return f"/personal_access_tokens/{token_id}"
    if kind == "impersonation":
        return f"/users/{owner_id}/impersonation_tokens/{token_id}"
    if kind in ("group", "project"):
        return f"/{kind}s/{owner_id}/access_tokens/{token_id}"
    raise ValueError(f"unknown token kind {kind!r}")


def token_kind_of(token: Mapping[str, JSON]) -> tuple[str, int | None]:
    """(kind, owner id) from a token's JSON (admin list, token information or a resource list)."""
    rtype = token.get("resource_type")
    if rtype in ("group", "project"):
        return str(rtype), int(token["resource_id"])
    if token.get("impersonation"):
        return "impersonation", int(token["user_id"])
    return "personal", None


def _token_state(gl: gitlab.Gitlab, path: str) -> State:
    body = get_json(gl, path)
    if not isinstance(body, Mapping):
        raise HttpFailure(None, "unexpected response reading the token", transport=True)
    return State(
        {
            "revoked": body.get("revoked"),
            "active": body.get("active"),
            "user_id": body.get("user_id"),
            "expires_at": body.get("expires_at"),
            "scopes": body.get("scopes"),
        }
    )


class _KindAction(BaseAction):
    target_kinds = frozenset({"token"})
    reversible = False

    def __init__(self, *, kind: str = "personal", owner_id: int | None = None) -> None:
        if kind not in TOKEN_KINDS:
            raise ValueError(f"unknown token kind {kind!r}")
        if kind != "personal" and owner_id is None:
            raise ValueError(f"a {kind} token needs its owner's id")
        self.kind = kind
        self.owner_id = owner_id

    def _kind_params(self) -> dict[str, JSON]:
        # A personal token journals no parameters, as before issue 10 (old entries resume).
        return {} if self.kind == "personal" else {"kind": self.kind, "owner_id": self.owner_id}

    def path(self, target: Target) -> str:
        return token_path(self.kind, self.owner_id, target.id)

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _token_state(gl, self.path(target))

    def desired(self, state: State) -> bool:
        return state.get("revoked") is True


class RevokeToken(_KindAction):
    name = "revoke_token"
    title = "Revoke token"
    description = "Revoke the access token immediately (it stops working at once). Irreversible."
    convergent = True
    already = "already revoked; nothing sent"

    def params(self) -> dict[str, JSON]:
        return self._kind_params()

    def call(self, target: Target) -> Call:
        return Call("DELETE", self.path(target), target.id, safe(target.label, kind="line"))

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "delete", self.path(target))

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 400:
            return f"GitLab could not revoke the token (400): {exc.message}"
        return None


class RotateToken(_KindAction):
    name = "rotate_token"
    title = "Rotate token"
    description = (
        "Revoke the token and mint a replacement with the same scopes (new value "
        "shown once; it expires in 7 days by default). Irreversible; never repeated "
        "automatically."
    )
    convergent = False
    already = (
        "already revoked: not rotated (rotating a revoked token would revoke its whole "
        "token family)"
    )
    resume_note = (
        "the replacement token's value was lost with the crash: revoke the new token "
        "and create another if it is still needed"
    )

    def __init__(
        self, *, kind: str = "personal", owner_id: int | None = None, expires_at: str | None = None
    ) -> None:
        super().__init__(kind=kind, owner_id=owner_id)
        self.expires_at = expires_at

    def params(self) -> dict[str, JSON]:
        out = self._kind_params()
        if self.expires_at:
            out["expires_at"] = self.expires_at
        return out

    def call(self, target: Target) -> Call:
        return Call(
            "POST", self.path(target) + "/rotate", target.id, safe(target.label, kind="line")
        )

    def precheck(self, target: Target, state: State) -> str | None:
        if self.kind == "impersonation":
            return (
                "GitLab has no API to rotate an impersonation token (only the Admin Area "
                "can); revoke it instead"
            )
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        data = {"expires_at": self.expires_at} if self.expires_at else None
        result = http(gl, "post", self.path(target) + "/rotate", data=data)
        return _rotated(result)

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 400:
            return f"GitLab refused to rotate the token (400): {exc.message}"
        return None

    def find_created(
        self, gl: gitlab.Gitlab, target: Target, pre: State | None, since: str
    ) -> Attention | None:
        """The replacement a rotate whose reply was lost may have minted: the newest active
        token of the same owner and name, created after the intent and newer than the rotated
        one (ids only grow)."""
        query: dict[str, JSON] = {"per_page": 100}
        if self.kind == "personal":
            owner = (
                (pre.get("user_id") if pre is not None else None)
                or target.info.get("user_id")
                or _token_state(gl, self.path(target)).get("user_id")
            )
            query.update(user_id=owner, state="active", sort="created_desc")
            listing = "/personal_access_tokens"
            if since:  # a few minutes' margin for the server's clock
                parsed = parse_ts(since)
                if parsed is not None:
                    start = parsed - CLOCK_MARGIN
                    query["created_after"] = start.isoformat(timespec="seconds")
        else:
            owner = self.owner_id
            listing = f"/{self.kind}s/{self.owner_id}/access_tokens"
        body = get_json(gl, listing, **query)
        found = (
            [
                t
                for t in body
                if isinstance(t, Mapping)
                and isinstance(t.get("id"), int)
                and t["id"] > target.id
                and t.get("active", True) is not False
                and not t.get("revoked")
                and (not target.label or t.get("name") == target.label)
            ]
            if isinstance(body, list)
            else []
        )
        if not found:
            return None
        new = max(found, key=lambda t: int(t["id"]))
        new_id = int(new["id"])
        return Attention(
            f"revoke the new token #{new_id} whose value was lost",
            RevokeToken.name,
            Target(
                "token",
                new_id,
                str(new.get("name") or ""),
                info={"user_id": owner, "kind": self.kind, "owner_id": self.owner_id},
            ),
        )


def _rotated(result: ApplyResult) -> ApplyResult:
    """Keep the new value only as a one-time :class:`Secret`; journal its id and expiry."""
    body = result.body if isinstance(result.body, Mapping) else {}
    value = body.get("token")
    extra: dict[str, JSON] = {
        "new_token_id": body.get("id"),
        "new_expires_at": body.get("expires_at"),
    }
    return ApplyResult(
        result.http_status,
        result.request_id,
        None,
        Secret(value) if isinstance(value, str) and value.strip() else None,
        extra,
    )


class RotateOwnToken(BaseAction):
    """``POST /personal_access_tokens/self/rotate``: the console's own token.

    Always the last step of a plan, behind its own confirmation (``confirmed``): afterwards the
    old token is revoked, so the read-back uses the new value, held in memory only. The caller
    stores it where the old one lived (keyring or memory) and reconnects.
    """

    name = "rotate_own_token"
    title = "Rotate the console's own token"
    description = (
        "Replace the token this console uses (the new value goes where the old one "
        "lived and is never shown or logged). Always last; confirmed separately."
    )
    target_kinds = frozenset({"token"})
    convergent = False
    reversible = False
    already = "already rotated; nothing sent"

    def __init__(self, *, confirmed: bool = False) -> None:
        self.confirmed = confirmed
        self._fresh: gitlab.Gitlab | None = None  # a client on the new value, in memory only
        self._old_id: int | None = None

    def params(self) -> dict[str, JSON]:
        return {"confirmed": self.confirmed}

    def call(self, target: Target) -> Call:
        return Call("POST", "/personal_access_tokens/self/rotate", target.id, "console token")

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = get_json(self._fresh or gl, "/personal_access_tokens/self")
        if not isinstance(body, Mapping):
            raise HttpFailure(None, "unexpected response reading the token", transport=True)
        return State(
            {
                "current_id": body.get("id"),
                "expires_at": body.get("expires_at"),
                "scopes": body.get("scopes"),
            }
        )

    def desired(self, state: State) -> bool:
        return self._fresh is not None and state.get("current_id") != self._old_id

    def precheck(self, target: Target, state: State) -> str | None:
        if not self.confirmed:
            return "rotating the console's own token needs its own confirmation"
        if state.get("current_id") != target.id:
            return "this is not the token the console is using"
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        self._old_id = target.id
        result = _rotated(http(gl, "post", "/personal_access_tokens/self/rotate"))
        if result.secret is not None:
            self._fresh = gitlab.Gitlab(
                gl.url,
                private_token=result.secret.reveal(),
                timeout=gl.timeout,
                ssl_verify=gl.ssl_verify,
                user_agent=gl.headers.get("User-Agent", "gitlab"),
            )
        return result

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 405:
            return "GitLab refused (405): the console's token is not a personal access token"
        if exc.status == 403:
            return (
                "GitLab refused (403): the token needs the api or self_rotate scope "
                f"({exc.message})"
            )
        return None


def token_action(
    op: str, token: Mapping[str, JSON], *, expires_at: str | None = None
) -> RevokeToken | RotateToken:
    """The revoke or rotate action that goes through ``token``'s own endpoint."""
    kind, owner = token_kind_of(token)
    if op == "revoke":
        return RevokeToken(kind=kind, owner_id=owner)
    if op == "rotate":
        return RotateToken(kind=kind, owner_id=owner, expires_at=expires_at)
    raise ValueError(f"unknown token operation {op!r}")


def _kind_of(params: Mapping[str, JSON]) -> tuple[str, int | None]:
    kind = str(params.get("kind") or "personal")
    owner = params.get("owner_id")
    return kind, int(owner) if isinstance(owner, int | str) and str(owner).isdigit() else None


def _revoke(params: Mapping[str, JSON]) -> RevokeToken:
    kind, owner = _kind_of(params)
    return RevokeToken(kind=kind, owner_id=owner)


def _rotate(params: Mapping[str, JSON]) -> RotateToken:
    kind, owner = _kind_of(params)
    value = params.get("expires_at")
    return RotateToken(kind=kind, owner_id=owner, expires_at=str(value) if value else None)


def _rotate_own(params: Mapping[str, JSON]) -> RotateOwnToken:
    return RotateOwnToken(confirmed=bool(params.get("confirmed")))


register(RevokeToken.name, _revoke)
register(RotateToken.name, _rotate)
register(RotateOwnToken.name, _rotate_own)
