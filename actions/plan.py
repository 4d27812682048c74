"""Build action plans from a selection, with a human summary and per-target flags.

The catalogue (:data:`USER_ACTIONS`, :data:`TOKEN_ACTIONS`) is what the actions menu lists.
Labels are raw server text; every display goes through ``console.sanitize``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from actions.hook_actions import DeleteHook, DisableHook, SetHookSecret
from actions.key_actions import (
    DeleteGpgKey,
    DeleteSshKey,
    DisableDeployKey,
    RevokeDeployToken,
    RevokeGpgKey,
)
from actions.membership_actions import ChangeMemberLevel, RemoveMember
from actions.model import JSON, Action, Plan, Target
from actions.oauth_actions import DeleteOAuthApp
from actions.registry import action_for
from actions.runner_actions import DeleteRunner, PauseRunner, ResetRunnerToken
from actions.settings_actions import EnforceGroup2FA, EnforceInstance2FA, RemoveAdmin
from actions.token_actions import RevokeToken, RotateToken, token_action, token_kind_of
from actions.user_actions import AddNote, BlockUser, Disable2FA, ResetPassword, UnblockUser
from console.sanitize import clean, safe


@dataclass(frozen=True)
class ActionSpec:
    """One entry of the actions menu."""

    name: str
    title: str
    description: str
    target_kind: str
    mutating: bool
    convergent: bool
    build: Callable[[Mapping[str, JSON]], Action]
    needs_text: bool = False  # asks the responder for a line of text (the note)
    shows_secret: bool = False  # produces a one-time secret (password, new token)


def _spec(
    action: Action,
    build: Callable[[Mapping[str, JSON]], Action],
    *,
    kind: str,
    needs_text: bool = False,
    shows_secret: bool = False,
) -> ActionSpec:
    return ActionSpec(
        action.name,
        action.title,
        action.description,
        kind,
        action.mutating,
        action.convergent,
        build,
        needs_text,
        shows_secret,
    )


USER_ACTIONS: tuple[ActionSpec, ...] = (
    _spec(BlockUser(), lambda p: BlockUser(), kind="user"),
    _spec(
        UnblockUser(),
        lambda p: UnblockUser(confirm_credentials=bool(p.get("confirm_credentials"))),
        kind="user",
    ),
    _spec(ResetPassword(), lambda p: ResetPassword(), kind="user", shows_secret=True),
    _spec(Disable2FA(), lambda p: Disable2FA(), kind="user"),
    _spec(AddNote("x"), lambda p: AddNote(str(p.get("text") or "")), kind="user", needs_text=True),
)
TOKEN_ACTIONS: tuple[ActionSpec, ...] = (
    _spec(RevokeToken(), lambda p: RevokeToken(), kind="token"),
    _spec(
        RotateToken(),
        lambda p: RotateToken(expires_at=str(p["expires_at"]) if p.get("expires_at") else None),
        kind="token",
        shows_secret=True,
    ),
)


def _registered(name: str) -> Callable[[Mapping[str, JSON]], Action]:
    def build(params: Mapping[str, JSON]) -> Action:
        action = action_for(name, params)
        if action is None:
            raise KeyError(name)
        return action

    return build


def _foothold(action: Action, *, shows_secret: bool = False) -> ActionSpec:
    return _spec(
        action,
        _registered(action.name),
        kind=next(iter(action.target_kinds)),
        shows_secret=shows_secret,
    )


#: One action per kind of foothold (issue 10). Each needs its parent in ``params`` (the user of
#: a key, the project of a deploy token…): ``build`` goes through the resume registry, so a
#: plan is built exactly as a resumed journal entry would be. The variable action is not here:
#: its value is typed by the responder and given to ``SetVariableValue`` directly.
FOOTHOLD_ACTIONS: tuple[ActionSpec, ...] = (
    _foothold(DeleteSshKey(user_id=0)),
    _foothold(RevokeGpgKey(user_id=0)),
    _foothold(DeleteGpgKey(user_id=0)),
    _foothold(RevokeDeployToken(owner_type="project", owner_id=0)),
    _foothold(DisableDeployKey(project_id=0)),
    _foothold(PauseRunner()),
    _foothold(ResetRunnerToken(), shows_secret=True),
    _foothold(DeleteRunner()),
    _foothold(DeleteHook(scope="system")),
    _foothold(DisableHook(scope="system")),
    _foothold(SetHookSecret(scope="system"), shows_secret=True),
    _foothold(RemoveMember(source="group", source_id=0)),
    _foothold(ChangeMemberLevel(source="group", source_id=0, level=30)),
    _foothold(RemoveAdmin()),
    _foothold(EnforceInstance2FA()),
    _foothold(EnforceGroup2FA()),
    _foothold(DeleteOAuthApp()),
)


def spec_by_name(name: str) -> ActionSpec:
    for spec in (*USER_ACTIONS, *TOKEN_ACTIONS, *FOOTHOLD_ACTIONS):
        if spec.name == name:
            return spec
    raise KeyError(name)


class FlaggedUser(Protocol):
    """What a plan reads of a cached user (``console.store.UserRow`` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def state(self) -> str | None: ...
    @property
    def is_admin(self) -> bool: ...
    @property
    def two_factor(self) -> bool | None: ...
    @property
    def kind(self) -> str: ...


class UserCache(Protocol):
    """The store's users cache, as far as targets need it."""

    def users_by_ids(self, incident_id: int, ids: Sequence[int]) -> Sequence[FlaggedUser]: ...


def user_flags(row: FlaggedUser) -> frozenset[str]:
    """Short flags shown next to a target in the plan."""
    flags: set[str] = set()
    if row.is_admin:
        flags.add("admin")
    if row.kind in ("bot", "service"):
        flags.add(row.kind)
    state = row.state
    if state and state != "active":
        flags.add(safe(state, kind="line", max_cells=24))  # server text: shown in the plan
    if row.two_factor is False:
        flags.add("no 2FA")
    if clean(row.username or "", kind="username").flagged:
        flags.add("odd name")
    return frozenset(flags)


def user_targets(store: UserCache, incident_id: int, user_ids: Sequence[int]) -> list[Target]:
    """Targets for ``user_ids`` in selection order; labels and flags from the store's cache."""
    rows = {r.id: r for r in store.users_by_ids(incident_id, list(user_ids))}
    out: list[Target] = []
    seen: set[int] = set()
    for uid in user_ids:
        uid = int(uid)
        if uid in seen:
            continue
        seen.add(uid)
        row = rows.get(uid)
        if row is None:
            out.append(Target("user", uid, f"#{uid}", frozenset({"not cached"})))
            continue
        out.append(
            Target(
                "user",
                uid,
                row.username or f"#{uid}",
                user_flags(row),
                {"state": row.state, "is_admin": row.is_admin},
            )
        )
    return out


def token_targets(tokens: Iterable[Mapping[str, JSON]]) -> list[Target]:
    """Targets from token JSON dicts (``id``, ``name``, ``user_id``, ``scopes``, ``active``)."""
    out: list[Target] = []
    for tok in tokens:
        flags: set[str] = set()
        scopes = tok.get("scopes") or []
        if isinstance(scopes, list):
            flags.update(s for s in ("api", "sudo", "admin_mode") if s in scopes)
        if tok.get("revoked"):
            flags.add("revoked")
        elif tok.get("active") is False:
            flags.add("inactive")
        if tok.get("impersonation"):
            flags.add("impersonation")
        kind, owner = token_kind_of(tok)
        out.append(
            Target(
                "token",
                int(tok["id"]),
                str(tok.get("name") or f"token {tok['id']}"),
                frozenset(flags),
                {"user_id": tok.get("user_id"), "kind": kind, "owner_id": owner},
            )
        )
    return out


def token_plans(
    op: str,
    tokens: Iterable[Mapping[str, JSON]],
    *,
    own_token_id: int | None = None,
    expires_at: str | None = None,
) -> list[Plan]:
    """One plan per token kind and owner, so each token goes through its own endpoint (a group
    token through ``/groups/:id/access_tokens``, never ``/personal_access_tokens``)."""
    groups: dict[tuple[str, int | None], list[Mapping[str, JSON]]] = {}
    for tok in tokens:
        groups.setdefault(token_kind_of(tok), []).append(tok)
    plans = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] or 0)):
        rows = groups[key]
        action = token_action(op, rows[0], expires_at=expires_at)
        plans.append(build_plan(action, token_targets(rows), own_token_id=own_token_id))
    return plans


