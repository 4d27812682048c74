"""Response actions on GitLab user accounts (admin API).

Block / unblock / force 2FA re-enrolment / add a note are convergent: repeating them after a crash
cannot do harm once a read-back shows they are still needed. A password reset is not (every call
sets a different password the responder has never seen), so resume never repeats it.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping

import gitlab

from actions.base import BaseAction
from actions.model import JSON, ApplyResult, State, Target
from actions.registry import register
from actions.transport import HttpFailure, get_json, http
from console.secret import Secret

# ``blocked?`` in GitLab covers these states; blocking any of them again is a no-op server-side.
BLOCKED_STATES = frozenset({"blocked", "ldap_blocked", "banned", "blocked_pending_approval"})
PASSWORD_LENGTH = 24
_PASSWORD_SYMBOLS = "!#%+-.:=?@^_~"  # noqa: S105 (alphabet, not a password)


def _user(gl: gitlab.Gitlab, user_id: int) -> Mapping[str, JSON]:
    body = get_json(gl, f"/users/{user_id}")
    if not isinstance(body, Mapping):
        raise HttpFailure(None, "unexpected response reading the user", transport=True)
    return body


def _user_state(body: Mapping[str, JSON], *keys: str) -> State:
    data: dict[str, JSON] = {"state": body.get("state"), "username": body.get("username")}
    for key in keys:
        data[key] = body.get(key)
    return State(data)


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """A strong random password with every character class (GitLab's complexity rules)."""
    alphabet = string.ascii_letters + string.digits + _PASSWORD_SYMBOLS
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(c in _PASSWORD_SYMBOLS for c in pw)
        ):
            return pw


class BlockUser(BaseAction):
    name = "block_user"
    title = "Block"
    description = (
        "Block sign-in, Git and API access. Does NOT revoke tokens or keys: revoke "
        "them too before any later unblock."
    )
    convergent = True
    excludes_actor = True
    already = "already blocked; nothing sent"

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _user_state(_user(gl, target.id), "is_admin")

    def desired(self, state: State) -> bool:
        return state.get("state") in BLOCKED_STATES

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "post", f"/users/{target.id}/block")

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403:
            return (
                "GitLab refused (403): LDAP-blocked and internal users cannot be blocked "
                f"through the API, nor can the token's own account ({exc.message})"
            )
        return None


class UnblockUser(BaseAction):
    name = "unblock_user"
    title = "Unblock"
    description = (
        "Restore access. Refused while the user still has active tokens or SSH keys "
        "(blocking did not revoke them) unless explicitly confirmed."
    )
    convergent = True

    def __init__(self, *, confirm_credentials: bool = False) -> None:
        self.confirm_credentials = confirm_credentials

    def params(self) -> dict[str, JSON]:
        return {"confirm_credentials": self.confirm_credentials}

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = _user(gl, target.id)
        state = _user_state(body)
        if state.get("state") == "active":
            return state
        tokens = get_json(
            gl, "/personal_access_tokens", user_id=target.id, state="active", per_page=100
        )
        keys = get_json(gl, f"/users/{target.id}/keys", per_page=100)
        data = state.as_json()
        data["active_tokens"] = len(tokens) if isinstance(tokens, list) else None
        data["ssh_keys"] = len(keys) if isinstance(keys, list) else None
        return State(data)

    def desired(self, state: State) -> bool:
        return bool(state.get("state") == "active")

    def precheck(self, target: Target, state: State) -> str | None:
        current = state.get("state")
        if current == "deactivated":
            return (
                "the account is deactivated, not blocked: GitLab refuses to unblock it "
                "(403); reactivate it instead"
            )
        if current == "ldap_blocked":
            return "the account is blocked by LDAP: unblock it in the directory, not in GitLab"
        if current == "banned":
            return "the account is banned: unban it instead of unblocking"
        tokens = state.get("active_tokens") or 0
        keys = state.get("ssh_keys") or 0
        if (tokens or keys) and not self.confirm_credentials:
            return (
                f"still has {tokens} active token(s) and {keys} SSH key(s); blocking did not "
                "revoke them and unblocking re-enables them. Revoke them first or confirm."
            )
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "post", f"/users/{target.id}/unblock")

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403:
            return (
                "GitLab refused (403): deactivated or LDAP-blocked users cannot be unblocked "
                f"through the API ({exc.message})"
            )
        return None


