"""The spare credentials the taken-over account left behind, and their audit trail (issue 10).

Planted after the rest of the seed, so every older id stays where it was. Together with the
intrusion events already in ``seed`` (the ``ci-sync`` token, the ``build-07`` SSH key and
runner, the project hook, ops-helper's admin flag and membership, mchen's Owner role, the
changed variable, lnguyen's disabled 2FA) they make :data:`FOOTHOLDS`: what Contain on mchen
must leave none of.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from console.drill.model import DeployToken, GpgKey, Hook, OAuthApp, Token, User
from console.drill.state import DrillState

ATTACKER_IP = "203.0.113.66"
ATTACKER_SYSTEM_HOOK_URL = "https://telemetry-collector.example.net/gl/events"
OAUTH_APP_NAME = "GitLab Sync"
DEPLOY_TOKEN_NAME = "tf-mirror"  # noqa: S105 (a name)

#: What the taken-over account left behind, for tests and the demo's "done when".
FOOTHOLDS = (
    "personal access tokens ci-sync and backup-sync (mchen), k8s-sync (lnguyen)",
    "impersonation token support-session for root",
    "SSH key build-07 and a GPG key on mchen",
    "system hook to telemetry-collector.example.net, project hook to webhook-relay.example.net",
    "project runner build-07 on acme/infrastructure/terraform",
    "admin flag of mchen and of ops-helper",
    "Owner role of mchen on acme/infrastructure (was Developer), ops-helper Maintainer there",
    "protected variable PIP_INDEX_URL changed on acme/infrastructure/terraform",
    "deploy token tf-mirror on acme/infrastructure/terraform",
    "instance OAuth application GitLab Sync",
    "two-factor authentication of lnguyen disabled",
    "branch protection removed from main on acme/infrastructure/terraform, repository exported",
)

# (owner, name, scopes, created days ago, expires in days or None, impersonation)
_TOKENS = (
    (7, "backup-sync", ["api", "write_repository"], 2.94, None, False),
    (8, "k8s-sync", ["api"], 1.97, None, False),
    (1, "support-session", ["api", "sudo"], 1.93, 300, True),
)


class Clock(Protocol):
    now_epoch: int

    def at(self, days_ago: float) -> str: ...

    def fmt(self, epoch: int) -> str: ...

    def future_date(self, days: int) -> str: ...


SecretFn = Callable[[str, int, str, int], str]  # (kind, id, prefix, length) -> a fixed value


def plant(state: DrillState, clock: Clock, secret: SecretFn) -> None:
    """Add the footholds to a seeded state (call after tokens, keys and CI are seeded)."""
    for uid, name, scopes, days, expires, impersonation in _TOKENS:
        tid = state.next_id("token")
        state.add_token(
            Token(
                id=tid,
                user_id=uid,
                name=name,
                value=secret("pat", tid, "glpat-", 20),
                scopes=list(scopes),
                created_at=clock.at(days),
                expires_at=clock.future_date(expires) if expires is not None else None,
                last_used_at=clock.at(days / 4),
                last_used_ips=[ATTACKER_IP],
                impersonation=impersonation,
            )
        )
    gid = state.next_id("gpg_key")
    state.gpg_keys.setdefault(7, []).append(
        GpgKey(
            gid,
            7,
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZattk"
            + secret("gpg", gid, "", 40)
            + "\n-----END PGP PUBLIC KEY BLOCK-----",
            clock.at(2.92),
        )
    )
    hid = state.next_id("hook")
    state.hooks[hid] = Hook(
        hid,
        "system",
        0,
        ATTACKER_SYSTEM_HOOK_URL,
        clock.at(1.08),
        secret("hook", hid, "whs_", 20),
        name="telemetry",
        events={
            "push_events": True,
            "repository_update_events": True,
            "merge_requests_events": True,
            "tag_push_events": True,
        },
        created_by=7,
    )
    dtid = state.next_id("deploy_token")
    state.deploy_tokens[dtid] = DeployToken(
        dtid,
        DEPLOY_TOKEN_NAME,
        f"gitlab+deploy-token-{dtid}",
        secret("dt", dtid, "gldt-", 20),
        ["read_repository", "read_registry"],
        clock.fmt(clock.now_epoch + 360 * 86400)[:10] + "T00:00:00.000Z",
        clock.at(1.0),
        "project",
        3,
    )
    aid = state.next_id("oauth_app")
    state.oauth_apps[aid] = OAuthApp(
        aid,
        secret("oauth", aid, "", 48),
        OAUTH_APP_NAME,
        secret("oauth-secret", aid, "gloas-", 48),
        "https://sync-portal.example.net/callback",
        ["api", "read_user"],
        clock.at(0.9),
    )
    for variable in state.variables:
        if (
            variable.scope == "project"
            and variable.owner_id == 3
            and variable.key == "PIP_INDEX_URL"
        ):
            variable.protected = True  # a protected variable: every protected pipeline sees it


def audit(state: DrillState, add: Callable[..., Any], m: User) -> None:
    """The audit trail of :func:`plant`'s footholds, all authored by mchen from the attacker."""
    users = state.users

    def token(name: str) -> Token:
        return next(t for t in state.tokens.values() if t.name == name)

    for _uid, name, _scopes, days, _expires, _imp in _TOKENS:
        t = token(name)
        owner = users[t.user_id]
        add(
            days,
            author=m,
            entity_type="User",
            entity_id=m.id,
            event_name="personal_access_token_created",
            message=f"Created personal access token with id {t.id}",
            target=(owner.id, "User", owner.name),
            ip=ATTACKER_IP,
        )
    gpg = state.gpg_keys[7][-1]
    add(
        2.92,
        author=m,
        entity_type="User",
        entity_id=m.id,
        event_name="add_gpg_key",
        message="Added GPG key",
        target=(gpg.id, "GpgKey", gpg.key[:40]),
        ip=ATTACKER_IP,
    )
    hook = next(h for h in state.hooks.values() if h.url == ATTACKER_SYSTEM_HOOK_URL)
    add(
        1.08,
        author=m,
        entity_type="Gitlab::Audit::InstanceScope",
        entity_id=1,
        event_name="webhook_created",
        message="Created system hook",
        target=(hook.id, "SystemHook", hook.url),
        ip=ATTACKER_IP,
        entity_path="gitlab_instance",
    )
    dt = next(d for d in state.deploy_tokens.values() if d.name == DEPLOY_TOKEN_NAME)
    add(
        1.0,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="deploy_token_created",
        message="Created project deploy token",
        target=(dt.id, "DeployToken", dt.name),
        ip=ATTACKER_IP,
    )
    # Repository changes: protection lifted, then the code taken (guide: "repository" events).
    path = "acme/infrastructure/terraform"
    add(
        1.2,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="protected_branch_removed",
        message="Unprotected branch main",
        target=(3, "ProtectedBranch", "main"),
        ip=ATTACKER_IP,
        entity_path=path,
    )
    add(
        1.15,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="project_export_created",
        message="Project export created",
        target=(3, "Project", path),
        ip=ATTACKER_IP,
        entity_path=path,
    )
    add(
        1.1,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="repository_download_operation",
        message="Repository Download Started",
        target=(3, "Project", path),
        ip=ATTACKER_IP,
        entity_path=path,
    )
    app = next(a for a in state.oauth_apps.values() if a.name == OAUTH_APP_NAME)
    add(
        0.9,
        author=m,
        entity_type="User",
        entity_id=m.id,
        event_name="oauth_application_created",
        message=f"OAuth application added: {app.name}",
        target=(app.id, "Doorkeeper::Application", app.name),
        ip=ATTACKER_IP,
    )
