"""CI/CD and integrations: runners, variables, hooks, deploy tokens and deploy keys."""

from __future__ import annotations

import hashlib
from typing import Any

from console.drill.model import DeployKey, DeployToken, Hook, Runner, Variable
from console.drill.seed.clock import Clock
from console.drill.seed.formula import secret, ssh_key_text
from console.drill.seed.names import ATTACKER_HOOK_URL, ATTACKER_IP, ATTACKER_PYPI
from console.drill.state import DrillState


def seed_ci(state: DrillState, clock: Clock, seed: int) -> None:
    def runner(
        desc: str,
        rtype: str,
        age: float,
        contacted: float | None,
        ip: str,
        groups: tuple[int, ...] = (),
        projects: tuple[int, ...] = (),
        tags: tuple[str, ...] = (),
        creator: int | None = 1,
    ) -> Runner:
        rid = state.next_id("runner")
        r = Runner(
            rid,
            desc,
            rtype,
            clock.at(age),
            clock.at(contacted) if contacted is not None else None,
            secret(seed, "runner", rid, "glrt-"),
            None,
            tag_list=list(tags),
            group_ids=list(groups),
            project_ids=list(projects),
            ip_address=ip,
            creator_id=creator,
            system_id=secret(seed, "sys", rid, "s_", 12),
        )
        state.runners[rid] = r
        return r

    runner("shared-runner-01", "instance_type", 700, 0.001, "10.20.6.11", tags=("docker",))
    runner("shared-runner-02", "instance_type", 690, 0.002, "10.20.6.12", tags=("docker",))
    runner(
        "infra-runner",
        "group_type",
        500,
        0.01,
        "10.20.6.20",
        groups=(3,),
        tags=("terraform",),
        creator=5,
    )
    runner("storefront-runner", "project_type", 300, 0.02, "10.20.6.30", projects=(6,), creator=4)
    runner("data-runner", "group_type", 250, 0.05, "10.20.6.40", groups=(7,), creator=33)
    runner("old-macos-runner", "project_type", 800, None, "", projects=(8,), creator=6)
    attacker = runner(
        "build-07",
        "project_type",
        1.1,
        0.01,
        ATTACKER_IP,
        projects=(3,),
        tags=("docker", "privileged"),
        creator=7,
    )
    attacker.run_untagged = True
    attacker.access_level = "ref_protected"
    attacker.version = "17.11.0"

    def var(scope: str, owner: int, key: str, value: str, **kw: Any) -> None:
        state.variables.append(Variable(scope, owner, key, value, **kw))

    var("instance", 0, "SENTRY_DSN", "https://public@sentry.corp.example.com/4", masked=False)
    var(
        "instance",
        0,
        "ARTIFACTORY_TOKEN",
        secret(seed, "var", 1, "AKCp"),
        protected=True,
        masked=True,
        description="Artifactory read token",
    )
    var("instance", 0, "DOCKER_MIRROR", "https://mirror.corp.example.com")
    var("group", 2, "NPM_TOKEN", secret(seed, "var", 2, "npm_"), protected=True, masked=True)
    var(
        "group",
        3,
        "AWS_ACCESS_KEY_ID",
        "AKIA" + secret(seed, "var", 3, "", 16).upper(),
        protected=True,
    )
    var(
        "group",
        3,
        "AWS_SECRET_ACCESS_KEY",
        secret(seed, "var", 4, "", 40),
        protected=True,
        masked=True,
        hidden=True,
    )
    var("group", 3, "VAULT_ADDR", "https://vault.corp.example.com")
    var("project", 3, "TF_STATE_BUCKET", "acme-terraform-state")
    var(
        "project",
        3,
        "TF_VAR_db_password",
        secret(seed, "var", 5, "", 24),
        protected=True,
        masked=True,
        hidden=True,
    )
    var("project", 3, "PIP_INDEX_URL", ATTACKER_PYPI, description="Python package index")
    var(
        "project",
        6,
        "STRIPE_SECRET_KEY",
        secret(seed, "var", 6, "sk_live_", 24),
        protected=True,
        masked=True,
        environment_scope="production",
    )
    var("project", 6, "DEPLOY_ENV", "production", environment_scope="production")
    var(
        "project",
        11,
        "WAREHOUSE_DSN",
        "postgres://etl@warehouse.corp.example.com/dw",
        protected=True,
        masked=False,
        variable_type="env_var",
    )

    def hook(
        scope: str,
        owner: int,
        url: str,
        age: float,
        events: dict[str, bool],
        creator: int = 1,
        ssl: bool = True,
        name: str | None = None,
    ) -> Hook:
        hid = state.next_id("hook")
        h = Hook(
            hid,
            scope,
            owner,
            url,
            clock.at(age),
            secret(seed, "hook", hid, "whs_"),
            name=name,
            events=events,
            enable_ssl_verification=ssl,
            created_by=creator,
        )
        state.hooks[hid] = h
        return h

    hook(
        "system",
        0,
        "https://siem.corp.example.com/gitlab/system-hook",
        600,
        {"push_events": False, "repository_update_events": True},
        name="SIEM",
    )
    hook(
        "system",
        0,
        "https://chatops.corp.example.com/hooks/gitlab",
        400,
        {"push_events": True, "merge_requests_events": True},
        name="ChatOps",
    )
    hook(
        "group",
        2,
        "https://ci-metrics.corp.example.com/hook",
        350,
        {"pipeline_events": True, "job_events": True},
        creator=4,
    )
    hook(
        "project",
        1,
        "https://jenkins.corp.example.com/project/api-gateway",
        500,
        {"push_events": True, "merge_requests_events": True},
        creator=4,
    )
    hook(
        "project",
        6,
        "https://deploy.corp.example.com/storefront",
        280,
        {"push_events": True, "tag_push_events": True},
        creator=10,
    )
    hook(
        "project",
        3,
        ATTACKER_HOOK_URL,
        1.05,
        {
            "push_events": True,
            "pipeline_events": True,
            "job_events": True,
            "merge_requests_events": True,
            "tag_push_events": True,
        },
        creator=7,
        ssl=False,
    )

    def dtoken(
        name: str,
        owner_type: str,
        owner: int,
        scopes: list[str],
        age: float,
        expires_days: int,
        revoked: bool = False,
    ) -> None:
        tid = state.next_id("deploy_token")
        state.deploy_tokens[tid] = DeployToken(
            tid,
            name,
            f"gitlab+deploy-token-{tid}",
            secret(seed, "dt", tid, "gldt-"),
            scopes,
            clock.fmt(clock.now_epoch + expires_days * 86400)[:10] + "T00:00:00.000Z",
            clock.at(age),
            owner_type,
            owner,
            revoked,
        )

    dtoken("argo-cd", "project", 5, ["read_repository"], 200, 165)
    dtoken("registry-pull", "group", 3, ["read_registry", "read_package_registry"], 300, 65)
    dtoken("fastlane", "project", 8, ["read_repository", "read_registry"], 400, -35, revoked=True)
    dtoken("warehouse-sync", "project", 12, ["read_repository"], 100, 265)

    def dkey(title: str, age: float, projects: dict[int, bool], user: int) -> None:
        kid = state.next_id("deploy_key")
        text = ssh_key_text(seed, 900_000 + kid, title)
        digest = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
        fp = ":".join(digest[i : i + 2] for i in range(0, 32, 2))
        sha = "SHA256:" + hashlib.sha256(text.encode()).hexdigest()[:43]
        state.deploy_keys[kid] = DeployKey(
            kid,
            title,
            text,
            fp,
            sha,
            clock.at(age),
            user_id=user,
            projects=projects,
            last_used_at=clock.at(1 + kid),
        )

    dkey("jenkins-deploy", 480, {1: False, 6: True}, 4)
    dkey("argocd", 200, {5: False}, 5)
    dkey("backup-readonly", 150, {12: False, 11: False}, 33)
