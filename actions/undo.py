"""Undo where GitLab can undo: reversible pairs, rebuilt from a finished journal entry.

Block/unblock, admin-flag removal/grant, membership removal/re-add, access-level changes and
runner pause/unpause are pairs. Revoke, delete, rotate, a new secret, a new variable value and a
password reset are not: :func:`undo_action` returns None and :func:`irreversible_reason` says
why. GitLab's ban and deactivate are reversible too, but the console has no action for them yet.
The undo of an unblock is a block; the undo of a block is an unblock, which keeps its guard
(tokens or keys still live refuse it unless confirmed).
"""

from __future__ import annotations

from collections.abc import Mapping

from actions import runner_actions, settings_actions  # noqa: F401  (register the pairs)
from actions.membership_actions import AddMember, ChangeMemberLevel, RemoveMember
from actions.model import JSON, Action, Plan, Target
from actions.plan import build_plan
from actions.registry import action_for
from actions.resource import int_param, str_param
from console.store.journal_model import JournalEntry

REVERSE: dict[str, str] = {
    "block_user": "unblock_user",
    "unblock_user": "block_user",
    "remove_admin": "grant_admin",
    "grant_admin": "remove_admin",
    "pause_runner": "unpause_runner",
    "unpause_runner": "pause_runner",
    "remove_member": "add_member",
    "add_member": "remove_member",
    "change_member_level": "change_member_level",
}


def is_reversible(action_name: str) -> bool:
    return action_name in REVERSE


def irreversible_reason(action_name: str) -> str:
    if action_name in REVERSE:
        return ""
    return "irreversible: GitLab cannot restore what this removes or replaces"


def undo_action(entry: JournalEntry) -> Action | None:
    """The action that reverses a ``done`` journal entry, or None when GitLab cannot undo it."""
    name = entry.action
    if entry.state != "done" or name not in REVERSE:
        return None
    params: Mapping[str, JSON] = entry.params
    # what was read before the change (a JSON object for the pairs above; anything else is
    # not enough to restore a level)
    pre: Mapping[str, JSON] = entry.pre_state if isinstance(entry.pre_state, Mapping) else {}
    source, source_id = str_param(params, "source", "group"), int_param(params, "source_id")
    if name == "remove_member":
        level = pre.get("access_level")
        if not isinstance(level, int):
            return None
        return AddMember(source=source, source_id=source_id, level=level)
    if name == "add_member":
        return RemoveMember(source=source, source_id=source_id)
    if name == "change_member_level":
        level = pre.get("access_level")
        if not isinstance(level, int):
            return None
        return ChangeMemberLevel(source=source, source_id=source_id, level=level)
    return action_for(REVERSE[name], params if name.endswith("_runner") else {})


def undo_plan(entry: JournalEntry, *, confirm_credentials: bool = False) -> Plan | None:
    """The plan that reverses ``entry`` on its own target, or None (not done, not reversible,
    or an attempt that sent nothing). Confirmed like any other plan; the undo of a block keeps
    the unblock guard unless ``confirm_credentials`` (the responder's explicit choice)."""
    if entry.extra.get("not_sent"):
        return None
    action = undo_action(entry)
    if confirm_credentials and action is not None and action.name == "unblock_user":
        action = action_for("unblock_user", {"confirm_credentials": True})
    if action is None:
        return None
    try:
        target_id = int(entry.target_id)
    except ValueError:  # a target journaled by a string key: not one the pairs act on
        return None
    target = Target(entry.target_type, target_id, entry.target_label)
    plan = build_plan(action, [target])
    return plan if plan.targets else None