def build_plan(
    action: Action,
    targets: Sequence[Target],
    *,
    actor_id: int | None = None,
    own_token_id: int | None = None,
    include_own_token: bool = False,
) -> Plan:
    """A plan for ``action`` over ``targets``.

    The actor's own account is excluded from plans whose action excludes it (block, password,
    2FA). The console's own token is excluded unless ``include_own_token``; then it goes last,
    since revoking it ends the run.
    """
    keep: list[Target] = []
    excluded: list[tuple[Target, str]] = []
    own: list[Target] = []
    for t in targets:
        if t.kind not in action.target_kinds:
            excluded.append((t, f"{action.title} does not apply to a {t.kind}"))
        elif (
            action.excludes_actor and t.kind == "user" and actor_id is not None and t.id == actor_id
        ):
            excluded.append((t, "your own account (the console acts as it)"))
        elif t.kind == "token" and (mismatch := _token_kind_mismatch(action, t)):
            excluded.append((t, mismatch))
        elif t.kind == "token" and own_token_id is not None and t.id == own_token_id:
            if include_own_token:
                own.append(Target(t.kind, t.id, t.label, t.flags | {"console token"}, t.info))
            else:
                excluded.append((t, "the token this console is using; confirm it separately"))
        else:
            keep.append(t)
    keep.extend(own)
    plan = Plan(action, tuple(keep), tuple(excluded))
    return Plan(action, plan.targets, plan.excluded, summarize(plan))