class ResetPassword(BaseAction):
    name = "reset_password"
    title = "Reset password"
    description = (
        "Set a generated strong password (shown once, to hand over securely); the "
        "user must change it at next sign-in. Not repeated automatically."
    )
    convergent = False
    excludes_actor = True
    observable = False

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _user_state(_user(gl, target.id))

    def desired(self, state: State) -> bool:
        # A read cannot show that a password was reset: never "already done", and resume
        # hands an interrupted reset to a human instead of setting yet another password.
        return False

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        password = generate_password()
        result = http(gl, "put", f"/users/{target.id}", data={"password": password})
        # The response body is the user; only the status and request id are kept.
        return ApplyResult(
            result.http_status, result.request_id, None, Secret(password), {"password_reset": True}
        )

    def verified(self, state: State, result: ApplyResult) -> bool:
        return result.http_status is not None and 200 <= result.http_status < 300

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 400:
            return f"GitLab rejected the generated password or request (400): {exc.message}"
        return None


class Disable2FA(BaseAction):
    name = "disable_2fa"
    title = "Force 2FA re-enrolment"
    description = (
        "Disable the user's two-factor authentication so they must enrol again "
        "(if an attacker enrolled their own device). Not possible for admins via API."
    )
    convergent = True
    excludes_actor = True

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _user_state(_user(gl, target.id), "two_factor_enabled", "is_admin")

    def desired(self, state: State) -> bool:
        return state.get("two_factor_enabled") is False

    def precheck(self, target: Target, state: State) -> str | None:
        if state.get("is_admin"):
            return (
                "GitLab refuses to disable 2FA of an administrator through the API (403); "
                "use the Rails console on the GitLab server instead"
            )
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        return http(gl, "patch", f"/users/{target.id}/disable_two_factor")

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403:
            return (
                "GitLab refused (403): 2FA of an administrator cannot be disabled through "
                "the API; use the Rails console on the GitLab server"
            )
        if exc.status == 400:
            return "the user has no two-factor authentication enabled (400)"
        return None


class AddNote(BaseAction):
    name = "add_note"
    title = "Add admin note"
    description = "Append a line to the user's admin note, keeping the existing text."
    convergent = True

    def __init__(self, text: str) -> None:
        text = " ".join(str(text).split())
        if not text:
            raise ValueError("empty note")
        self.text = text

    def params(self) -> dict[str, JSON]:
        return {"text": self.text}

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        return _user_state(_user(gl, target.id), "note")

    def desired(self, state: State) -> bool:
        note = state.get("note") or ""
        return isinstance(note, str) and self.text in note.splitlines()

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        note = _user(gl, target.id).get("note") or ""
        new = (
            f"{note.rstrip()}\n{self.text}" if isinstance(note, str) and note.strip() else self.text
        )
        result = http(gl, "put", f"/users/{target.id}", data={"note": new})
        return ApplyResult(result.http_status, result.request_id)


def _block(params: Mapping[str, JSON]) -> BlockUser:
    return BlockUser()


def _unblock(params: Mapping[str, JSON]) -> UnblockUser:
    return UnblockUser(confirm_credentials=bool(params.get("confirm_credentials")))


def _reset(params: Mapping[str, JSON]) -> ResetPassword:
    return ResetPassword()


def _disable_2fa(params: Mapping[str, JSON]) -> Disable2FA:
    return Disable2FA()


def _note(params: Mapping[str, JSON]) -> AddNote:
    return AddNote(str(params.get("text") or "note"))


register(BlockUser.name, _block)
register(UnblockUser.name, _unblock)
register(ResetPassword.name, _reset)
register(Disable2FA.name, _disable_2fa)
register(AddNote.name, _note)
