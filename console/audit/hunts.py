"""Named persistence hunts: the audit-event questions a responder asks first, one key each.

Each hunt is a set of GitLab audit event type names (see ``shared/reference/audit-events.md``)
turned into an :class:`~console.store.EventQuery`, so it runs in SQL over every stored event and
combines with the pane's other filters and search. The reasons are shown beside the results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from console.store import EventQuery

__all__ = ["HUNTS", "Hunt", "hunt_by_key"]


@dataclass(frozen=True, slots=True)
class Hunt:
    """One question about footholds, answered by the events whose type is in ``names``."""

    key: str
    title: str
    why: str
    names: frozenset[str]

    def query(self, base: EventQuery | None = None) -> EventQuery:
        """This hunt on top of ``base`` (its scope, time range, author, IP and search stay)."""
        return replace(base or EventQuery(), event_names=self.names, categories=frozenset())


def _hunt(key: str, title: str, why: str, *names: str) -> Hunt:
    return Hunt(key, title, why, frozenset(names))


HUNTS: Final[tuple[Hunt, ...]] = (
    _hunt(
        "admins",
        "New administrators",
        "An attacker with admin rights grants them to a second account to keep access.",
        "user_admin_status_updated",
        "custom_admin_role_assigned_to_user",
        "user_enable_admin_mode",
    ),
    _hunt(
        "tokens",
        "New access tokens",
        "Personal, impersonation, group, project and deploy tokens outlive a password reset.",
        "personal_access_token_created",
        "project_access_token_created",
        "group_access_token_created",
        "deploy_token_created",
        "group_deploy_token_created",
        "cluster_agent_token_created",
        "runner_controller_token_created",
    ),
    _hunt(
        "keys",
        "New SSH and GPG keys",
        "A planted SSH key keeps Git access after the password and tokens are reset.",
        "add_ssh_key",
        "add_gpg_key",
        "create_ssh_certificate",
        "deploy_key_added",
    ),
    _hunt(
        "runners",
        "New runners",
        "A registered runner receives CI jobs and with them every variable they can read.",
        "ci_runner_registered",
        "ci_runner_created",
        "ci_runner_assigned_to_project",
        "set_runner_associated_projects",
        "ci_runner_token_reset",
        "runner_controller_created",
    ),
    _hunt(
        "hooks",
        "New webhooks",
        "A system or project hook pointing outside sends every push and event to the attacker.",
        "webhook_created",
    ),
    _hunt(
        "2fa",
        "2FA disabled or relaxed",
        "Turning 2FA off (or a grace period) lets a stolen password sign in alone.",
        "user_disable_two_factor",
        "group_require_two_factor_authentication_updated",
        "group_two_factor_grace_period_updated",
    ),
    _hunt(
        "members",
        "Membership added or elevated",
        "A Maintainer or Owner role reaches protected variables, runners and deploy keys.",
        "member_created",
        "member_updated",
        "change_membership_state",
        "member_role_created",
        "member_role_updated",
    ),
    _hunt(
        "settings",
        "Settings and CI/CD variables changed",
        "Changed instance settings or protected variables can open a door or steal secrets.",
        "application_setting_updated",
        "ci_instance_variable_created",
        "ci_instance_variable_updated",
        "ci_variable_created",
        "ci_variable_updated",
        "ci_group_variable_created",
        "ci_group_variable_updated",
    ),
    _hunt(
        "streaming",
        "Audit streaming changed",
        "Removing a streaming destination or adding a type filter hides the attacker's tracks.",
        "destroy_instance_event_streaming_destination",
        "deleted_instance_audit_event_streaming_destination",
        "instance_amazon_s3_configuration_deleted",
        "instance_google_cloud_logging_configuration_deleted",
        "update_instance_event_streaming_destination",
        "updated_instance_audit_event_streaming_destination",
        "destroy_event_streaming_destination",
        "deleted_group_audit_event_streaming_destination",
        "event_type_filters_created",
        "event_type_filters_deleted",
        "amazon_s3_configuration_deleted",
        "google_cloud_logging_configuration_deleted",
    ),
    _hunt(
        "apps",
        "New OAuth applications",
        "An instance or user OAuth application lets the attacker mint tokens after the reset.",
        "oauth_application_created",
        "oauth_application_updated",
        "user_authorized_oauth_application",
    ),
    _hunt(
        "repo",
        "Repository exported or unprotected",
        "Exports, downloads and lifted branch protection: code taken or changed unreviewed.",
        "project_export_created",
        "group_export_created",
        "project_export_file_download_started",
        "repository_download_operation",
        "protected_branch_removed",
        "protected_branch_updated",
    ),
)

_BY_KEY: Final = {h.key: h for h in HUNTS}


def hunt_by_key(key: str) -> Hunt | None:
    return _BY_KEY.get(key)
