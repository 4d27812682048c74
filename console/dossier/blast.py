"""The blast radius: credentials an attacker holding the account could read or replace.

For every group and project where the user is Maintainer or Owner (directly, or inherited from a
group down to its subgroups and projects): CI/CD variables (metadata only), runners, webhooks,
deploy tokens and group/project access tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from console.api.pages import ReadCancelled
from console.dossier.model import (
    BLAST_MAX_NAMESPACES,
    BLAST_MIN_ACCESS,
    Section,
    access_level,
    hook_meta,
    plain,
    variable_meta,
)
from console.dossier.reads import Reader
from console.errors import describe_error

__all__ = ["blast_radius", "descendants", "namespace_credentials"]


def descendants(reader: Reader, group_id: int) -> tuple[list[tuple[str, int, str]], str | None]:
    """Subgroups and projects under ``group_id`` (breadth first, capped)."""
    found: list[tuple[str, int, str]] = []
    queue = [group_id]
    seen = {group_id}
    error: str | None = None
    while queue and len(found) < BLAST_MAX_NAMESPACES:
        gid = queue.pop(0)
        try:
            for data in reader.pages(f"/groups/{gid}/projects", {"with_shared": "false"}):
                name = data.get("path_with_namespace") or data.get("name")
                found.append(("Project", int(data["id"]), str(name)))
            for data in reader.pages(f"/groups/{gid}/subgroups"):
                sid = int(data["id"])
                if sid not in seen:
                    seen.add(sid)
                    queue.append(sid)
                    found.append(("Namespace", sid, str(data.get("full_path") or sid)))
        except ReadCancelled:
            raise
        except Exception as exc:  # keep what was found; the note names the failure
            error = describe_error(exc).one_line()
    return found, error


def namespace_credentials(reader: Reader, membership: Mapping[str, Any]) -> dict[str, Any]:
    kind = "project" if membership.get("source_type") == "Project" else "group"
    sid = int(membership["source_id"])
    entry: dict[str, Any] = {
        "source_type": kind,
        "source_id": sid,
        "source_name": membership.get("source_name"),
        "access_level": membership.get("access_level"),
        "inherited_from": membership.get("inherited_from"),
        "errors": {},
    }
    root = f"/{kind}s/{sid}"
    lists: dict[str, Callable[[Any], dict[str, Any]]] = {
        "variables": variable_meta,
        "runners": plain,
        "hooks": hook_meta,
        "deploy_tokens": plain,
        "access_tokens": plain,
    }
    for name, convert in lists.items():
        try:
            entry[name] = [convert(o) for o in reader.pages(f"{root}/{name}")]
        except Exception as exc:
            entry[name] = None
            entry["errors"][name] = describe_error(exc).one_line()
    variables = entry.get("variables") or []
    entry["protected_variables"] = sum(1 for v in variables if v.get("protected"))
    return entry


def _summarise_blast(entries: list[dict[str, Any]]) -> str:
    def total(key: str) -> int:
        return sum(len(e.get(key) or []) for e in entries)

    protected = sum(int(e.get("protected_variables") or 0) for e in entries)
    return (
        f"{len(entries)} namespace(s) with Maintainer/Owner access (direct or inherited): "
        f"{total('variables')} CI/CD variables ({protected} protected), {total('runners')} "
        f"runners, {total('hooks')} hooks, {total('deploy_tokens')} deploy tokens, "
        f"{total('access_tokens')} access tokens to review or rotate. Secret values (variable "
        "values, tokens, hook secrets) are dropped as they arrive and never kept."
    )


def blast_radius(pool: ThreadPoolExecutor, fetch: Reader, memberships: Section) -> Section:
    """Credentials reachable with Maintainer/Owner rights: direct memberships ≥ 40, plus the
    subgroups and projects of such groups (GitLab membership is inherited downwards)."""
    if memberships.problem is not None or not isinstance(memberships.items, list):
        return Section(
            "blast_radius",
            None,
            memberships.problem,
            "needs the user's memberships (administrator only)",
        )
    targets: dict[tuple[str, int], dict[str, Any]] = {}
    strong = [
        m for m in memberships.items if access_level(m.get("access_level")) >= BLAST_MIN_ACCESS
    ]
    for m in strong:
        kind = "Project" if m.get("source_type") == "Project" else "Namespace"
        targets[(kind, int(m["source_id"]))] = {**m, "source_type": kind, "inherited_from": None}
    roots = [m for m in strong if m.get("source_type") != "Project"]
    walks = [pool.submit(descendants, fetch, int(m["source_id"])) for m in roots]
    walk_errors: list[str] = []
    for root, walk in zip(roots, walks, strict=True):
        try:
            found, error = walk.result()
        except Exception as exc:
            found, error = [], describe_error(exc).one_line()
        if error:
            walk_errors.append(error)
        for kind, sid, name in found:
            key = (kind, sid)
            level = access_level(root.get("access_level"))
            if key in targets and access_level(targets[key].get("access_level")) >= level:
                continue
            targets[key] = {
                "source_type": kind,
                "source_id": sid,
                "source_name": name,
                "access_level": level,
                "inherited_from": root.get("source_name"),
            }
    chosen = list(targets.values())[:BLAST_MAX_NAMESPACES]
    futures: list[Future[dict[str, Any]]] = [
        pool.submit(namespace_credentials, fetch, m) for m in chosen
    ]
    entries: list[dict[str, Any]] = []
    for membership, future in zip(chosen, futures, strict=True):
        try:
            entries.append(future.result())
        except Exception as exc:
            entries.append(
                {
                    "source_type": membership.get("source_type"),
                    "source_id": membership.get("source_id"),
                    "source_name": membership.get("source_name"),
                    "access_level": membership.get("access_level"),
                    "inherited_from": membership.get("inherited_from"),
                    "errors": {"all": describe_error(exc).one_line()},
                }
            )
    note = _summarise_blast(entries)
    if len(targets) > len(chosen):
        note += (
            f" Only the first {len(chosen)} of {len(targets)} namespaces were inspected; "
            "review the rest in GitLab."
        )
    if walk_errors:
        note += f" Some subgroups/projects could not be listed: {walk_errors[0]}"
    return Section("blast_radius", entries, None, note)
