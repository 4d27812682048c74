"""Audit events: categories, ≤30-day slicing, keyset fetching, normalising and filtering.

Headless (no Textual, no Rich). The REST API filters only by date (at most 30 days per query) and,
on the instance endpoint, by entity; everything else is classified and filtered here, on the
client. Text in the records is the server's raw text: it is sanitised when displayed, not here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from gitlab.exceptions import GitlabHttpError

from console.errors import Problem, describe_error

# ---------------------------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------------------------

CATEGORY_ORDER: tuple[str, ...] = (
    "SIGNIN", "TOKEN", "KEY", "2FA", "REPO", "CONFIG", "RUNNER", "HOOK", "USER", "INSTANCE",
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
        "authenticated_with_password", "authenticated_with_two_factor",
        "authenticated_with_webauthn", "authenticated_with_ldap", "authenticated_with_oauth",
        "authenticated_with_group_saml", "smartcard_authentication_created",
        "login_failed_with_standard_authentication", "login_failed_with_otp_authentication",
        "login_failed_with_webauthn_authentication", "omniauth_login_failed",
        "user_signed_in_from_unseen_ip", "personal_access_token_used_from_unseen_ip",
        "user_impersonation", "user_email_changed_and_user_signed_in", "user_access_locked",
        "user_access_unlocked", "user_enable_admin_mode", "api_request_access_with_scope",
        "user_authenticated_using_job_token", "ip_restricted_group_accessed",
        "step_up_auth_required_oauth_provider_updated",
    ),
    **_names(
        "TOKEN",
        "personal_access_token_created", "personal_access_token_revoked",
        "project_access_token_created", "project_access_token_creation_failed",
        "project_access_token_deleted", "project_access_token_deletion_failed",
        "group_access_token_created", "group_access_token_creation_failed",
        "group_access_token_deleted", "group_access_token_deletion_failed",
        "deploy_token_created", "deploy_token_creation_failed", "deploy_token_revoked",
        "deploy_token_destroyed", "group_deploy_token_created",
        "group_deploy_token_creation_failed", "group_deploy_token_revoked",
        "group_deploy_token_destroyed", "cluster_agent_token_created",
        "cluster_agent_token_revoked", "third_party_agent_token_created",
        "composite_oauth_token_created", "mcp_server_oauth_token_stored",
        "oauth_application_created", "oauth_application_updated", "oauth_application_deleted",
        "user_authorized_oauth_application", "user_authorized_iam_oauth_application",
        "user_rejected_iam_oauth_application", "disable_personal_access_tokens_updated",
        "resource_access_token_creation_allowed_updated",
        "service_access_tokens_expiration_enforced_updated",
        "personal_access_token_settings_updated", "secure_ci_job_token_inbound_enabled",
        "secure_ci_job_token_inbound_disabled", "secure_ci_job_token_project_added",
        "secure_ci_job_token_project_removed", "secure_ci_job_token_group_added",
        "secure_ci_job_token_group_removed", "secure_ci_job_token_policies_updated",
    ),
    **_names(
        "KEY",
        "add_ssh_key", "remove_ssh_key", "add_gpg_key", "remove_gpg_key", "deploy_key_added",
        "deploy_key_removed", "create_ssh_certificate", "delete_ssh_certificate",
        "enforce_ssh_certificates_updated", "disable_ssh_keys_updated",
    ),
    **_names(
        "2FA",
        "user_enable_two_factor", "user_disable_two_factor", "user_enable_passkey",
        "user_disable_passkey", "group_require_two_factor_authentication_updated",
        "group_two_factor_grace_period_updated", "allow_mfa_for_subgroups_updated",
    ),
    **_names(
        "REPO",
        "protected_branch_created", "protected_branch_removed", "protected_branch_updated",
        "protected_branch_allow_force_push_updated",
        "protected_branch_code_owner_approval_required_updated",
        "project_default_branch_updated", "default_branch_name_updated",
        "repository_git_operation", "repository_download_operation",
        "public_repository_download_operation", "repository_file_accessed_api",
        "repository_file_accessed_web", "job_artifact_downloaded", "project_export_created",
        "project_export_file_download_started", "group_export_created",
        "direct_transfer_relations_export_initiated", "direct_transfer_relation_export_downloaded",
        "direct_transfer_relation_export_batch_downloaded", "project_imported",
        "project_destroyed", "project_deletion_marked", "inactive_project_scheduled_for_deletion",
        "project_restored", "project_archived", "project_unarchived",
        "project_visibility_level_updated", "project_namespace_updated", "project_path_updated",
        "project_name_updated", "project_fork_operation", "project_fork_relationship_removed",
        "project_feature_repository_access_level_updated",
        "project_feature_forking_access_level_updated", "project_repository_size_limit_updated",
        "project_blobs_removal", "project_text_replacement", "manually_trigger_housekeeping",
        "skip_secret_push_protection", "enabled_git_access_protocol_updated",
        "prevent_forking_outside_group_updated", "delete_merge_request",
        "merged_merge_request_deleted", "merge_request_merged",
    ),
    **_names(
        "CONFIG",
        "member_created", "member_updated", "member_destroyed", "change_membership_state",
        "project_group_link_created", "project_group_link_updated", "project_group_link_deleted",
        "group_share_with_group_link_created", "group_share_with_group_link_updated",
        "group_share_with_group_link_removed", "member_role_created", "member_role_updated",
        "member_role_deleted", "group_created", "group_destroyed", "group_deletion_marked",
        "group_restored", "group_archived", "group_unarchived", "group_visibility_level_updated",
        "group_name_updated", "group_path_updated", "group_project_creation_level_updated",
        "group_request_access_enabled_updated", "group_membership_lock_updated",
        "group_shared_with_group_lock_updated",
        "prevent_sharing_groups_outside_hierarchy_updated", "ip_restrictions_changed",
        "allowed_email_domain_updated", "saml_group_links_created", "saml_group_links_removed",
        "group_saml_provider_create", "group_saml_provider_update", "group_saml_member_added",
        "update_mismatched_group_saml_extern_uid", "ldap_group_sync_failed", "project_created",
        "project_description_updated", "ci_variable_created", "ci_variable_updated",
        "ci_variable_deleted", "ci_group_variable_created", "ci_group_variable_updated",
        "ci_group_variable_deleted", "variable_viewed_api", "project_ci_cd_settings_accessed",
        "group_ci_cd_settings_accessed", "environment_protected", "environment_unprotected",
        "approval_rule_created", "approval_rule_deleted", "update_approval_rules",
        "project_merge_requests_disable_committers_approval_updated",
        "project_merge_requests_author_approval_updated",
        "project_require_password_to_approve_updated", "project_reset_approvals_on_push_updated",
        "project_disable_overriding_approvers_per_merge_request_updated",
        "allow_author_approval_updated", "allow_committer_approval_updated",
        "allow_overrides_to_approver_list_per_merge_request_updated",
        "require_password_to_approve_updated", "retain_approvals_on_push_updated",
        "policy_project_updated", "security_policy_create", "security_policy_update",
        "security_policy_delete", "create_status_check", "update_status_check",
        "delete_status_check", "destroy_event_streaming_destination",
        "deleted_group_audit_event_streaming_destination", "event_type_filters_created",
        "event_type_filters_deleted", "amazon_s3_configuration_deleted",
        "google_cloud_logging_configuration_deleted",
    ),
    **_names(
        "RUNNER",
        "ci_runner_registered", "ci_runner_created", "ci_runner_unregistered",
        "ci_runners_bulk_deleted", "ci_runner_token_reset", "ci_runner_assigned_to_project",
        "ci_runner_unassigned_from_project", "set_runner_associated_projects",
        "allow_runner_registration_token_updated", "runner_registration_enabled_updated",
        "ci_runner_usage_export", "project_runner_cache_cleared",
        "group_shared_runners_minutes_limit_updated",
    ),
    **_names("HOOK", "webhook_created", "webhook_destroyed"),
    **_names(
        "USER",
        "user_created", "registration_created", "user_provisioned_by_scim", "user_approved",
        "user_rejected", "user_blocked", "unblock_user", "ban_user", "unban_user",
        "user_activate", "user_deactivate", "user_destroyed", "user_records_migrated_to_ghost",
        "user_admin_status_updated", "user_auditor_status_updated",
        "custom_admin_role_assigned_to_user", "custom_admin_role_unassigned_from_user",
        "user_external_status_updated", "user_password_updated", "password_reset_requested",
        "password_reset_failed", "user_email_address_updated", "email_created",
        "email_destroyed", "email_confirmation_sent", "user_username_updated",
        "user_name_updated", "user_profile_visibility_updated", "user_profile_visiblity_updated",
    ),
    **_names(
        "INSTANCE",
        "application_setting_updated", "ci_instance_variable_created",
        "ci_instance_variable_updated", "ci_instance_variable_deleted",
        "feature_access_rules_updated", "q_onbarding_updated",
        "destroy_instance_event_streaming_destination",
        "deleted_instance_audit_event_streaming_destination",
        "instance_amazon_s3_configuration_deleted",
        "instance_google_cloud_logging_configuration_deleted",
        "update_instance_event_streaming_destination",
        "updated_instance_audit_event_streaming_destination",
        "created_instance_namespace_filter", "deleted_instance_namespace_filter",
        "organization_soft_deleted", "organization_hard_deleted", "ai_setting_updated",
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


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    d = event.get("details")
    return d if isinstance(d, Mapping) else {}


def event_name_of(event: Mapping[str, Any]) -> str:
    """The type name, preferring the top-level copy; "" when absent or ``audit_operation``."""
    for source in (event, _details(event)):
        name = source.get("event_name") or source.get("event_type")
        if isinstance(name, str) and name and name != "audit_operation":
            return name
    return ""


def _message_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # Git operations carry an object such as {protocol, action}
        return " ".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def categorize(event: Mapping[str, Any]) -> str:
    """Primary category of a raw (or normalised) audit event; "OTHER" when unknown."""
    name = event_name_of(event)
    if name:
        if name in AUDIT_CATEGORIES:
            return AUDIT_CATEGORIES[name]
        for pattern, category in _PATTERN_CATEGORIES:
            if pattern.search(name):
                return category
    details = _details(event)
    # Legacy sign-ins: `with` (method) or `failed_login` without a type name.
    if details.get("failed_login") or details.get("with"):
        return "SIGNIN"
    message = _message_text(details.get("custom_message"))
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


# ---------------------------------------------------------------------------------------------
# Time windows
# ---------------------------------------------------------------------------------------------

MAX_QUERY_DAYS = 30
"""GitLab rejects (or clamps; unverified which) audit queries spanning more than 30 days."""


def parse_time(value: datetime | str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp or date into an aware UTC datetime (naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """UTC ISO 8601 with a Z suffix, as GitLab accepts it."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DEFAULT_WINDOW_DAYS = 30
EVENTS_CACHE_PREFIX = "audit:instance"


