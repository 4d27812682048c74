"""Everything the user could see: the credentials to rotate after an account was taken over.

GitLab's guidance is to reset *every credential the user could see*: in each group and project
where they were Maintainer or Owner (directly, or through a parent group), the protected CI/CD
variables, the runners, the webhooks, the deploy tokens and the group/project access tokens; for
an administrator also the instance variables, instance runners and system hooks. Each row comes
with the action that rotates or revokes it, ready for one plan (a variable needs a value typed by
the responder). Values are never read into a row: only names, ids and where they live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import gitlab

from actions.contain_sources import pages
from actions.hook_actions import SetHookSecret
from actions.key_actions import RevokeDeployToken
from actions.model import JSON, Action, Target
from actions.resource import read_or_gone
from actions.runner_actions import ResetRunnerToken
from actions.token_actions import RotateToken
from actions.transport import HttpFailure
from actions.variable_actions import SetVariableValue

MAINTAINER = 40


@dataclass(frozen=True)
class Exposed:
    """One credential the user could see. ``where`` is ``group 3``, ``project 5`` or
    ``instance``; ``name`` is raw server text (sanitise before display)."""

    kind: str  # variable | runner | hook | deploy_token | access_token
    where: str
    name: str
    action: Action
    target: Target
    needs_input: str = ""


def _namespaces(gl: gitlab.Gitlab, user_id: int) -> tuple[list[int], list[int]]:
    """(group ids, project ids) where the user is Maintainer or Owner, subgroups and projects
    of such groups included (their access is inherited)."""
    groups: list[int] = []
    projects: list[int] = []
    for m in pages(gl, f"/users/{user_id}/memberships"):
        level, sid = m.get("access_level"), m.get("source_id")
        if not isinstance(sid, int) or not isinstance(level, int) or level < MAINTAINER:
            continue
        (groups if m.get("source_type") == "Namespace" else projects).append(sid)
    queue, seen = list(groups), set(groups)
    while queue:
        gid = queue.pop(0)
        for sub in pages(gl, f"/groups/{gid}/subgroups"):
            if isinstance(sub.get("id"), int) and sub["id"] not in seen:
                seen.add(sub["id"])
                queue.append(sub["id"])
        projects += [
            p["id"] for p in pages(gl, f"/groups/{gid}/projects") if isinstance(p.get("id"), int)
        ]
    return sorted(seen), sorted(set(projects))


def _variables(gl: gitlab.Gitlab, scope: str, owner: int, path: str) -> list[Exposed]:
    out = []
    for v in pages(gl, path):
        if not v.get("protected"):
            continue
        key, env = str(v.get("key")), str(v.get("environment_scope") or "*")
        action = SetVariableValue(scope=scope, owner_id=owner, key=key, environment_scope=env)
        out.append(
            Exposed(
                "variable",
                f"{scope} {owner}" if owner else scope,
                key,
                action,
                Target("variable", owner, key),
                needs_input=f"a new value for {key}",
            )
        )
    return out


def _owned(gl: gitlab.Gitlab, source: str, sid: int) -> list[Exposed]:
    where = f"{source} {sid}"
    out = _variables(gl, source, sid, f"/{source}s/{sid}/variables")
    for r in pages(gl, f"/{source}s/{sid}/runners", type=f"{source}_type"):
        out.append(
            Exposed(
                "runner",
                where,
                str(r.get("description") or ""),
                ResetRunnerToken(),
                Target("runner", int(r["id"]), str(r.get("description") or "")),
            )
        )
    for h in pages(gl, f"/{source}s/{sid}/hooks"):
        out.append(
            Exposed(
                "hook",
                where,
                str(h.get("url") or ""),
                SetHookSecret(scope=source, owner_id=sid),
                Target("hook", int(h["id"]), str(h.get("url") or "")),
            )
        )
    for d in pages(gl, f"/{source}s/{sid}/deploy_tokens"):
        if d.get("revoked") or d.get("expired"):
            continue
        out.append(
            Exposed(
                "deploy_token",
                where,
                str(d.get("name") or ""),
                RevokeDeployToken(owner_type=source, owner_id=sid),
                Target("deploy_token", int(d["id"]), str(d.get("name") or "")),
            )
        )
    for t in pages(gl, f"/{source}s/{sid}/access_tokens", state="active"):
        out.append(
            Exposed(
                "access_token",
                where,
                str(t.get("name") or ""),
                RotateToken(kind=source, owner_id=sid),
                Target("token", int(t["id"]), str(t.get("name") or "")),
            )
        )
    return out


def _guarded(gl: gitlab.Gitlab, source: str, sid: int) -> list[Exposed]:
    """A namespace the token cannot read (403/404) contributes nothing rather than failing."""
    try:
        return _owned(gl, source, sid)
    except HttpFailure as exc:
        if exc.status in (403, 404):
            return []
        raise


def could_see(gl: gitlab.Gitlab, user_id: int) -> list[Exposed]:
    """Every credential ``user_id`` could read (blocking: call from a worker)."""
    user: Mapping[str, JSON] = read_or_gone(gl, f"/users/{user_id}") or {}
    groups, projects = _namespaces(gl, user_id)
    out: list[Exposed] = []
    if user.get("is_admin"):
        out += _variables(gl, "instance", 0, "/admin/ci/variables")
        for r in pages(gl, "/runners/all", type="instance_type"):
            out.append(
                Exposed(
                    "runner",
                    "instance",
                    str(r.get("description") or ""),
                    ResetRunnerToken(),
                    Target("runner", int(r["id"]), str(r.get("description") or "")),
                )
            )
        for h in pages(gl, "/hooks"):
            out.append(
                Exposed(
                    "hook",
                    "instance",
                    str(h.get("url") or ""),
                    SetHookSecret(scope="system"),
                    Target("hook", int(h["id"]), str(h.get("url") or "")),
                )
            )
    for gid in groups:
        out += _guarded(gl, "group", gid)
    for pid in projects:
        out += _guarded(gl, "project", pid)
    seen: set[tuple[str, str, int, str]] = set()
    unique = []
    for row in out:  # a project runner enabled on two projects is one runner
        variable = row.kind == "variable"  # variables are told apart by owner and key
        key = (
            row.kind,
            row.where if variable else "",
            row.target.id,
            row.target.label if variable else "",
        )
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique
