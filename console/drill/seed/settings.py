"""Instance application settings as ``GET /application/settings`` returns them."""

from __future__ import annotations

from datetime import timedelta

from console.drill.state import DrillState
from console.drill.timefmt import iso


def seed_settings(state: DrillState) -> None:
    state.settings.update(
        {
            "id": 1,
            "default_projects_limit": 100000,
            "signup_enabled": True,
            "require_admin_approval_after_user_signup": False,
            "send_user_confirmation_email": False,
            "password_authentication_enabled_for_web": True,
            "password_authentication_enabled_for_git": True,
            "require_two_factor_authentication": False,
            "require_admin_two_factor_authentication": False,
            "two_factor_grace_period": 48,
            "admin_mode": False,
            "user_default_external": False,
            "allow_local_requests_from_web_hooks_and_services": False,
            "allow_local_requests_from_system_hooks": True,
            "deactivate_dormant_users": False,
            "deactivate_dormant_users_period": 90,
            "max_personal_access_token_lifetime": None,
            "require_personal_access_token_expiry": True,
            "allow_runner_registration_token": False,
            "restricted_visibility_levels": [],
            "default_project_visibility": "private",
            "default_group_visibility": "private",
            "domain_allowlist": [],
            "domain_denylist_enabled": False,
            "throttle_authenticated_api_enabled": False,
            "throttle_authenticated_api_requests_per_period": 7200,
            "throttle_authenticated_api_period_in_seconds": 3600,
            "audit_events_rate_limit": 200,
            "session_expire_delay": 10080,
            "created_at": state.users[1].created_at,
            "updated_at": iso(state.now - timedelta(days=40)),
        }
    )
