"""A leaked token, identified: what GitLab says it is, and the one step that kills it.

The pasted value is a :class:`Secret` from the masked input to the single request that carries
it; it is never stored, journaled, logged or put into an error. Order of questions:

1. the admin token-information endpoint (``POST /admin/token``, GitLab 17.5 behind a flag, GA
   17.8): owner, kind, scopes, created, last used and from where;
2. only if the responder allows it (``self_lookup``): ask GitLab *as the token*
   (``GET /personal_access_tokens/self``). It works on any version but it uses the attacker's
   credential, which updates its "last used" time and IP: never done silently;
3. otherwise the prefix tells the kind, and the console says plainly that GitLab could not
   identify the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import gitlab

from actions.model import JSON, Action, Target
from actions.runner_actions import DeleteRunner
from actions.token_actions import token_action, token_kind_of
from actions.transport import HttpFailure, get_json, http
from console.secret import Secret

TOKEN_INFO_SINCE = (17, 8)
TOKEN_INFO_FLAGGED = (17, 5)  # behind a feature flag until 17.8
PREFIXES = (
    ("glpat-", "personal, impersonation or group/project access token"),
    ("gldt-", "deploy token"),
    ("glrt-", "runner authentication token"),
    ("glrtr-", "runner registration token"),
    ("gloas-", "OAuth application secret"),
    ("glptt-", "pipeline trigger token"),
    ("glft-", "feed token"),
    ("glimt-", "incoming e-mail token"),
    ("glagent-", "cluster agent token"),
    ("glcbt-", "CI/CD job token"),
    ("glffct-", "feature flags client token"),
    ("glsoat-", "SCIM token"),
)


@dataclass(frozen=True)
class TokenIdentity:
    """What is known about a pasted token. Strings are raw server text (sanitise to show)."""

    found: bool
    how: str  # "token information API" | "asked as the token" | "prefix only" | ""
    kind: str  # personal | impersonation | group | project | deploy | runner | a prefix guess
    message: str
    token: Mapping[str, JSON] | None = None  # the server's JSON (never the value)
    owner: str = ""

    def facts(self) -> list[tuple[str, str]]:
        """(label, raw value) for the screen: owner, kind, scopes, created, last used and from
        where; "unknown" where GitLab did not say. Values are server text: sanitise to show."""
        tok = self.token or {}
        scopes = tok.get("scopes")
        ips = tok.get("last_used_ips")
        state = (
            (
                "revoked"
                if tok.get("revoked")
                else "expired"
                if tok.get("expired")
                else "active"
                if tok.get("active", True)
                else "inactive"
            )
            if tok
            else ""
        )

        def text(value: JSON) -> str:
            return str(value) if value not in (None, "", []) else "unknown"

        return [
            ("owner", self.owner or "unknown"),
            ("kind", self.kind or "unknown"),
            ("name", text(tok.get("name") or tok.get("description"))),
            ("state", state or "unknown"),
            (
                "scopes",
                ", ".join(str(x) for x in scopes)
                if isinstance(scopes, list) and scopes
                else "unknown",
            ),
            ("created", text(tok.get("created_at"))),
            ("last used", text(tok.get("last_used_at"))),
            (
                "from",
                ", ".join(str(x) for x in ips) if isinstance(ips, list) and ips else "unknown",
            ),
            ("expires", text(tok.get("expires_at"))),
        ]

    def actions(self) -> list[tuple[Action, Target]]:
        """Revoke/rotate (or delete for a runner) in one step, when GitLab named the token."""
        tok = self.token
        if not self.found or tok is None or not isinstance(tok.get("id"), int):
            return []
        target_id = int(tok["id"])
        if self.kind == "runner":
            return [(DeleteRunner(), Target("runner", target_id, str(tok.get("description"))))]
        if self.kind in ("personal", "impersonation", "group", "project"):
            target = Target("token", target_id, str(tok.get("name") or ""))
            out: list[tuple[Action, Target]] = [(token_action("revoke", tok), target)]
            if self.kind != "impersonation":
                out.append((token_action("rotate", tok), target))
            return out
        return []


def _version(gl: gitlab.Gitlab) -> tuple[int, int]:
    try:
        body = get_json(gl, "/version")
    except HttpFailure:
        return 0, 0
    text = str(body.get("version", "")) if isinstance(body, Mapping) else ""
    parts = text.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


def _prefix_kind(value: str) -> str:
    for prefix, kind in sorted(PREFIXES, key=lambda p: -len(p[0])):
        if value.startswith(prefix):
            return kind
    return ""


def _owner(gl: gitlab.Gitlab, tok: Mapping[str, JSON]) -> str:
    uid = tok.get("user_id")
    if not isinstance(uid, int):
        return ""
    try:
        body = get_json(gl, f"/users/{uid}")
    except HttpFailure:
        return f"#{uid}"
    return str(body.get("username") or f"#{uid}") if isinstance(body, Mapping) else f"#{uid}"


def _identity(gl: gitlab.Gitlab, tok: Mapping[str, JSON], how: str) -> TokenIdentity:
    if tok.get("token_type") == "DeployToken":
        kind = "deploy"
    elif tok.get("token_type") == "Ci::Runner":
        kind = "runner"
    else:
        kind = token_kind_of(tok)[0]
    state = (
        "revoked" if tok.get("revoked") else ("active" if tok.get("active", True) else "inactive")
    )
    owner = _owner(gl, tok)
    message = f"GitLab knows this token: a {kind} token ({state})"
    if owner:
        message += f" of {owner}"
    if kind == "deploy":
        message += "; GitLab does not say which project or group holds it: revoke it there"
    return TokenIdentity(True, how, kind, message, dict(tok), owner)


def identify_token(gl: gitlab.Gitlab, value: Secret, *, self_lookup: bool = False) -> TokenIdentity:
    """Ask GitLab what ``value`` is (blocking: call from a worker)."""
    raw = value.reveal()
    version = _version(gl)
    if version >= TOKEN_INFO_FLAGGED:
        try:
            result = http(gl, "post", "/admin/token", data={"token": raw})
        except HttpFailure as exc:
            if exc.status == 404 and version >= TOKEN_INFO_SINCE:
                return TokenIdentity(
                    False,
                    "token information API",
                    _prefix_kind(raw) or "",
                    "GitLab does not know this token: it was never valid "
                    "here, or it was deleted (revoked tokens are still "
                    "known)",
                )
            if exc.status == 401:
                raise
        else:
            if isinstance(result.body, Mapping):
                return _identity(gl, result.body, "token information API")
    if self_lookup and raw.startswith("glpat-"):
        probe = gitlab.Gitlab(
            gl.url, private_token=raw, timeout=gl.timeout, ssl_verify=gl.ssl_verify
        )
        try:
            body = get_json(probe, "/personal_access_tokens/self")
        except HttpFailure as exc:
            if exc.status == 401:
                return TokenIdentity(
                    False,
                    "asked as the token",
                    "personal",
                    "GitLab rejects this token (revoked, expired or never "
                    "valid here); it cannot say whose it was",
                )
        else:
            if isinstance(body, Mapping):
                return _identity(gl, body, "asked as the token")
    kind = _prefix_kind(raw)
    text = (
        f"GitLab could not identify this token. By its prefix it looks like a {kind}."
        if kind
        else "GitLab could not identify this token and its form is not GitLab's."
    )
    return TokenIdentity(False, "prefix only" if kind else "", kind, text)
