"""The drill's responses validate against GitLab's own JSON Schemas (``public_api/v4``).

The schemas live beside the repository in ``../shared/gitlab-schemas``; ``$ref`` between files
(``basic.json``, ``./project_hook.json``, ``project/identity.json``) resolve through a
``referencing`` registry keyed by each file's URI.

Two of GitLab's fixtures are older than the API they describe, so they are not used:
``runner.json`` forbids fields ``/runners/all`` returns today (``paused``, ``runner_type``…),
and ``user/public.json`` has a broken type name (``"string "``). ``user/admin.json`` still
enumerates only the ``active``/``blocked`` states, so those tests validate users in those
states.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "gitlab-schemas" / "public_api" / "v4"

pytestmark = pytest.mark.skipif(not SCHEMAS.is_dir(), reason="GitLab schemas not available")


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    resources: list[tuple[str, Resource[Any]]] = []
    for path in SCHEMAS.rglob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.as_uri(), DRAFT202012.create_resource(contents)))
    return Registry().with_resources(resources)  # type: ignore[no-any-return]


def validate(instance: Any, schema_name: str) -> None:
    schema = {"$ref": (SCHEMAS / schema_name).as_uri()}
    validator = jsonschema.Draft202012Validator(
        schema, registry=_registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(instance)


def _get(server: Any, path: str, token: str | None = None, **params: Any) -> Any:
    r = requests.get(
        f"{server.url}/api/v4{path}",
        params=params,
        timeout=10,
        headers={"PRIVATE-TOKEN": token or server.ADMIN_TOKEN},
    )
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def _active_or_blocked(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [u for u in users if u["state"] in ("active", "blocked")]
    assert rows
    return rows


def test_admin_user_list(drill: Any) -> None:
    users = _get(drill, "/users", per_page=100)
    validate(_active_or_blocked(users), "user/admins.json")
    seeded = _get(drill, "/users", per_page=100, sort="asc")
    validate(_active_or_blocked(seeded), "user/admins.json")


def test_admin_single_user(drill: Any) -> None:
    for uid in (1, 7, 35, 1999):
        user = _get(drill, f"/users/{uid}")
        if user["state"] in ("active", "blocked"):
            validate(user, "user/admin.json")


def test_non_admin_user_list_is_user_basic(drill: Any) -> None:
    users = _get(drill, "/users", token=drill.USER_TOKEN, per_page=100)
    validate(users, "user/basics.json")
    validate(users[0], "user/basic.json")
    validate(_get(drill, "/users/7")["created_by"], "user/basic.json")


def test_memberships(drill: Any) -> None:
    rows = _get(drill, "/users/7/memberships")
    assert rows
    validate(rows, "memberships.json")


def test_members(drill: Any) -> None:
    rows = _get(drill, "/groups/3/members")
    assert rows
    validate(rows, "members.json")
    validate(_get(drill, "/projects/6/members/all"), "members.json")


def test_deploy_tokens(drill: Any) -> None:
    rows = _get(drill, "/deploy_tokens")
    assert rows
    validate(rows, "deploy_tokens.json")
    validate(_get(drill, "/projects/5/deploy_tokens/1"), "deploy_token.json")


def test_deploy_keys(drill: Any) -> None:
    rows = _get(drill, "/deploy_keys")
    assert rows and any(r["projects_with_write_access"] for r in rows)
    validate(rows, "deploy_keys.json")


def test_resource_access_tokens(drill: Any) -> None:
    group = _get(drill, "/groups/3/access_tokens")
    project = _get(drill, "/projects/5/access_tokens")
    assert group and project
    validate(group, "resource_access_tokens.json")
    validate(project[0], "resource_access_token.json")


def test_system_and_project_hooks(drill: Any) -> None:
    system = _get(drill, "/hooks")
    project = _get(drill, "/projects/3/hooks")
    assert system and project
    validate(system, "system_hooks.json")
    validate(project, "project_hooks.json")


def test_metadata_and_version(drill: Any) -> None:
    validate(_get(drill, "/metadata"), "metadata.json")
    validate(_get(drill, "/version"), "metadata.json")


def test_service_accounts(drill: Any) -> None:
    rows = _get(drill, "/service_accounts")
    assert len(rows) == 3
    validate(rows, "user/service_accounts.json")


def test_runner_managers_and_project_identity(drill: Any) -> None:
    managers = _get(drill, "/runners/7/managers")
    assert managers
    for manager in managers:
        validate(manager, "runner_manager.json")
    for project in _get(drill, "/runners/7")["projects"]:
        validate(project, "project/identity.json")


def test_validation_fails_when_a_required_field_is_missing(drill: Any) -> None:
    user = _get(drill, "/users/1")
    validate(user, "user/admin.json")
    broken = copy.deepcopy(user)
    del broken["email"]
    with pytest.raises(jsonschema.ValidationError, match="'email' is a required property"):
        validate(broken, "user/admin.json")
    tokens = _get(drill, "/groups/3/access_tokens")
    del tokens[0]["resource_id"]
    with pytest.raises(jsonschema.ValidationError):
        validate(tokens, "resource_access_tokens.json")


def test_schema_would_catch_a_leaked_hook_secret(drill: Any) -> None:
    hooks = _get(drill, "/projects/3/hooks")
    assert all("token" not in h for h in hooks)
    leaked = copy.deepcopy(hooks)
    leaked[0]["token"] = "s3cret"  # additionalProperties: false in GitLab's schema
    with pytest.raises(jsonschema.ValidationError):
        validate(leaked, "project_hooks.json")
