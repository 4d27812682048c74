"""JSON shapes, following GitLab's Grape entities (``lib/api/entities``), by API area.

Route modules call them as ``views.<entity>(...)``; each area's entities live in its module
(``users``, ``namespaces``, ``tokens``, ``ci``, ``audit``) and are re-exported here.
"""

from console.drill.views.audit import audit_event
from console.drill.views.ci import (
    deploy_key_admin,
    deploy_key_project,
    hook,
    runner,
    runner_detail,
    runner_manager,
    variable,
)
from console.drill.views.namespaces import (
    group,
    member,
    project,
    project_identity,
)
from console.drill.views.tokens import (
    deploy_token,
    oauth_app,
    pat,
    resource_token,
)
from console.drill.views.users import (
    avatar_url,
    contrib_event,
    email,
    gpg_key,
    membership,
    service_account,
    ssh_key,
    user_basic,
    user_details_with_admin,
    user_profile,
    user_public,
    user_with_admin,
)

__all__ = [
    "audit_event",
    "avatar_url",
    "contrib_event",
    "deploy_key_admin",
    "deploy_key_project",
    "deploy_token",
    "email",
    "gpg_key",
    "group",
    "hook",
    "member",
    "membership",
    "oauth_app",
    "pat",
    "project",
    "project_identity",
    "resource_token",
    "runner",
    "runner_detail",
    "runner_manager",
    "service_account",
    "ssh_key",
    "user_basic",
    "user_details_with_admin",
    "user_profile",
    "user_public",
    "user_with_admin",
    "variable",
]