def _token_kind_mismatch(action: Action, target: Target) -> str:
    """Why a token cannot go through ``action``'s endpoint ("" when it can): a group token sent
    to ``/personal_access_tokens/:id`` is a 404, so it is left out with the reason instead."""
    if not isinstance(action, (RevokeToken, RotateToken)):
        return ""
    kind = action.kind
    wanted = target.info.get("kind") if target.info else None
    if wanted is None:
        return ""
    owner = target.info.get("owner_id")
    if wanted == kind and (kind == "personal" or owner == action.owner_id):
        return ""
    return (
        f"a {wanted} token: it goes through its own endpoint, in its own plan "
        "(actions.plan.token_plans)"
    )


def summarize(plan: Plan) -> str:
    """One human sentence: what, on how many, and what was left out."""
    action = plan.action
    n = len(plan.targets)
    kinds = {t.kind for t in plan.targets} or set(action.target_kinds)
    noun = "/".join(sorted(kinds))
    text = f"{action.title}: {n} {noun}{'' if n == 1 else 's'}"
    flags: dict[str, int] = {}
    for t in plan.targets:
        for f in t.flags:
            flags[f] = flags.get(f, 0) + 1
    if flags:
        text += " (" + ", ".join(f"{c} {f}" for f, c in sorted(flags.items())) + ")"
    if plan.excluded:
        text += f"; {len(plan.excluded)} excluded"
    if not action.convergent:
        text += "; not repeatable: an interrupted run is handed to a human"
    return text + "."


def target_line(t: Target) -> str:
    """``#42 alice [admin, no 2FA]`` with the label escaped (for plan lists and logs)."""
    flags = f" [{', '.join(sorted(t.flags))}]" if t.flags else ""
    return f"#{t.id} {safe(t.label, kind='username', max_cells=40)}{flags}"


def confirmation_word(plan: Plan) -> str:
    """What the responder must type: ``y`` for one target, the count for more."""
    return "y" if len(plan.targets) == 1 else str(len(plan.targets))
