"""Lookups with GitLab's visibility rules (invisible → 404, too weak a role → 403) and the
audit entity of a scoped object."""

from __future__ import annotations

from console.drill.model import Group, Project, User
from console.drill.state import find_group, find_project
from console.drill.web import Ctx, forbidden, not_found

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50


def get_user(ctx: Ctx, key: str = "id") -> User:
    user = ctx.state.find_user(ctx.match.get(key, ""))
    if user is None:
        raise not_found("User")
    return user


def group_for(ctx: Ctx, need: int = 0, key: str = "id") -> Group:
    group = find_group(ctx.state, ctx.match.get(key, ""))
    if group is None:
        raise not_found("Group")
    if ctx.is_admin:
        return group
    level = ctx.state.group_access(group.id, ctx.caller.id)
    if level == 0 and group.visibility != "public":
        raise not_found("Group")
    if level < need:
        raise forbidden()
    return group


def project_for(ctx: Ctx, need: int = 0, key: str = "id") -> Project:
    project = find_project(ctx.state, ctx.match.get(key, ""))
    if project is None:
        raise not_found("Project")
    if ctx.is_admin:
        return project
    level = ctx.state.project_access(project.id, ctx.caller.id)
    if level == 0 and project.visibility != "public":
        raise not_found("Project")
    if level < need:
        raise forbidden()
    return project


def scope_entity(scope: str, owner: int) -> tuple[str, int]:
    """The audit entity of something owned at ``scope`` (instance, group or project)."""
    if scope == "project":
        return "Project", owner
    if scope == "group":
        return "Group", owner
    return "Gitlab::Audit::InstanceScope", 1
