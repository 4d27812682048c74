"""The credentials inventory, rebuilt from REST (gitlab-api.md §4.13).

Self-managed GitLab has no instance-level credentials-inventory endpoint, so this gathers the
pieces: every personal access token (impersonation, bot and service-account tokens included),
deploy keys, deploy tokens, runners, instance CI/CD variables, system hooks, and the variables and
hooks of every group and project. Each source fails on its own: a 403 on one list becomes a
problem note, never an empty inventory, and the result names the sources that failed.

CI/CD variable *values* are dropped the moment a response is parsed; no ``Credential`` holds one.
Synchronous (python-gitlab or a sync httpx-style client): the caller runs it in a thread worker.
"""

from __future__ import annotations

from console.inventory.fetch import (
    BASE_SOURCES,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_NAMESPACES,
    NAMESPACE_SOURCES,
    fetch_inventory,
)
from console.inventory.model import (
    KIND_LABELS,
    KIND_ORDER,
    ROTATE_HINTS,
    URGENT_FLAGS,
    URGENT_PREFIXES,
    Credential,
    Inventory,
    InventoryProgress,
    SourceProblem,
    is_urgent,
)
from console.inventory.rows import (
    ADMIN_SCOPES,
    UNUSED_DAYS,
    credential_flags,
    deploy_key_row,
    deploy_token_row,
    hook_row,
    runner_row,
    token_row,
    variable_row,
)

__all__ = [
    "ADMIN_SCOPES",
    "BASE_SOURCES",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_NAMESPACES",
    "KIND_LABELS",
    "KIND_ORDER",
    "NAMESPACE_SOURCES",
    "ROTATE_HINTS",
    "UNUSED_DAYS",
    "URGENT_FLAGS",
    "URGENT_PREFIXES",
    "Credential",
    "Inventory",
    "InventoryProgress",
    "SourceProblem",
    "credential_flags",
    "deploy_key_row",
    "deploy_token_row",
    "fetch_inventory",
    "hook_row",
    "is_urgent",
    "runner_row",
    "token_row",
    "variable_row",
]
