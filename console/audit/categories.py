"""Audit event categories: the rules over the catalogue of GitLab event names (``event_names.py``)
and the legacy-message rules.

Every event lands in exactly one primary category (OTHER keeps unknown names visible) and may
belong to secondary ones; filters match either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from console.audit.event_names import AUDIT_CATEGORIES

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
