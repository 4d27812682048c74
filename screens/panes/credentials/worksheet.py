"""The rotation worksheet: selected credentials of any kind → one run of plans, one per action.

Each kind goes through its own action (``actions.plan``): tokens through ``token_plans`` (each
token kind its own endpoint), SSH keys deleted, GPG keys revoked or deleted, runner tokens reset,
hook secrets replaced, deploy tokens revoked under their owner, variables given a value the
responder types (masked; the value lives only in the ``Secret`` of the action). Rows no action can
take (an instance deploy token GitLab does not place, a deploy key without its project) are
listed as left out, with why. Progress per item is a small JSON document kept in the incident's
cache, so a restarted console shows ``rotated 12/31`` and each item's outcome again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from actions.hook_actions import SetHookSecret
from actions.key_actions import DeleteGpgKey, DeleteSshKey, RevokeDeployToken, RevokeGpgKey
from actions.model import JSON, Action, Plan, Target
from actions.plan import build_plan, token_plans
from actions.runner_actions import ResetRunnerToken
from actions.variable_actions import SetVariableValue
from console.inventory import Credential
from console.secret import Secret

__all__ = [
    "SHEET_CACHE",
    "Worksheet",
    "WorksheetItem",
    "build_worksheet",
    "needs_value",
    "outcome_word",
]

SHEET_CACHE: Final = "rotation_worksheet"
TOKEN_KINDS: Final = frozenset({"pat", "impersonation", "bot_token", "service_token"})
VARIABLE_SCOPES: Final = {
    "instance_variable": "instance",
    "group_variable": "group",
    "project_variable": "project",
}
HOOK_SCOPES: Final = {"system_hook": "system", "group_hook": "group", "project_hook": "project"}
_BOT: Final = re.compile(r"^(group|project)_(\d+)_bot")
#: A run outcome (journal state) → the word the worksheet column shows.
_WORDS: Final = {
    "done": "done",
    "noop_already": "already",
    "would_do": "dry run",
    "failed": "FAILED",
    "refused": "refused",
    "skipped": "skipped",
}


def outcome_word(state: str) -> str:
    return _WORDS.get(state, state.replace("_", " "))


@dataclass
class WorksheetItem:
    key: str
    label: str
    outcome: str = ""  # "" until its plan ran


@dataclass
class Worksheet:
    """The plans, which credential each target came from, and what was left out."""

    plans: list[Plan] = field(default_factory=list)
    #: (plan index, target kind, target id, target label) → credential key
    origin: dict[tuple[int, str, int, str], str] = field(default_factory=dict)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (key, why)

    def key_of(self, plan_index: int, target: Target) -> str | None:
        return self.origin.get((plan_index, target.kind, int(target.id), target.label))

    @property
    def item_keys(self) -> list[str]:
        return list(dict.fromkeys(self.origin.values()))


def needs_value(row: Credential) -> bool:
    """A variable: the responder types its new value."""
    return row.kind in VARIABLE_SCOPES


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def token_json(row: Credential) -> dict[str, JSON]:
    """What ``actions.plan.token_plans`` reads of a token, from its inventory row."""
    out: dict[str, JSON] = {
        "id": int(row.id),
        "name": row.name,
        "user_id": row.owner_id,
        "scopes": list(row.scopes),
        "active": row.state == "active",
        "revoked": row.state == "revoked",
        "impersonation": row.kind == "impersonation",
    }
    bot = _BOT.match(row.owner) if row.kind == "bot_token" else None
    if bot is not None:  # a group/project token goes through its resource's endpoint
        out["resource_type"], out["resource_id"] = bot.group(1), int(bot.group(2))
    return out


def _variable(row: Credential, value: Secret) -> tuple[Action, Target] | str:
    scope = VARIABLE_SCOPES[row.kind]
    owner = 0 if scope == "instance" else row.owner_id
    if owner is None:
        return "the variable's group or project is not known"
    env = str(row.extra.get("environment_scope") or "*")
    try:
        action = SetVariableValue(
            scope=scope, owner_id=owner, key=row.name, environment_scope=env, value=value
        )
    except ValueError as exc:
        return str(exc)
    return action, Target("variable", owner, row.name)


def _single(row: Credential, *, gpg: str) -> tuple[Action, Target] | str:
    """The one action for a non-token, non-variable row, or why there is none."""
    ident = row.id if isinstance(row.id, int) else _int(str(row.id))
    if ident is None:
        return "its id is not a number GitLab accepts"
    target_kind = {
        "ssh_key": "ssh_key",
        "gpg_key": "gpg_key",
        "runner": "runner",
        "deploy_token": "deploy_token",
        "deploy_key": "deploy_key",
    }.get(row.kind, "hook")
    target = Target(target_kind, ident, row.name)
    if row.kind in ("ssh_key", "gpg_key"):
        user = row.owner_id
        if user is None:
            return "its owner is not known"
        if row.kind == "ssh_key":
            return DeleteSshKey(user_id=user), target
        return (
            RevokeGpgKey(user_id=user) if gpg == "revoke" else DeleteGpgKey(user_id=user),
            target,
        )
    if row.kind == "runner":
        return ResetRunnerToken(), target
    if row.kind in HOOK_SCOPES:
        scope = HOOK_SCOPES[row.kind]
        if scope != "system" and row.owner_id is None:
            return "the hook's group or project is not known"
        return SetHookSecret(scope=scope, owner_id=row.owner_id or 0), target
    if row.kind == "deploy_token":
        if row.owner_type in ("group", "project") and row.owner_id is not None:
            return RevokeDeployToken(owner_type=row.owner_type, owner_id=row.owner_id), target
        return (
            "GitLab's instance list does not say which project or group holds it; revoke it there"
        )
    if row.kind == "deploy_key":
        return "disable it on each project it can reach (the admin list does not give their ids)"
    return f"no console action for a {row.kind}"


def build_worksheet(
    rows: Sequence[Credential],
    values: Mapping[str, Secret],
    *,
    rotate_tokens: bool = False,
    gpg: str = "revoke",
    own_token_id: int | None = None,
) -> Worksheet:
    """One plan per action over ``rows`` (any kinds); ``values`` holds typed variable values."""
    sheet = Worksheet()
    tokens = [r for r in rows if r.kind in TOKEN_KINDS]
    by_token = {int(r.id): r.key for r in tokens if isinstance(r.id, int)}
    if tokens:
        op = "rotate" if rotate_tokens else "revoke"
        for plan in token_plans(op, [token_json(r) for r in tokens], own_token_id=own_token_id):
            index = len(sheet.plans)
            sheet.plans.append(plan)
            for t in plan.targets:
                sheet.origin[(index, t.kind, int(t.id), t.label)] = by_token[int(t.id)]
            sheet.left_out += [(by_token[int(t.id)], why) for t, why in plan.excluded]
    grouped: dict[tuple[str, str], tuple[Action, list[tuple[Target, str]]]] = {}
    for row in rows:
        if row.kind in TOKEN_KINDS:
            continue
        if needs_value(row):
            value = values.get(row.key)
            built = _variable(row, value) if value is not None else "no new value was typed"
        else:
            built = _single(row, gpg=gpg)
        if isinstance(built, str):
            sheet.left_out.append((row.key, built))
            continue
        action, target = built
        # Actions with the same name and parameters share a plan (one DeleteSshKey per user…);
        # a variable's value makes each of its plans its own.
        group = (
            action.name,
            repr(sorted(action.params().items())) + (row.key if needs_value(row) else ""),
        )
        grouped.setdefault(group, (action, []))[1].append((target, row.key))
    for action, members in grouped.values():
        index = len(sheet.plans)
        plan = build_plan(action, [t for t, _ in members], own_token_id=own_token_id)
        sheet.plans.append(plan)
        for target, key in members:
            sheet.origin[(index, target.kind, int(target.id), target.label)] = key
    return sheet


def sheet_state(items: Sequence[WorksheetItem]) -> dict[str, Any]:
    """The cache document: every item's key, label and outcome (never a value)."""
    return {"items": [{"key": i.key, "label": i.label, "outcome": i.outcome} for i in items]}


def items_of(state: object) -> list[WorksheetItem]:
    if not isinstance(state, Mapping):
        return []
    out = []
    for raw in state.get("items") or ():
        if isinstance(raw, Mapping) and isinstance(raw.get("key"), str):
            out.append(
                WorksheetItem(
                    str(raw["key"]), str(raw.get("label") or ""), str(raw.get("outcome") or "")
                )
            )
    return out


def progress_text(items: Sequence[WorksheetItem]) -> str:
    """``rotated 12/31`` (counting done and already-done items), or "" with no worksheet."""
    if not items:
        return ""
    done = sum(1 for i in items if i.outcome in ("done", "already"))
    failed = sum(1 for i in items if i.outcome in ("FAILED", "refused"))
    text = f"rotated {done}/{len(items)}"
    return text + (f", {failed} failed" if failed else "")
