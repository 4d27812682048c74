"""Audit event categories: the catalogue of GitLab event names and the legacy-message rules.

Every event lands in exactly one primary category (OTHER keeps unknown names visible) and may
belong to secondary ones; filters match either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AUDIT_CATEGORIES",
    "AUDIT_SECONDARY",
    "CATEGORY_LABELS",
    "CATEGORY_ORDER",
    "LEGACY_MESSAGE_PATTERNS",
    "categories_of",
    "categorize",
    "categorize_named",
    "details_of",
    "event_name_of",
    "message_text",
]

CATEGORY_ORDER: tuple[str, ...] = (
    "SIGNIN",
    "TOKEN",
    "KEY",
    "2FA",
    "REPO",
    "CONFIG",
    "RUNNER",
    "HOOK",
    "USER",
    "INSTANCE",
    "OTHER",
)
"""Display order; OTHER keeps unknown names visible instead of dropping them."""

CATEGORY_LABELS: Mapping[str, str] = {
    "SIGNIN": "Sign-ins",
    "TOKEN": "Tokens",
    "KEY": "SSH/GPG/deploy keys",
    "2FA": "Two-factor",
    "REPO": "Repositories",
    "CONFIG": "Group/project config",
    "RUNNER": "Runners",
    "HOOK": "Webhooks/push rules",
    "USER": "User lifecycle",
    "INSTANCE": "Instance settings",
    "OTHER": "Other",
}


def _names(category: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, category)


# Primary category per exact event_name (audit-events.md §1). Names are matched exactly: GitLab's
# own typos (q_onbarding_updated, user_profile_visiblity_updated) are real identifiers.
AUDIT_CATEGORIES: dict[str, str] = {
    **_names(
        "SIGNIN",
        "authenticated_with_password",
        "authenticated_with_two_factor",
        "authenticated_with_webauthn",
        "authenticated_with_ldap",
        "authenticated_with_oauth",
        "authenticated_with_group_saml",
        "smartcard_authentication_created",
        "login_failed_with_standard_authentication",
        "login_failed_with_otp_authentication",
        "login_failed_with_webauthn_authentication",
        "omniauth_login_failed",
        "user_signed_in_from_unseen_ip",
        "personal_access_token_used_from_unseen_ip",
        "user_impersonation",
        "user_email_changed_and_user_signed_in",
        "user_access_locked",
        "user_access_unlocked",
        "user_enable_admin_mode",
        "api_request_access_with_scope",
        "user_authenticated_using_job_token",
        "ip_restricted_group_accessed",
        "step_up_auth_required_oauth_provider_updated",
    ),
    **_names(
        "TOKEN",
        "personal_access_token_created",
        "personal_access_token_revoked",
        "project_access_token_created",
        "project_access_token_creation_failed",
        "project_access_token_deleted",
        "project_access_token_deletion_failed",
        "group_access_token_created",
        "group_access_token_creation_failed",
        "group_access_token_deleted",
        "group_access_token_deletion_failed",
        "deploy_token_created",
        "deploy_token_creation_failed",
        "deploy_token_revoked",
        "deploy_token_destroyed",
        "group_deploy_token_created",
        "group_deploy_token_creation_failed",
        "group_deploy_token_revoked",
        "group_deploy_token_destroyed",
        "cluster_agent_token_created",
        "cluster_agent_token_revoked",
        "third_party_agent_token_created",
        "composite_oauth_token_created",
        "mcp_server_oauth_token_stored",
        "oauth_application_created",
        "oauth_application_updated",
        "oauth_application_deleted",
        "user_authorized_oauth_application",
        "user_authorized_iam_oauth_application",
        "user_rejected_iam_oauth_application",
        "disable_personal_access_tokens_updated",
        "resource_access_token_creation_allowed_updated",
        "service_access_tokens_expiration_enforced_updated",
        "personal_access_token_settings_updated",
        "secure_ci_job_token_inbound_enabled",
        "secure_ci_job_token_inbound_disabled",
        "secure_ci_job_token_project_added",
        "secure_ci_job_token_project_removed",
        "secure_ci_job_token_group_added",
        "secure_ci_job_token_group_removed",
        "secure_ci_job_token_policies_updated",
    ),
    **_names(
        "KEY",
        "add_ssh_key",
        "remove_ssh_key",
        "add_gpg_key",
        "remove_gpg_key",
        "deploy_key_added",
        "deploy_key_removed",
        "create_ssh_certificate",
        "delete_ssh_certificate",
        "enforce_ssh_certificates_updated",
        "disable_ssh_keys_updated",
    ),
    **_names(
        "2FA",
        "user_enable_two_factor",
        "user_disable_two_factor",
        "user_enable_passkey",
        "user_disable_passkey",
        "group_require_two_factor_authentication_updated",
        "group_two_factor_grace_period_updated",
        "allow_mfa_for_subgroups_updated",
    ),
    **_names(
        "REPO",
        "protected_branch_created",
        "protected_branch_removed",
        "protected_branch_updated",
        "protected_branch_allow_force_push_updated",
        "protected_branch_code_owner_approval_required_updated",
        "project_default_branch_updated",
        "default_branch_name_updated",
        "repository_git_operation",
        "repository_download_operation",
        "public_repository_download_operation",
        "repository_file_accessed_api",
        "repository_file_accessed_web",
        "job_artifact_downloaded",
        "project_export_created",
        "project_export_file_download_started",
        "group_export_created",
        "direct_transfer_relations_export_initiated",
        "direct_transfer_relation_export_downloaded",
        "direct_transfer_relation_export_batch_downloaded",
        "project_imported",
        "project_destroyed",
        "project_deletion_marked",
        "inactive_project_scheduled_for_deletion",
        "project_restored",
        "project_archived",
        "project_unarchived",
        "project_visibility_level_updated",
        "project_namespace_updated",
        "project_path_updated",
        "project_name_updated",
        "project_fork_operation",
        "project_fork_relationship_removed",
        "project_feature_repository_access_level_updated",
        "project_feature_forking_access_level_updated",
        "project_repository_size_limit_updated",
        "project_blobs_removal",
        "project_text_replacement",
        "manually_trigger_housekeeping",
        "skip_secret_push_protection",
        "enabled_git_access_protocol_updated",
        "prevent_forking_outside_group_updated",
        "delete_merge_request",
        "merged_merge_request_deleted",
        "merge_request_merged",
    ),
    **_names(
        "CONFIG",
        "member_created",
        "member_updated",
        "member_destroyed",
        "change_membership_state",
        "project_group_link_created",
        "project_group_link_updated",
        "project_group_link_deleted",
        "group_share_with_group_link_created",
        "group_share_with_group_link_updated",
        "group_share_with_group_link_removed",
        "member_role_created",
        "member_role_updated",
        "member_role_deleted",
        "group_created",
        "group_destroyed",
        "group_deletion_marked",
        "group_restored",
        "group_archived",
        "group_unarchived",
        "group_visibility_level_updated",
        "group_name_updated",
        "group_path_updated",
        "group_project_creation_level_updated",
        "group_request_access_enabled_updated",
        "group_membership_lock_updated",
        "group_shared_with_group_lock_updated",
        "prevent_sharing_groups_outside_hierarchy_updated",
        "ip_restrictions_changed",
        "allowed_email_domain_updated",
        "saml_group_links_created",
        "saml_group_links_removed",
        "group_saml_provider_create",
        "group_saml_provider_update",
        "group_saml_member_added",
        "update_mismatched_group_saml_extern_uid",
        "ldap_group_sync_failed",
        "project_created",
        "project_description_updated",
        "ci_variable_created",
        "ci_variable_updated",
        "ci_variable_deleted",
        "ci_group_variable_created",
        "ci_group_variable_updated",
        "ci_group_variable_deleted",
        "variable_viewed_api",
        "project_ci_cd_settings_accessed",
        "group_ci_cd_settings_accessed",
        "environment_protected",
        "environment_unprotected",
        "approval_rule_created",
        "approval_rule_deleted",
        "update_approval_rules",
        "project_merge_requests_disable_committers_approval_updated",
        "project_merge_requests_author_approval_updated",
        "project_require_password_to_approve_updated",
        "project_reset_approvals_on_push_updated",
        "project_disable_overriding_approvers_per_merge_request_updated",
        "allow_author_approval_updated",
        "allow_committer_approval_updated",
        "allow_overrides_to_approver_list_per_merge_request_updated",
        "require_password_to_approve_updated",
        "retain_approvals_on_push_updated",
        "policy_project_updated",
        "security_policy_create",
        "security_policy_update",
        "security_policy_delete",
        "create_status_check",
        "update_status_check",
        "delete_status_check",
        "destroy_event_streaming_destination",
        "deleted_group_audit_event_streaming_destination",
        "event_type_filters_created",
        "event_type_filters_deleted",
        "amazon_s3_configuration_deleted",
        "google_cloud_logging_configuration_deleted",
    ),
    **_names(
        "RUNNER",
        "ci_runner_registered",
        "ci_runner_created",
        "ci_runner_unregistered",
        "ci_runners_bulk_deleted",
        "ci_runner_token_reset",
        "ci_runner_assigned_to_project",
        "ci_runner_unassigned_from_project",
        "set_runner_associated_projects",
        "allow_runner_registration_token_updated",
        "runner_registration_enabled_updated",
        "ci_runner_usage_export",
        "project_runner_cache_cleared",
        "group_shared_runners_minutes_limit_updated",
    ),
    **_names("HOOK", "webhook_created", "webhook_destroyed"),
    **_names(
        "USER",
        "user_created",
        "registration_created",
        "user_provisioned_by_scim",
        "user_approved",
        "user_rejected",
        "user_blocked",
        "unblock_user",
        "ban_user",
        "unban_user",
        "user_activate",
        "user_deactivate",
        "user_destroyed",
        "user_records_migrated_to_ghost",
        "user_admin_status_updated",
        "user_auditor_status_updated",
        "custom_admin_role_assigned_to_user",
        "custom_admin_role_unassigned_from_user",
        "user_external_status_updated",
        "user_password_updated",
        "password_reset_requested",
        "password_reset_failed",
        "user_email_address_updated",
        "email_created",
        "email_destroyed",
        "email_confirmation_sent",
        "user_username_updated",
        "user_name_updated",
        "user_profile_visibility_updated",
        "user_profile_visiblity_updated",
    ),
    **_names(
        "INSTANCE",
        "application_setting_updated",
        "ci_instance_variable_created",
        "ci_instance_variable_updated",
        "ci_instance_variable_deleted",
        "feature_access_rules_updated",
        "q_onbarding_updated",
        "destroy_instance_event_streaming_destination",
        "deleted_instance_audit_event_streaming_destination",
        "instance_amazon_s3_configuration_deleted",
        "instance_google_cloud_logging_configuration_deleted",
        "update_instance_event_streaming_destination",
        "updated_instance_audit_event_streaming_destination",
        "created_instance_namespace_filter",
        "deleted_instance_namespace_filter",
        "organization_soft_deleted",
        "organization_hard_deleted",
        "ai_setting_updated",
    ),
}

# Families named by prefix/suffix rather than listed one by one.
_PATTERN_CATEGORIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(group|project)_push_rules_"), "HOOK"),
    (re.compile(r"^runner_controller_"), "RUNNER"),
    (re.compile(r"^secure_ci_job_token_"), "TOKEN"),
    (re.compile(r"^security_policy_.*_bypass$"), "REPO"),
    (re.compile(r"^secrets_manager_"), "CONFIG"),
    (re.compile(r"^compliance_framework_"), "CONFIG"),
    (re.compile(r"^audit_events_streaming_instance_headers_"), "INSTANCE"),
    (re.compile(r"^(self_hosted_model_|duo_.*_enabled_updated$)"), "INSTANCE"),
)

# Events that also belong to a second category (the "SIGNIN / 2FA" rows of the catalogue);
# category filters match either.
AUDIT_SECONDARY: dict[str, frozenset[str]] = {
    "authenticated_with_two_factor": frozenset({"2FA"}),
    "authenticated_with_webauthn": frozenset({"2FA"}),
    "login_failed_with_otp_authentication": frozenset({"2FA"}),
    "login_failed_with_webauthn_authentication": frozenset({"2FA"}),
    "personal_access_token_used_from_unseen_ip": frozenset({"TOKEN"}),
    "api_request_access_with_scope": frozenset({"TOKEN"}),
    "user_authenticated_using_job_token": frozenset({"TOKEN"}),
    "user_email_changed_and_user_signed_in": frozenset({"USER"}),
    "user_access_locked": frozenset({"USER"}),
    "user_access_unlocked": frozenset({"USER"}),
    "update_mismatched_group_saml_extern_uid": frozenset({"SIGNIN"}),
    "runner_controller_token_created": frozenset({"TOKEN"}),
    "runner_controller_token_revoked": frozenset({"TOKEN"}),
    "runner_controller_token_rotated": frozenset({"TOKEN"}),
    "enforce_ssh_certificates_updated": frozenset({"CONFIG"}),
    "disable_ssh_keys_updated": frozenset({"CONFIG"}),
    "group_require_two_factor_authentication_updated": frozenset({"CONFIG"}),
    "group_two_factor_grace_period_updated": frozenset({"CONFIG"}),
    "allow_mfa_for_subgroups_updated": frozenset({"CONFIG"}),
    "project_visibility_level_updated": frozenset({"CONFIG"}),
}

# Legacy events (no event_name, or the default "audit_operation") are classified by their
# human message. Order matters: the first match wins.
LEGACY_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(ssh|gpg)\s+key\b", re.I), "KEY"),
    (re.compile(r"\bdeploy\s+key\b", re.I), "KEY"),
    (re.compile(r"\bdeploy\s+token\b", re.I), "TOKEN"),
    (re.compile(r"\b(access|impersonation|feed|oauth)\s+token\b", re.I), "TOKEN"),
    (re.compile(r"\btwo[- ]factor|\b2fa\b|\bwebauthn\b|\botp\b", re.I), "2FA"),
    (re.compile(r"\bsign(ed)?[- ]?in\b|\blog(ged)?[- ]?in\b|\bimpersonat", re.I), "SIGNIN"),
    (re.compile(r"\brunner\b", re.I), "RUNNER"),
    (re.compile(r"\b(web|system)\s*hook\b|\bpush rule", re.I), "HOOK"),
    (re.compile(r"\bprotected branch\b|\bforce push|\brepository\b|\bexport", re.I), "REPO"),
    (re.compile(r"\bvariable\b|\bmember\b|\baccess level\b", re.I), "CONFIG"),
    (re.compile(r"\b(blocked|unblocked|banned|password|email|admin)\b", re.I), "USER"),
)

_LEGACY_ADD_REMOVE: Mapping[str, str] = {
    "user_access": "CONFIG",
    "group": "CONFIG",
    "project": "REPO",
    "user": "USER",
    "ssh_key": "KEY",
    "key": "KEY",
    "gpg_key": "KEY",
    "deploy_key": "KEY",
    "personal_access_token": "TOKEN",
    "deploy_token": "TOKEN",
    "runner": "RUNNER",
    "hook": "HOOK",
}

_LEGACY_CHANGE: Mapping[str, str] = {
    "email address": "USER",
    "email": "USER",
    "username": "USER",
    "name": "USER",
    "password": "USER",
    "admin": "USER",
    "access_level": "CONFIG",
    "access level": "CONFIG",
    "visibility": "REPO",
    "two_factor": "2FA",
}


def details_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    d = event.get("details")
    return d if isinstance(d, Mapping) else {}


def event_name_of(event: Mapping[str, Any]) -> str:
    """The type name, preferring the top-level copy; "" when absent or ``audit_operation``."""
    for source in (event, details_of(event)):
        name = source.get("event_name") or source.get("event_type")
        if isinstance(name, str) and name and name != "audit_operation":
            return name
    return ""


def message_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # Git operations carry an object such as {protocol, action}
        return " ".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def categorize(event: Mapping[str, Any]) -> str:
    """Primary category of a raw (or normalised) audit event; "OTHER" when unknown."""
    return categorize_named(event_name_of(event), details_of(event))


def categorize_named(name: str, details: Mapping[str, Any]) -> str:
    """:func:`categorize` given the event's type name (:func:`event_name_of`) and details."""
    if name:
        if name in AUDIT_CATEGORIES:
            return AUDIT_CATEGORIES[name]
        for pattern, category in _PATTERN_CATEGORIES:
            if pattern.search(name):
                return category
    # Legacy sign-ins: `with` (method) or `failed_login` without a type name.
    if details.get("failed_login") or details.get("with"):
        return "SIGNIN"
    message = message_text(details.get("custom_message"))
    for pattern, category in LEGACY_MESSAGE_PATTERNS:
        if message and pattern.search(message):
            return category
    for key in ("add", "remove"):
        target = details.get(key)
        if isinstance(target, str) and target.lower() in _LEGACY_ADD_REMOVE:
            return _LEGACY_ADD_REMOVE[target.lower()]
    change = details.get("change")
    if isinstance(change, str):
        lowered = change.lower()
        for needle, category in _LEGACY_CHANGE.items():
            if needle in lowered:
                return category
    if name:
        # Typed but unknown: keep guessing from the name so new types land somewhere useful.
        for pattern, category in LEGACY_MESSAGE_PATTERNS:
            if pattern.search(name.replace("_", " ")):
                return category
    return "OTHER"


def categories_of(event: Mapping[str, Any]) -> frozenset[str]:
    """Every category an event belongs to (primary plus the catalogue's secondary ones)."""
    return frozenset({categorize(event)}) | AUDIT_SECONDARY.get(event_name_of(event), frozenset())
