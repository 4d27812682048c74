"""Credential inventory records: the kinds, one :class:`Credential`, and the result.

A ``Credential`` never carries a secret value (token, key material, variable value, hook token);
text fields are raw server text, sanitised at display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from console.errors import Problem

__all__ = [
    "KIND_LABELS",
    "KIND_ORDER",
    "ROTATE_HINTS",
    "URGENT_FLAGS",
    "URGENT_PREFIXES",
    "Credential",
    "Inventory",
    "InventoryProgress",
    "SourceProblem",
    "is_urgent",
]

KIND_ORDER: tuple[str, ...] = (
    "pat",
    "impersonation",
    "bot_token",
    "service_token",
    "deploy_key",
    "deploy_token",
    "runner",
    "instance_variable",
    "group_variable",
    "project_variable",
    "system_hook",
    "group_hook",
    "project_hook",
    "ssh_key",
    "gpg_key",
)

# Flags that deserve a responder's eyes on their own. "used in incident window" is not one: most
# live tokens are used every day, so it only adds weight to a row that has an urgent flag.
URGENT_FLAGS: frozenset[str] = frozenset(
    {
        "admin scope",
        "created in incident window",
        "impersonation",
        "write access",
        "credentials in URL",
        "TLS verification off",
    }
)
#: Cross-link reasons (console.crosslink) name a user or an IP, so they are told by their start.
URGENT_PREFIXES: tuple[str, ...] = ("changed by flagged user @", "used from ")


def is_urgent(flag: str) -> bool:
    return flag in URGENT_FLAGS or flag.startswith(URGENT_PREFIXES)


KIND_LABELS: Mapping[str, str] = {
    "pat": "Personal access token",
    "impersonation": "Impersonation token",
    "bot_token": "Group/project access token",
    "service_token": "Service account token",
    "deploy_key": "Deploy key",
    "deploy_token": "Deploy token",
    "runner": "Runner",
    "instance_variable": "Instance CI/CD variable",
    "group_variable": "Group CI/CD variable",
    "project_variable": "Project CI/CD variable",
    "system_hook": "System hook",
    "group_hook": "Group webhook",
    "project_hook": "Project webhook",
    "ssh_key": "SSH key",
    "gpg_key": "GPG key",
}

ROTATE_HINTS: Mapping[str, str] = {
    "pat": "Revoke it (DELETE /personal_access_tokens/:id) or rotate it; rotation revokes the "
    "old value and the new one expires in 7 days unless expires_at is given.",
    "impersonation": "Revoke it (DELETE /users/:user_id/impersonation_tokens/:id); an admin "
    "created it and the user cannot see it.",
    "bot_token": "Rotate or revoke it under its group or project (…/access_tokens/:id).",
    "service_token": "Rotate or revoke it under the service account's tokens.",
    "deploy_key": "Remove it from the projects it can reach, or replace the key pair.",
    "deploy_token": "Revoke it under the project or group that owns it (the instance list does "
    "not name the owner).",
    "runner": "Reset the runner's authentication token (POST /runners/:id/reset_authentication_"
    "token) and re-register the machine, or delete the runner.",
    "instance_variable": "Change the secret at its source, then PUT the new value "
    "(/admin/ci/variables/:key).",
    "group_variable": "Change the secret at its source, then PUT the new value "
    "(/groups/:id/variables/:key).",
    "project_variable": "Change the secret at its source, then PUT the new value "
    "(/projects/:id/variables/:key).",
    "system_hook": "Check the URL; replace its secret token (PUT /hooks/:id with url and token).",
    "group_hook": "Check the URL; replace its secret token (PUT with url and token).",
    "project_hook": "Check the URL; replace its secret token (PUT with url and token).",
    "ssh_key": "Delete it (DELETE /users/:id/keys/:key_id); the user adds a new one.",
    "gpg_key": "Revoke it (also unverifies the commits it signed) or delete it (keeps them).",
}


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential-like object. Never carries a secret value (token, key material, variable
    value, hook token). Text fields are raw server text: sanitise at display."""

    kind: str
    id: int | str
    name: str
    owner: str  # display form: "alice", "acme/api", "instance", "" when unknown
    owner_type: str  # user | group | project | instance | ""
    owner_id: int | None
    scopes: tuple[str, ...]
    created_at: str | None
    last_used_at: str | None
    expires_at: str | None
    state: str
    protected: bool | None
    flags: tuple[str, ...]
    rotate_hint: str
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The review-mark id: ``f"{kind}:{id}"``."""
        return f"{self.kind}:{self.id}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "owner_type": self.owner_type,
            "owner_id": self.owner_id,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "expires_at": self.expires_at,
            "state": self.state,
            "protected": self.protected,
            "flags": list(self.flags),
            "rotate_hint": self.rotate_hint,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Credential:
        return cls(
            kind=str(d["kind"]),
            id=d["id"],
            name=str(d.get("name") or ""),
            owner=str(d.get("owner") or ""),
            owner_type=str(d.get("owner_type") or ""),
            owner_id=d.get("owner_id"),
            scopes=tuple(d.get("scopes") or ()),
            created_at=d.get("created_at"),
            last_used_at=d.get("last_used_at"),
            expires_at=d.get("expires_at"),
            state=str(d.get("state") or ""),
            protected=d.get("protected"),
            flags=tuple(d.get("flags") or ()),
            rotate_hint=str(d.get("rotate_hint") or ""),
            extra={str(k): str(v) for k, v in (d.get("extra") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source that could not be read (fully), and why."""

    source: str
    problem: Problem


@dataclass(frozen=True, slots=True)
class InventoryProgress:
    source: str
    done: int
    total: int | None
    rows: int


@dataclass(slots=True)
class Inventory:
    """The rebuilt inventory and what it could not see.

    ``sources`` names every source the fetch tried, so a pane can say how much is missing
    rather than show "18 credentials" when half the lists failed.
    """

    rows: list[Credential]
    problems: list[SourceProblem]
    complete: bool = True
    sources: list[str] = field(default_factory=list)

    @property
    def failed_sources(self) -> list[str]:
        """Sources with a problem (refused, failed, or only partly read), in order, once each."""
        return list(dict.fromkeys(p.source for p in self.problems))

    @property
    def partial(self) -> bool:
        return not self.complete or bool(self.failed_sources)

    def partial_summary(self) -> str | None:
        """ "partial: N of M sources failed (names)", or None when every source was read."""
        failed = self.failed_sources
        if failed:
            total = len(set(self.sources) | set(failed))
            return f"partial: {len(failed)} of {total} sources failed ({', '.join(failed)})"
        if not self.complete:
            return "partial: stopped before every source was read"
        return None

    def by_kind(self) -> dict[str, list[Credential]]:
        out: dict[str, list[Credential]] = {}
        for row in self.rows:
            out.setdefault(row.kind, []).append(row)
        return out
