"""Each eradication action against a fresh drill: its plan, journal entry, read-back and refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions import Action, Plan, ReadOnlyRefused, RunResult, Target, resume_pending, run_plan
from actions.hook_actions import DeleteHook, DisableHook, SetHookSecret
from actions.key_actions import (
    DeleteGpgKey,
    DeleteSshKey,
    DisableDeployKey,
    RevokeDeployToken,
    RevokeGpgKey,
)
from actions.membership_actions import ChangeMemberLevel, RemoveMember
from actions.oauth_actions import DeleteOAuthApp
from actions.plan import FOOTHOLD_ACTIONS, build_plan, spec_by_name, token_plans, token_targets
from actions.runner_actions import DeleteRunner, PauseRunner, ResetRunnerToken, runner_details
from actions.settings_actions import EnforceGroup2FA, EnforceInstance2FA, RemoveAdmin
from actions.token_actions import RevokeToken, RotateOwnToken, RotateToken
from actions.undo import irreversible_reason, undo_action
from actions.user_actions import Disable2FA
from actions.variable_actions import SetVariableValue
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret
from console.store import Store


class Env:
    def __init__(self, server: Any, tmp: Path, token: str | None = None) -> None:
        self.s = server
        self.db = tmp / "state" / "console.db"
        self.store = Store.open(self.db)
        self.inc = int(
            self.store.create_incident("t", "compromised-account", None, server.url, None, None).id
        )
        self.gl = build_gitlab(
            ConnectionConfig(url=server.url), Secret(token or server.ADMIN_TOKEN)
        )

    def run(self, action: Action, *targets: Target, **kw: Any) -> RunResult:
        plan = build_plan(action, list(targets), actor_id=1)
        return run_plan(self.store, self.inc, self.gl, plan, actor_id=1, **kw)

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.s.writes()]

    def entry(self) -> Any:
        return self.store.journal_entries(self.inc)[-1]

    def db_bytes(self) -> bytes:
        self.store.close()
        return b"".join(p.read_bytes() for p in self.db.parent.glob(self.db.name + "*"))


@pytest.fixture
def env(fresh_drill: Any, tmp_path: Path) -> Env:
    return Env(fresh_drill, tmp_path)


def _tok(env: Env, name: str) -> Any:
    return next(t for t in env.s.state.tokens.values() if t.name == name)


def test_group_and_project_tokens_go_through_their_own_endpoints(env: Env) -> None:
    renovate, release = _tok(env, "renovate"), _tok(env, "release-bot")
    # the old bug: the personal-token endpoint does not know a group token
    wrong = env.run(RevokeToken(), Target("token", renovate.id, "renovate"))
    assert wrong.outcomes[0].state == "not_found" and env.writes() == []
    [plan] = token_plans(
        "revoke",
        [{"id": renovate.id, "name": "renovate", "resource_type": "group", "resource_id": 3}],
    )
    assert plan.action.call(plan.targets[0]).line() == (  # type: ignore[attr-defined]
        f"DELETE /groups/3/access_tokens/{renovate.id}  #{renovate.id} renovate"
    )
    out = run_plan(env.store, env.inc, env.gl, plan).outcomes[0]
    assert out.state == "done" and renovate.revoked
    assert env.entry().params == {"kind": "group", "owner_id": 3}
    rotate = env.run(
        RotateToken(kind="project", owner_id=8), Target("token", release.id, "release-bot")
    ).outcomes[0]
    assert rotate.state == "done" and rotate.secret is not None
    assert env.writes()[-1] == ("POST", f"/projects/8/access_tokens/{release.id}/rotate")
    assert release.revoked and env.entry().post_state["new_token_id"] == release.rotated_to
    value = rotate.secret.reveal()
    assert env.s.state.tokens[release.rotated_to].value == value
    assert value.encode() not in env.db_bytes()


def test_impersonation_token_revoked_not_rotated(env: Env) -> None:
    imp = _tok(env, "support-session")
    target = Target("token", imp.id, "support-session")
    refused = env.run(RotateToken(kind="impersonation", owner_id=1), target).outcomes[0]
    assert refused.state == "refused" and "no API to rotate" in refused.message
    assert env.writes() == []
    assert (
        env.run(RevokeToken(kind="impersonation", owner_id=1), target).outcomes[0].state == "done"
    )
    assert env.writes() == [("DELETE", f"/users/1/impersonation_tokens/{imp.id}")]
    assert imp.revoked


def test_ssh_key_delete_is_sent_once_and_resumable(env: Env) -> None:
    key = env.s.state.ssh_keys[7][-1]
    target = Target("ssh_key", key.id, key.title)
    action = DeleteSshKey(user_id=7)
    assert action.call(target).line() == f"DELETE /users/7/keys/{key.id}  #{key.id} build-07"
    assert env.run(action, target).outcomes[0].state == "done"
    entry = env.entry()
    assert (entry.action, entry.params, entry.state) == ("delete_ssh_key", {"user_id": 7}, "done")
    assert entry.pre_state["title"] == "build-07" and entry.post_state == {"exists": False}
    again = env.run(action, target).outcomes[0]
    assert again.state == "noop_already" and "already gone" in again.message
    assert env.s.requests_to("DELETE", f"/users/7/keys/{key.id}") == 1
    # a crash between intent and send: resume rebuilds the action from its parameters
    other = env.s.state.ssh_keys[7][0]
    env.store.journal_intent(
        env.inc, "delete_ssh_key", "ssh_key", other.id, "macbook", {"user_id": 7}, {"exists": True}
    )
    assert resume_pending(env.store, env.inc, env.gl).outcomes[0].state == "done"
    assert env.s.state.ssh_keys[7] == []


def test_gpg_revoke_and_delete_differ_in_the_call(env: Env) -> None:
    mine, other = env.s.state.gpg_keys[7][0], env.s.state.gpg_keys[4][0]
    assert "unverified" in RevokeGpgKey.description and "stay verified" in DeleteGpgKey.description
    env.run(RevokeGpgKey(user_id=7), Target("gpg_key", mine.id, "k"))
    env.run(DeleteGpgKey(user_id=4), Target("gpg_key", other.id, "k"))
    assert env.writes() == [
        ("POST", f"/users/7/gpg_keys/{mine.id}/revoke"),
        ("DELETE", f"/users/4/gpg_keys/{other.id}"),
    ]
    assert env.s.state.gpg_keys[7] == [] and env.s.state.gpg_keys[4] == []


def test_deploy_token_and_key(env: Env) -> None:
    dt = next(d for d in env.s.state.deploy_tokens.values() if d.name == "tf-mirror")
    assert (
        env.run(
            RevokeDeployToken(owner_type="project", owner_id=3),
            Target("deploy_token", dt.id, dt.name),
        )
        .outcomes[0]
        .state
        == "done"
    )
    assert dt.id not in env.s.state.deploy_tokens
    key = next(k for k in env.s.state.deploy_keys.values() if k.title == "jenkins-deploy")
    out = env.run(DisableDeployKey(project_id=6), Target("deploy_key", key.id, key.title))
    assert out.outcomes[0].state == "done" and set(key.projects) == {1}  # still on project 1
    assert env.entry().pre_state["can_push"] is True


def test_runner_pause_undo_reset_delete_and_details(env: Env) -> None:
    rid = next(r.id for r in env.s.state.runners.values() if r.description == "build-07")
    details = runner_details(env.gl, rid)
    assert details is not None and details.registered_by == "mchen"
    assert details.ip_addresses == ("203.0.113.66",) and details.registered_at
    target = Target("runner", rid, "build-07")
    assert env.run(PauseRunner(), target).outcomes[0].state == "done"
    assert env.s.state.runners[rid].paused
    undo = undo_action(env.entry())
    assert undo is not None and undo.name == "unpause_runner"
    assert env.run(undo, target).outcomes[0].state == "done"
    assert not env.s.state.runners[rid].paused
    reset = env.run(ResetRunnerToken(), target).outcomes[0]
    assert reset.state == "done" and reset.secret is not None
    assert env.s.state.runners[rid].token == reset.secret.reveal()
    assert irreversible_reason("reset_runner_token")
    assert env.run(DeleteRunner(), target).outcomes[0].state == "done"
    assert rid not in env.s.state.runners and runner_details(env.gl, rid) is None


def test_runner_refusal_carries_gitlabs_reason(fresh_drill: Any, tmp_path: Path) -> None:
    jlee = Env(fresh_drill, tmp_path, fresh_drill.USER_TOKEN)
    out = jlee.run(DeleteRunner(), Target("runner", 1, "shared-runner-01")).outcomes[0]
    assert out.state == "forbidden" and "No access granted" in out.message
    assert jlee.writes() == [] and 1 in fresh_drill.state.runners


def test_group_deploy_token_and_system_hook_refusals(fresh_drill: Any, tmp_path: Path) -> None:
    # lnguyen is a Maintainer of acme/infrastructure: GitLab wants the Owner for group deploy
    # tokens; the k8s-sync token the attacker made for her has the api scope
    token = next(t for t in fresh_drill.state.tokens.values() if t.name == "k8s-sync")
    maintainer = Env(fresh_drill, tmp_path, token.value)
    dt = next(d for d in fresh_drill.state.deploy_tokens.values() if d.name == "registry-pull")
    out = maintainer.run(
        RevokeDeployToken(owner_type="group", owner_id=3), Target("deploy_token", dt.id, dt.name)
    ).outcomes[0]
    assert out.state == "forbidden" and "Owner role" in out.message and "403" in out.message
    hook = next(h for h in fresh_drill.state.hooks.values() if h.scope == "system")
    out = maintainer.run(DeleteHook(scope="system"), Target("hook", hook.id, hook.url))
    assert out.outcomes[0].state == "forbidden" and "403 Forbidden" in out.outcomes[0].message
    # GitLab itself refused the revoke (its answer is what the outcome quotes); the system hook
    # was refused at the read already, so no write went out for it; nothing changed
    assert [status for _, _, status in fresh_drill.writes()] == [403]
    assert dt.id in fresh_drill.state.deploy_tokens and hook.id in fresh_drill.state.hooks
    journal = {e.action: e for e in maintainer.store.journal_entries(maintainer.inc)}
    assert journal["revoke_deploy_token"].state == "forbidden"
    assert journal["revoke_deploy_token"].http_status == 403


def test_every_action_resumes_from_its_journal_name() -> None:
    from actions import action_for

    names = [spec.name for spec in FOOTHOLD_ACTIONS] + [
        "rotate_own_token",
        "set_variable_value",
        "add_member",
        "grant_admin",
        "unpause_runner",
        "revoke_token",
        "rotate_token",
    ]
    for name in names:
        assert action_for(name, {}) is not None, name


def test_hook_disable_secret_delete(env: Env) -> None:
    hook = next(h for h in env.s.state.hooks.values() if h.scope == "project" and h.owner_id == 3)
    target = Target("hook", hook.id, hook.url)
    assert env.run(DisableHook(scope="project", owner_id=3), target).outcomes[0].state == "done"
    assert not any(hook.events.values()) and hook.url.startswith("https://webhook-relay")
    assert "push_events" in env.entry().pre_state["events_on"]
    secret = env.run(SetHookSecret(scope="project", owner_id=3), target).outcomes[0]
    assert secret.state == "done" and secret.secret is not None
    assert hook.token == secret.secret.reveal()
    assert env.run(DeleteHook(scope="project", owner_id=3), target).outcomes[0].state == "done"
    assert hook.id not in env.s.state.hooks
    assert secret.secret.reveal().encode() not in env.db_bytes()


def test_variable_value_is_set_never_stored(env: Env) -> None:
    new = Secret("https://pypi.org/simple-Zq8vX2")
    action = SetVariableValue(scope="project", owner_id=3, key="PIP_INDEX_URL", value=new)
    target = Target("variable", 3, "PIP_INDEX_URL")
    assert action.call(target).line() == "PUT /projects/3/variables/PIP_INDEX_URL  #3 PIP_INDEX_URL"
    assert env.run(action, target).outcomes[0].state == "done"
    var = next(v for v in env.s.state.variables if v.key == "PIP_INDEX_URL")
    assert var.value == new.reveal() and var.protected
    entry = env.entry()
    assert "value" not in entry.params and entry.post_state["matches_new"] is True
    assert entry.pre_state["matches_new"] is False
    assert env.run(action, target).outcomes[0].state == "noop_already"
    # masked and too short: refused before anything is sent, with GitLab's rule
    short = SetVariableValue(
        scope="group", owner_id=3, key="AWS_SECRET_ACCESS_KEY", value=Secret("short")
    )
    refused = env.run(short, Target("variable", 3, "AWS_SECRET_ACCESS_KEY")).outcomes[0]
    assert refused.state == "refused" and "at least 8" in refused.message
    # hidden: the value is never readable, a 2xx is the proof
    hidden = SetVariableValue(
        scope="group",
        owner_id=3,
        key="AWS_SECRET_ACCESS_KEY",
        value=Secret("rotated-aws-secret-77"),
    )
    assert (
        env.run(hidden, Target("variable", 3, "AWS_SECRET_ACCESS_KEY")).outcomes[0].state == "done"
    )
    # a crash before the send: the value is gone, so a human types it again
    env.store.journal_intent(
        env.inc, "set_variable_value", "variable", 3, "PIP_INDEX_URL", action.params(), {}
    )
    var.value = "tampered-again-1"
    resumed = resume_pending(env.store, env.inc, env.gl).outcomes[0]
    assert resumed.state == "failed" and "needs human" in resumed.message
    data = env.db_bytes()
    assert b"pypi.org/simple-Zq8vX2" not in data and b"rotated-aws-secret-77" not in data


def test_membership_change_undo_and_last_owner_refusal(env: Env) -> None:
    lower = ChangeMemberLevel(source="group", source_id=3, level=30)
    target = Target("member", 7, "mchen")
    assert env.run(lower, target).outcomes[0].state == "done"
    assert env.s.state.member("Namespace", 3, 7).access_level == 30
    undo = undo_action(env.entry())
    assert isinstance(undo, ChangeMemberLevel) and undo.level == 50
    assert (
        env.run(RemoveMember(source="group", source_id=3), Target("member", 9, "ops-helper"))
        .outcomes[0]
        .state
        == "done"
    )
    readd = undo_action(env.entry())
    assert readd is not None and readd.name == "add_member"
    assert env.run(readd, Target("member", 9, "ops-helper")).outcomes[0].state == "done"
    assert env.s.state.member("Namespace", 3, 9).access_level == 40
    last = env.run(RemoveMember(source="group", source_id=8), Target("member", 1, "root"))
    assert last.outcomes[0].state == "forbidden" and "last Owner" in last.outcomes[0].message


def test_admin_flag_and_2fa(env: Env) -> None:
    refused = env.run(Disable2FA(), Target("user", 7, "mchen")).outcomes[0]
    assert refused.state == "refused" and "Rails console" in refused.message
    assert env.run(RemoveAdmin(), Target("user", 7, "mchen")).outcomes[0].state == "done"
    grant = undo_action(env.entry())
    assert grant is not None and grant.name == "grant_admin"
    assert env.run(Disable2FA(), Target("user", 7, "mchen")).outcomes[0].state == "done"
    assert not env.s.state.users[7].is_admin and not env.s.state.users[7].two_factor
    own = build_plan(RemoveAdmin(), [Target("user", 1, "root")], actor_id=1)
    assert own.targets == () and "your own account" in own.excluded[0][1]
    assert (
        env.run(EnforceInstance2FA(grace_hours=0), Target("instance", 1, "instance"))
        .outcomes[0]
        .state
        == "done"
    )
    assert env.s.state.settings["require_two_factor_authentication"] is True
    assert env.s.state.settings["two_factor_grace_period"] == 0
    assert (
        env.run(EnforceGroup2FA(grace_hours=24), Target("group", 3, "infrastructure"))
        .outcomes[0]
        .state
        == "done"
    )
    assert env.s.state.groups[3].require_two_factor_authentication


def test_oauth_app_delete(env: Env) -> None:
    app = next(iter(env.s.state.oauth_apps.values()))
    assert (
        env.run(DeleteOAuthApp(), Target("oauth_application", app.id, app.name)).outcomes[0].state
        == "done"
    )
    assert env.s.state.oauth_apps == {}
    assert env.writes() == [("DELETE", f"/applications/{app.id}")]


def test_own_token_rotation_needs_its_own_confirmation(env: Env) -> None:
    own = _tok(env, "incident-response")
    target = Target("token", own.id, "console token")
    refused = env.run(RotateOwnToken(), target).outcomes[0]
    assert refused.state == "refused" and env.writes() == []
    plan = build_plan(
        RotateOwnToken(confirmed=True), [target], own_token_id=own.id, include_own_token=True
    )
    out = run_plan(env.store, env.inc, env.gl, plan).outcomes[0]
    assert out.state == "done" and out.secret is not None
    assert env.writes() == [("POST", "/personal_access_tokens/self/rotate")]
    assert own.revoked and env.s.state.token_by_value(out.secret.reveal()) is not None
    assert out.secret.reveal().encode() not in env.db_bytes()


def test_dry_run_and_read_only(env: Env) -> None:
    key = env.s.state.ssh_keys[7][-1]
    target = Target("ssh_key", key.id, key.title)
    dry = env.run(DeleteSshKey(user_id=7), target, dry_run=True)
    assert dry.outcomes[0].state == "would_do" and env.writes() == []
    # journaled as an attempt that sent nothing (actions.attempts), never as a request
    assert [
        (e.state, e.extra.get("not_sent"), e.t_sent) for e in env.store.journal_entries(env.inc)
    ] == [("noop_already", "dry_run", None)]
    with pytest.raises(ReadOnlyRefused):
        env.run(DeleteSshKey(user_id=7), target, read_only=True)
    assert env.entry().extra.get("not_sent") == "read_only" and env.writes() == []
    assert spec_by_name("delete_ssh_key").build({"user_id": 7}).params() == {"user_id": 7}
    assert Plan(DeleteSshKey(user_id=7), (target,)).count == 1


def test_a_token_plan_never_sends_a_token_to_another_kinds_endpoint() -> None:
    rows = [
        {"id": 1, "name": "mine", "user_id": 7},
        {"id": 2, "name": "renovate", "user_id": 27, "resource_type": "group", "resource_id": 3},
        {"id": 3, "name": "imp", "user_id": 1, "impersonation": True},
    ]
    plan = build_plan(RevokeToken(), token_targets(rows))
    assert [t.id for t in plan.targets] == [1]
    assert {t.id: "own endpoint" in why for t, why in plan.excluded} == {2: True, 3: True}
    plans = token_plans("rotate", rows)
    assert [
        (p.action.params().get("kind", "personal"), [t.id for t in p.targets]) for p in plans
    ] == [("group", [2]), ("impersonation", [3]), ("personal", [1])]
    assert all(p.excluded == () for p in plans)
