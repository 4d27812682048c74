"""The runbook's steps: GitLab's "Responding to security incidents" guide, step by step.

The text of every step is the guide's own sentence (``tests/test_runbook_steps.py`` checks each
one, and their order, against the seed copy of the guide), so a responder can trust that the
checklist is the guide and not a paraphrase. The app cannot read the guide at run time, so the
steps are embedded here. Each step says what ticks it (``auto``, read by
:mod:`console.runbook.state`) and what in the console does it (``opens``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["GUIDE_TITLE", "RUNBOOKS", "SECTION_TITLES", "Step", "step_by_key", "steps_for"]

GUIDE_TITLE: Final = "Responding to security incidents"


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the runbook.

    ``auto`` names the rule that ticks the step from what happened (None: ticked by hand);
    ``opens`` is the pane (``users``, ``audit``, ``credentials``, ``timeline``, ``journal``) or
    action (``action:block_user``) that does the step; ``examples`` are the guide's sub-items.
    """

    key: str
    text: str
    auto: str | None = None
    opens: str | None = None
    hint: str = ""
    examples: tuple[str, ...] = ()


_ACCOUNT: Final = (
    Step(
        "account.block",
        "Block the user to mitigate any current risk.",
        auto="verified:block_user",
        opens="action:block_user",
        hint="ticks when a block of every subject is verified",
    ),
    Step(
        "account.audit",
        "Review the audit events available to you to identify any suspicious account behavior.",
        auto="audit_window",
        opens="audit",
        hint="ticks when the audit events of the incident window are fetched in full",
        examples=(
            "Suspicious sign-in events.",
            "Creation or deletion of personal access tokens, project access tokens, and group "
            "access tokens.",
            "Creation or deletion of SSH or GPG keys.",
            "Creation, modification, or deletion of two-factor authentication.",
            "Changes to repositories.",
            "Changes to group or project configurations.",
            "Addition or modification of runners.",
            "Addition or modification of webhooks or Git hooks.",
        ),
    ),
    Step(
        "account.credentials",
        "Reset any credentials the user might have had access to.",
        auto="verified:revoke_token,rotate_token",
        opens="credentials",
        hint="ticks when a token revocation or rotation is verified; CI/CD variables and "
        "runner tokens are reset outside the console",
    ),
    Step(
        "account.password",
        "Reset the user’s password.",
        auto="verified:reset_password",
        opens="action:reset_password",
    ),
    Step(
        "account.2fa",
        "Get the user to enable two factor authentication (2FA), and consider enforcing 2FA "
        "at the instance or group level",
        auto="verified:disable_2fa",
        opens="action:disable_2fa",
        hint="ticks when a forced 2FA re-enrolment is verified",
    ),
    Step(
        "account.unblock",
        "After completing an investigation and mitigating impacts, unblock the user.",
        auto="unblocked",
        opens="action:unblock_user",
        hint="ticks when every blocked user has a verified unblock",
    ),
)

_INSTANCE: Final = (
    Step(
        "instance.audit",
        "Review the audit events available to you for suspicious account behavior.",
        auto="audit_window",
        opens="audit",
    ),
    Step(
        "instance.users",
        "Review all users (including the Administrative root user), and follow the steps in "
        "Suspected compromised user account if necessary.",
        auto="all_users_marked",
        opens="users",
        hint="ticks when every user, root included, has a review mark",
    ),
    Step(
        "instance.inventory",
        "Review the Credentials Inventory, if available to you.",
        auto="inventory",
        opens="credentials",
        hint="ticks when the credentials inventory is fetched in full",
    ),
    Step(
        "instance.secrets",
        "Change any sensitive credentials, variables, tokens, and secrets.",
        auto="verified:revoke_token,rotate_token",
        opens="credentials",
        hint="variables and secrets in the instance configuration or database are changed "
        "outside the console",
    ),
    Step(
        "instance.update",
        "Update to the latest version of GitLab and adopt a plan to update after every "
        "security patch release.",
        opens="coverage",
        hint="the version check shows how far behind the instance is",
    ),
    Step(
        "instance.save_state",
        "Save any server state and logs to a write-once location, for later investigation.",
        opens="export",
        hint="the evidence bundle (incident-console export) is part of this",
    ),
    Step("instance.processes", "Look for unrecognized background processes."),
    Step("instance.ports", "Check for open ports on the system."),
    Step(
        "instance.rebuild",
        "Rebuild the host from a known-good backup or from scratch, and apply all the latest "
        "security patches.",
    ),
    Step("instance.network_logs", "Review network logs for uncommon traffic."),
    Step("instance.monitoring", "Establish network monitoring and network-level controls."),
    Step(
        "instance.restrict",
        "Restrict inbound and outbound network access to authorized users and servers only.",
    ),
    Step(
        "instance.log_routing", "Ensure all logs are routed to an independent write-only datastore."
    ),
)

#: Incident kind (console.store.INCIDENT_KINDS) → the guide section's steps, in its order.
RUNBOOKS: Final[dict[str, tuple[Step, ...]]] = {
    "compromised-account": _ACCOUNT,
    "compromised-instance": _INSTANCE,
}
SECTION_TITLES: Final[dict[str, str]] = {
    "compromised-account": "Suspected compromised user account",
    "compromised-instance": "Suspected compromised instance",
}


def steps_for(kind: str) -> tuple[Step, ...]:
    """The runbook of an incident kind (an unknown kind gets the instance runbook: the wider)."""
    return RUNBOOKS.get(kind, _INSTANCE)


def step_by_key(key: str) -> Step | None:
    for steps in RUNBOOKS.values():
        for step in steps:
            if step.key == key:
                return step
    return None
