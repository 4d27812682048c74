"""The intrusion's audit trail, all within the last ~3 days and from ``ATTACKER_IP``.

Failed OTP attempts, then mchen's sign-in, a non-expiring token, an SSH key, the registered
``ops-helper`` made admin, lnguyen's 2FA disabled, mchen raised to Owner, a runner, an outside
webhook and a changed CI variable. The spare footholds' events are ``footholds.audit``.
"""

from __future__ import annotations

from console.drill.seed.history import History
from console.drill.seed.names import ATTACKER_HOOK_URL, ATTACKER_IP, COMPROMISED_USERNAME


def seed_attack(log: History) -> None:
    state, users, add = log.state, log.state.users, log.add
    for n, minutes in enumerate((0, 1, 3)):
        add(
            3.02 - minutes / 1440,
            author=None,
            entity_type="Gitlab::Audit::InstanceScope",
            entity_id=1,
            event_name="login_failed_with_otp_authentication",
            message="Failed to login with OTP authentication",
            ip=ATTACKER_IP,
            author_name=COMPROMISED_USERNAME,
            entity_path="gitlab_instance",
            extra={"failed_login": "OTP", "attempt": n + 1},
        )
    m = users[7]
    add(
        3.0,
        author=m,
        entity_type="User",
        entity_id=7,
        event_name="authenticated_with_two_factor",
        message="Signed in with two-factor authentication",
        target=(7, "User", m.name),
        ip=ATTACKER_IP,
        extra={"with": "two-factor", "authentication_event": True},
    )
    ci_sync = next(t for t in state.tokens.values() if t.name == "ci-sync")
    add(
        2.95,
        author=m,
        entity_type="User",
        entity_id=7,
        event_name="personal_access_token_created",
        message=f"Created personal access token with id {ci_sync.id}",
        target=(7, "User", m.name),
        ip=ATTACKER_IP,
    )
    key = state.ssh_keys[7][-1]
    add(
        2.93,
        author=m,
        entity_type="User",
        entity_id=7,
        event_name="add_ssh_key",
        message="Added SSH key",
        target=(key.id, "Key", key.title),
        ip=ATTACKER_IP,
    )
    helper = users[9]
    add(
        2.1,
        author=helper,
        entity_type="User",
        entity_id=9,
        event_name="registration_created",
        message="Instance access request",
        target=(9, "User", helper.name),
        ip=ATTACKER_IP,
    )
    add(
        2.05,
        author=helper,
        entity_type="User",
        entity_id=9,
        event_name="authenticated_with_password",
        message="Signed in with STANDARD authentication",
        target=(9, "User", helper.name),
        ip=ATTACKER_IP,
        extra={"with": "standard", "authentication_event": True},
    )
    add(
        2.0,
        author=m,
        entity_type="User",
        entity_id=9,
        event_name="user_admin_status_updated",
        message="Changed admin status from false to true",
        target=(9, "User", helper.name),
        ip=ATTACKER_IP,
        extra={"change": "admin", "from": "false", "to": "true"},
    )
    add(
        1.98,
        author=m,
        entity_type="User",
        entity_id=8,
        event_name="user_disable_two_factor",
        message="Disabled two-factor authentication",
        target=(8, "User", users[8].name),
        ip=ATTACKER_IP,
    )
    add(
        1.96,
        author=m,
        entity_type="Group",
        entity_id=3,
        event_name="member_updated",
        message="Membership updated",
        target=(7, "User", m.name),
        ip=ATTACKER_IP,
        extra={"change": "access_level", "from": "Developer", "to": "Owner", "member_id": 7003},
    )
    add(
        1.95,
        author=m,
        entity_type="Group",
        entity_id=3,
        event_name="member_created",
        message="Membership created",
        target=(9, "User", helper.name),
        ip=ATTACKER_IP,
        extra={"add": "user_access", "as": "Maintainer", "member_id": 7009},
    )
    add(
        1.9,
        author=helper,
        entity_type="User",
        entity_id=9,
        event_name="personal_access_token_created",
        message="Created personal access token with id "
        f"{next(t.id for t in state.tokens.values() if t.name == 'automation')}",
        target=(9, "User", helper.name),
        ip=ATTACKER_IP,
    )
    runner = next(r for r in state.runners.values() if r.description == "build-07")
    add(
        1.1,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="ci_runner_created",
        message="Created project CI runner",
        target=(runner.id, "Ci::Runner", "build-07"),
        ip=ATTACKER_IP,
        extra={"runner_registration_type": "authenticated_user"},
    )
    bad_hook = next(h for h in state.hooks.values() if h.url == ATTACKER_HOOK_URL)
    add(
        1.05,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="webhook_created",
        message="Created project hook",
        target=(bad_hook.id, "ProjectHook", bad_hook.url),
        ip=ATTACKER_IP,
    )
    add(
        0.85,
        author=m,
        entity_type="Project",
        entity_id=3,
        event_name="ci_variable_updated",
        message="Changed variable PIP_INDEX_URL",
        target=(303, "Ci::Variable", "PIP_INDEX_URL"),
        ip=ATTACKER_IP,
        extra={"change": "value"},
    )  # values never reach the audit log
