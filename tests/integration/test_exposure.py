"""Everything the taken-over account could see, each row with the action that rotates it."""

from __future__ import annotations

from typing import Any

from actions.exposure import could_see
from console.config import ConnectionConfig, build_gitlab
from console.secret import Secret


def test_everything_mchen_could_see(drill: Any) -> None:
    gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN))
    rows = could_see(gl, 7)
    found = {(r.kind, r.where, r.name) for r in rows}
    # protected variables only (never a value), in the groups/projects he maintained or owned
    assert {
        ("variable", "group 2", "NPM_TOKEN"),
        ("variable", "group 3", "AWS_ACCESS_KEY_ID"),
        ("variable", "project 3", "PIP_INDEX_URL"),
        ("variable", "instance", "ARTIFACTORY_TOKEN"),
    } <= found
    assert ("variable", "project 3", "TF_STATE_BUCKET") not in found  # not protected
    assert ("variable", "project 6", "STRIPE_SECRET_KEY") not in found  # not his project
    assert {
        ("runner", "group 3", "infra-runner"),
        ("runner", "project 3", "build-07"),
        ("runner", "instance", "shared-runner-01"),
    } <= found
    assert ("runner", "project 6", "storefront-runner") not in found
    assert {
        ("deploy_token", "group 3", "registry-pull"),
        ("deploy_token", "project 5", "argo-cd"),
        ("deploy_token", "project 3", "tf-mirror"),
        ("access_token", "group 3", "renovate"),
        ("access_token", "project 5", "argo-deployer"),
    } <= found
    assert sum(1 for r in rows if r.kind == "hook" and r.where == "instance") == 3
    assert all(r.needs_input for r in rows if r.kind == "variable")
    names = {r.kind: r.action.name for r in rows}
    assert names == {
        "variable": "set_variable_value",
        "runner": "reset_runner_token",
        "hook": "set_hook_secret",
        "deploy_token": "revoke_deploy_token",
        "access_token": "rotate_token",
    }
    assert len({(r.kind, r.target.id, r.target.label) for r in rows}) == len(rows)


def test_a_developer_could_see_nothing_to_rotate(drill: Any) -> None:
    gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN))
    # jlee: Developer of acme/web, Maintainer of storefront only
    rows = could_see(gl, 10)
    assert {r.where for r in rows} == {"project 6"}
    assert {(r.kind, r.name) for r in rows} >= {
        ("variable", "STRIPE_SECRET_KEY"),
        ("runner", "storefront-runner"),
    }