def incident_window(
    start: datetime | str | None, end: datetime | str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The incident window as aware datetimes; an open end means now, an open start 30 days back."""
    end_dt = parse_time(end) or now or datetime.now(UTC)
    start_dt = parse_time(start) or end_dt - timedelta(days=DEFAULT_WINDOW_DAYS)
    return start_dt, end_dt


def events_cache_key(start: datetime | str | None, end: datetime | str | None) -> str:
    """The store cache key of the instance audit events fetched for an incident window.

    Takes the incident's own bounds: an open end ("until now", the default) keys as ``open``,
    so the events cached last session show at once on resume even though "now" has moved; a
    reload then fetches up to the new now. The audit pane writes it and risk scoring reads it,
    so both must build it here.
    """
    def bound(value: datetime | str | None) -> str:
        when = parse_time(value)
        return when.isoformat() if when is not None else "open"

    return f"{EVENTS_CACHE_PREFIX}:{bound(start)}:{bound(end)}"


def window_slices(
    start: datetime | str, end: datetime | str, max_days: int = MAX_QUERY_DAYS
) -> list[tuple[datetime, datetime]]:
    """Split [start, end] into consecutive slices of at most ``max_days`` days, newest first.

    Slices share their boundary instant (GitLab's filters are inclusive); duplicates that this
    produces are removed by id when fetching.
    """
    lo, hi = parse_time(start), parse_time(end)
    if lo is None or hi is None:
        raise ValueError("window_slices needs a start and an end time")
    if max_days <= 0:
        raise ValueError("max_days must be positive")
    if hi < lo:
        lo, hi = hi, lo
    step = timedelta(days=max_days)
    slices: list[tuple[datetime, datetime]] = []
    cursor = hi
    while True:
        begin = max(lo, cursor - step)
        slices.append((begin, cursor))
        if begin <= lo:
            break
        cursor = begin
    return slices


# ---------------------------------------------------------------------------------------------
# Normalised records
# ---------------------------------------------------------------------------------------------


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _as_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit event, flattened. Strings are raw server text (sanitise before display)."""

    id: int
    created_at: str
    author_id: int | None
    author_name: str
    entity_type: str
    entity_id: int | None
    entity_path: str
    event_name: str
    category: str
    target_type: str
    target_id: str  # an integer or a path string on the server; kept as text
    target_details: str
    ip_address: str
    summary: str
    categories: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target_user_id(self) -> int | None:
        """The affected user's id when the target is a user."""
        if self.target_type == "User":
            return _as_int(self.target_id)
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["categories"] = list(self.categories)
        data["details"] = dict(self.details)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["categories"] = tuple(values.get("categories") or ())
        values["details"] = dict(values.get("details") or {})
        return cls(**values)


def summarize(details: Mapping[str, Any]) -> str:
    """A one-line plain-text summary from ``custom_message``, change from/to and add/remove."""
    parts: list[str] = []
    message = _message_text(details.get("custom_message"))
    if message:
        parts.append(message)
    change = details.get("change")
    if change:
        frm, to = _as_str(details.get("from")), _as_str(details.get("to"))
        parts.append(f"{_as_str(change)}: {frm or '(empty)'} → {to or '(empty)'}")
    if details.get("add"):
        text = f"added {_as_str(details['add'])}"
        if details.get("as"):
            text += f" as {_as_str(details['as'])}"
        parts.append(text)
    if details.get("remove"):
        parts.append(f"removed {_as_str(details['remove'])}")
    if details.get("with") and not message:
        parts.append(f"signed in with {_as_str(details['with'])}")
    if details.get("failed_login") and not message:
        parts.append(f"failed {_as_str(details['failed_login'])} login")
    if details.get("impersonated_by"):
        parts.append(f"(impersonated by {_as_str(details['impersonated_by'])})")
    return "; ".join(parts)


def normalize_event(raw: Mapping[str, Any]) -> AuditEvent | None:
    """Flatten one REST event; None when it has no usable id."""
    event_id = _as_int(raw.get("id"))
    if event_id is None:
        return None
    details = _details(raw)

    def pick(key: str) -> object:
        top = raw.get(key)
        return top if top not in (None, "") else details.get(key)

    name = event_name_of(raw)
    return AuditEvent(
        id=event_id,
        created_at=_as_str(raw.get("created_at")),
        author_id=_as_int(raw.get("author_id")),
        author_name=_as_str(pick("author_name")),
        entity_type=_as_str(raw.get("entity_type")),
        entity_id=_as_int(raw.get("entity_id")),
        entity_path=_as_str(pick("entity_path")),
        event_name=name,
        category=categorize(raw),
        target_type=_as_str(pick("target_type")),
        target_id=_as_str(pick("target_id")),
        target_details=_as_str(pick("target_details")),
        ip_address=_as_str(pick("ip_address")),
        summary=summarize(details),
        categories=tuple(sorted(categories_of(raw), key=_category_rank)),
        details=dict(details),
    )


def _category_rank(category: str) -> int:
    return CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)


# ---------------------------------------------------------------------------------------------
# Paging (python-gitlab or a synchronous httpx client)
# ---------------------------------------------------------------------------------------------

DEFAULT_TIMEOUT = 30.0
MAX_PAGES_PER_QUERY = 10_000  # a loop guard against a server that keeps sending `next`


class HttpStatusError(GitlabHttpError):
    """A non-2xx answer from a synchronous httpx-style client, shaped like python-gitlab's own
    error so ``describe_error`` explains both the same way."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status, message.encode("utf-8", "replace"))


class _HttpxLike(Protocol):
    def get(self, url: str, *, params: Any = ..., timeout: Any = ...) -> Any: ...


def _status_of(exc: BaseException) -> int | None:
    code = getattr(exc, "response_code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_gitlab(client: object) -> bool:
    return hasattr(client, "http_request") and hasattr(client, "api_url")


def iter_pages(
    client: Any,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    max_pages: int = MAX_PAGES_PER_QUERY,
) -> Iterator[list[Any]]:
    """Yield the JSON list of each page of ``path`` by following ``Link: rel="next"``.

    Works for keyset and offset pagination alike (both send ``next`` links). ``client`` is a
    ``gitlab.Gitlab`` (``http_request``) or a synchronous httpx-style client whose ``get`` takes a
    path relative to ``/api/v4``. Errors propagate (python-gitlab's exceptions, or
    ``HttpStatusError``); callers turn them into problems.
    """
    query: dict[str, Any] | None = dict(params or {})
    url: str | None = path
    pages = 0
    while url is not None and pages < max_pages:
        if _is_gitlab(client):
            effective = timeout or getattr(client, "timeout", None) or DEFAULT_TIMEOUT
            response = client.http_request(
                "get", _rebase(client, url), query_data=query, timeout=effective,
                max_retries=3, retry_transient_errors=False,
            )
        else:
            response = client.get(url, params=query, timeout=timeout or DEFAULT_TIMEOUT)
            status = int(getattr(response, "status_code", 200))
            if status >= 400:
                raise HttpStatusError(status, _error_text(response))
        body = response.json()
        if isinstance(body, dict):  # a single object where a list was expected
            body = [body]
        yield list(body) if isinstance(body, list) else []
        pages += 1
        url = _next_link(response)
        query = None  # the next link already carries every parameter


def _error_text(response: Any) -> str:
    try:
        body = response.json()
    except Exception:
        return str(getattr(response, "text", ""))[:200]
    if isinstance(body, Mapping):
        return _as_str(body.get("message") or body.get("error") or body)[:200]
    return _as_str(body)[:200]


def _next_link(response: Any) -> str | None:
    links = getattr(response, "links", None)
    if isinstance(links, Mapping):
        nxt = links.get("next")
        if isinstance(nxt, Mapping):
            url = nxt.get("url")
            if isinstance(url, str) and url:
                return url
    return None


def _rebase(client: Any, url: str) -> str:
    """Keep ``next`` links on the configured base URL (a server behind a proxy may announce
    another host), the way python-gitlab's ``keep_base_url`` does for its own lists."""
    if not url.startswith(("http://", "https://")):
        return url
    base = str(getattr(client, "api_url", "") or "")
    if not base:
        return url
    parts, base_parts = urlsplit(url), urlsplit(base)
    marker = "/api/v4"
    idx = parts.path.find(marker)
    if idx < 0 or (parts.scheme, parts.netloc) == (base_parts.scheme, base_parts.netloc):
        return url
    tail = parts.path[idx + len(marker):]
    return base.rstrip("/") + tail + (f"?{parts.query}" if parts.query else "")


# ---------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------

Scope = tuple[Literal["instance", "group", "project"], int | None]

FREE_TIER_TITLE = "Audit events need GitLab Premium or Ultimate"
FREE_TIER_DETAIL = (
    "Audit events need GitLab Premium or Ultimate; use contribution events and sign-in fields."
)


@dataclass(frozen=True, slots=True)
class AuditProgress:
    """Reported after every page: which slice, how many pages and events so far."""

    slice_index: int
    slice_count: int
    pages: int
    events: int


@dataclass(slots=True)
class AuditFetch:
    events: list[AuditEvent]
    problem: Problem | None
    slices: list[tuple[datetime, datetime]]
    complete: bool = True  # False when cancelled or stopped by an error part-way
    coverage_gap: bool = False  # True on Free tier / no audit API (not an error)


def _scope_path(scope: Scope) -> str:
    kind, ident = scope
    if kind == "instance":
        return "/audit_events"
    if ident is None:
        raise ValueError(f"{kind} audit events need an id")
    return f"/{kind}s/{ident}/audit_events"


def free_tier_problem(status: int | None = None) -> Problem:
    """The coverage note for "no audit API here": Free tier (404), or no licence/rights (403)."""
    detail = FREE_TIER_DETAIL
    if status == 403:
        detail += (
            " GitLab answered 403: on Premium or Ultimate this means the token is not an "
            "administrator (instance audit events are admin-only)."
        )
    return Problem(
        title=FREE_TIER_TITLE,
        detail=detail,
        next_step=(
            "Review contribution events and the users' sign-in fields in the dossier, "
            "and the credentials inventory."
        ),
        kind="coverage",
        status=status,
    )


def fetch_audit_events(
    gl_or_client: Any,
    scope: Scope = ("instance", None),
    window: tuple[datetime | str, datetime | str] | None = None,
    *,
    entity_type: str | None = None,
    entity_id: int | None = None,
    on_progress: Callable[[AuditProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    per_page: int = 100,
    max_days: int = MAX_QUERY_DAYS,
) -> AuditFetch:
    """Fetch every audit event of ``scope`` in ``window`` (newest first), slice by slice.

    Keyset pagination (``order_by=id&sort=desc``) per ≤30-day slice; events are deduplicated by
    id. A 403/404 on the first request means the instance (or token) has no audit API: the result
    carries the Free-tier coverage problem and no events. Any other failure keeps what was
    fetched so far and reports the problem.
    """
    if window is None:
        end = datetime.now(UTC)
        window = (end - timedelta(days=max_days), end)
    slices = window_slices(window[0], window[1], max_days)
    path = _scope_path(scope)
    seen: dict[int, AuditEvent] = {}
    pages = 0
    is_cancelled = cancelled or (lambda: False)
    for index, (lo, hi) in enumerate(slices):
        params: dict[str, Any] = {
            "created_after": iso(lo),
            "created_before": iso(hi),
            "pagination": "keyset",
            "order_by": "id",
            "sort": "desc",
            "per_page": per_page,
        }
        if entity_type and scope[0] == "instance":
            params["entity_type"] = entity_type
            if entity_id is not None:
                params["entity_id"] = entity_id
        try:
            for page in iter_pages(gl_or_client, path, params):
                if is_cancelled():
                    return AuditFetch(_ordered(seen), None, slices, complete=False)
                pages += 1
                for raw in page:
                    if isinstance(raw, Mapping):
                        event = normalize_event(raw)
                        if event is not None:
                            seen.setdefault(event.id, event)
                if on_progress is not None:
                    on_progress(AuditProgress(index + 1, len(slices), pages, len(seen)))
        except Exception as exc:
            status = _status_of(exc)
            if status in (403, 404) and not seen and pages == 0:
                return AuditFetch([], free_tier_problem(status), slices, coverage_gap=True)
            return AuditFetch(_ordered(seen), describe_error(exc), slices, complete=False)
        if is_cancelled():
            return AuditFetch(_ordered(seen), None, slices, complete=False)
    return AuditFetch(_ordered(seen), None, slices)


def _ordered(seen: Mapping[int, AuditEvent]) -> list[AuditEvent]:
    return sorted(seen.values(), key=lambda e: (e.created_at, e.id), reverse=True)


# ---------------------------------------------------------------------------------------------
# Filtering
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Client-side filter. Empty fields match everything.

    ``user_id`` matches events by the user (author) or about the user (target, or a User entity),
    because a token event's entity is its author and the victim is only in the target.
    """

    search: str = ""
    categories: frozenset[str] = frozenset()
    author_id: int | None = None
    entity: tuple[str, int] | None = None
    user_id: int | None = None
    since: str | None = None
    until: str | None = None
    username: str | None = None  # with user_id: also match unauthenticated attempts on it

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "categories": sorted(self.categories),
            "author_id": self.author_id,
            "entity": list(self.entity) if self.entity else None,
            "user_id": self.user_id,
            "since": self.since,
            "until": self.until,
            "username": self.username,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditFilter:
        entity = data.get("entity")
        return cls(
            search=str(data.get("search") or ""),
            categories=frozenset(str(c) for c in data.get("categories") or ()),
            author_id=_as_int(data.get("author_id")),
            entity=(str(entity[0]), int(entity[1])) if entity else None,
            user_id=_as_int(data.get("user_id")),
            since=data.get("since") or None,
            until=data.get("until") or None,
            username=str(data["username"]) if data.get("username") else None,
        )


def involves_user(event: AuditEvent, user_id: int, username: str | None = None) -> bool:
    """True when the user is the author, the target, or the User entity of the event.

    With ``username``, failed sign-ins by an unauthenticated author (whose ``author_name`` is the
    login that was typed) against that username count too: they are attacks on the account.
    """
    if (
        event.author_id == user_id
        or event.target_user_id == user_id
        or (event.entity_type == "User" and event.entity_id == user_id)
    ):
        return True
    if username and (event.author_id is None or event.author_id < 0):
        typed = event.author_name.strip().casefold()
        return typed in (username.casefold(), "@" + username.casefold())
    return False


def _haystack(event: AuditEvent) -> str:
    return " ".join(
        (
            event.event_name, event.category, event.author_name, event.entity_path,
            event.target_type, event.target_details, event.target_id, event.ip_address,
            event.summary, event.entity_type, str(event.id), str(event.author_id or ""),
        )
    ).casefold()


def matches(event: AuditEvent, f: AuditFilter) -> bool:
    if f.categories and not (set(event.categories or (event.category,)) & f.categories):
        return False
    if f.author_id is not None and event.author_id != f.author_id:
        return False
    if f.entity is not None and (event.entity_type, event.entity_id) != f.entity:
        return False
    if f.user_id is not None and not involves_user(event, f.user_id, f.username):
        return False
    when = parse_time(event.created_at)
    since, until = parse_time(f.since), parse_time(f.until)
    if since is not None and (when is None or when < since):
        return False
    if until is not None and (when is None or when > until):
        return False
    if f.search:
        hay = _haystack(event)
        if not all(term in hay for term in f.search.casefold().split()):
            return False
    return True


def filter_events(events: Iterable[AuditEvent], f: AuditFilter) -> list[AuditEvent]:
    """The events that match ``f``, in their original order."""
    return [e for e in events if matches(e, f)]


def category_counts(events: Sequence[AuditEvent]) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORY_ORDER, 0)
    for e in events:
        for c in e.categories or (e.category,):
            counts[c] = counts.get(c, 0) + 1
    return counts
