"""Keys and deploy credentials: SSH keys, GPG keys, deploy tokens and deploy keys.

All of these are irreversible: a deleted key or revoked deploy token cannot be restored, only
re-created by its owner. GPG keys offer a choice:

* **revoke** (``POST /users/:id/gpg_keys/:key_id/revoke``, 202) removes the key *and* marks every
  commit it signed as unverified: the right call when the key itself is in the attacker's hands;
* **delete** (``DELETE /users/:id/gpg_keys/:key_id``, 204) removes the key but commits it signed
  stay "Verified": only for a key that is merely no longer needed.
"""

from __future__ import annotations

from collections.abc import Mapping

from actions.model import JSON, Target
from actions.registry import register
from actions.resource import DeleteObject, int_param, str_param
from actions.transport import HttpFailure


class DeleteSshKey(DeleteObject):
    name = "delete_ssh_key"
    title = "Delete SSH key"
    description = "Delete the user's SSH key (Git over SSH with it stops at once). Irreversible."
    target_kinds = frozenset({"ssh_key"})
    keep = ("title", "created_at", "expires_at", "last_used_at", "usage_type")

    def __init__(self, *, user_id: int) -> None:
        self.user_id = user_id

    def params(self) -> dict[str, JSON]:
        return {"user_id": self.user_id}

    def path(self, target: Target) -> str:
        return f"/users/{self.user_id}/keys/{target.id}"


class _GpgAction(DeleteObject):
    target_kinds = frozenset({"gpg_key"})
    keep = ("created_at",)

    def __init__(self, *, user_id: int) -> None:
        self.user_id = user_id

    def params(self) -> dict[str, JSON]:
        return {"user_id": self.user_id}

    def path(self, target: Target) -> str:
        return f"/users/{self.user_id}/gpg_keys/{target.id}"


class RevokeGpgKey(_GpgAction):
    name = "revoke_gpg_key"
    title = "Revoke GPG key"
    description = (
        "Remove the GPG key and mark every commit it signed as unverified (use when "
        "the key may be the attacker's). Irreversible."
    )
    method = "POST"

    def write_path(self, target: Target) -> str:
        return self.path(target) + "/revoke"


class DeleteGpgKey(_GpgAction):
    name = "delete_gpg_key"
    title = "Delete GPG key"
    description = (
        "Remove the GPG key; commits it signed stay verified (use only for a key "
        "that is merely unused). Irreversible."
    )


class RevokeDeployToken(DeleteObject):
    """``DELETE /projects|groups/:id/deploy_tokens/:token_id``.

    GitLab has no instance-level revoke: ``GET /deploy_tokens`` lists every deploy token but
    does not say where it lives, so the owner (``project`` or ``group`` and its id) is needed.
    """

    name = "revoke_deploy_token"
    title = "Revoke deploy token"
    description = "Revoke the deploy token (registry and repository access ends). Irreversible."
    target_kinds = frozenset({"deploy_token"})
    keep = ("name", "username", "scopes", "expires_at", "revoked", "expired")

    def __init__(self, *, owner_type: str, owner_id: int) -> None:
        if owner_type not in ("project", "group"):
            raise ValueError("a deploy token belongs to a project or a group")
        self.owner_type = owner_type
        self.owner_id = owner_id

    def params(self) -> dict[str, JSON]:
        return {"owner_type": self.owner_type, "owner_id": self.owner_id}

    def path(self, target: Target) -> str:
        return f"/{self.owner_type}s/{self.owner_id}/deploy_tokens/{target.id}"

    def explain(self, exc: HttpFailure) -> str | None:
        if exc.status == 403 and self.owner_type == "group":
            return f"GitLab refused (403): group deploy tokens need the Owner role ({exc.message})"
        return None


class DisableDeployKey(DeleteObject):
    """``DELETE /projects/:id/deploy_keys/:key_id``: the key stops working on that project.

    GitLab deletes the key from the instance when no other project uses it; a key enabled on
    several projects must be disabled on each (the admin list names them all).
    """

    name = "disable_deploy_key"
    title = "Disable deploy key on project"
    description = (
        "Remove the deploy key from the project (deleted from GitLab when no other "
        "project uses it). Irreversible."
    )
    target_kinds = frozenset({"deploy_key"})
    keep = ("title", "created_at", "expires_at", "can_push", "fingerprint_sha256")

    def __init__(self, *, project_id: int) -> None:
        self.project_id = project_id

    def params(self) -> dict[str, JSON]:
        return {"project_id": self.project_id}

    def path(self, target: Target) -> str:
        return f"/projects/{self.project_id}/deploy_keys/{target.id}"


def _ssh(p: Mapping[str, JSON]) -> DeleteSshKey:
    return DeleteSshKey(user_id=int_param(p, "user_id"))


def _gpg_revoke(p: Mapping[str, JSON]) -> RevokeGpgKey:
    return RevokeGpgKey(user_id=int_param(p, "user_id"))


def _gpg_delete(p: Mapping[str, JSON]) -> DeleteGpgKey:
    return DeleteGpgKey(user_id=int_param(p, "user_id"))


def _deploy_token(p: Mapping[str, JSON]) -> RevokeDeployToken:
    return RevokeDeployToken(
        owner_type=str_param(p, "owner_type", "project"), owner_id=int_param(p, "owner_id")
    )


def _deploy_key(p: Mapping[str, JSON]) -> DisableDeployKey:
    return DisableDeployKey(project_id=int_param(p, "project_id"))


register(DeleteSshKey.name, _ssh)
register(RevokeGpgKey.name, _gpg_revoke)
register(DeleteGpgKey.name, _gpg_delete)
register(RevokeDeployToken.name, _deploy_token)
register(DisableDeployKey.name, _deploy_key)
