"""Contain account: the whole playbook for one user, in GitLab's order, run after one confirmation.

Order (GitLab's "responding to security incidents" guidance): block first; revoke every token
the user owns and every token or key the audit log shows they created for another account;
delete their SSH keys and revoke (or delete) their GPG keys; remove the hooks, runners, deploy
credentials, OAuth applications, memberships and admin flags they planted; set new values for
the variables they changed (typed by the responder, else left as an open item); remove their own
admin flag (a choice); reset the password; force 2FA re-enrolment and enforce 2FA for everyone
whose 2FA they disabled; write the admin note. The console's own token, if asked for, goes last.
Unblock is never part of it: it stays an open item of the incident.

Running it again after a crash (``resume_pending`` first) sends nothing twice: convergent steps
read the server and find the work done; non-convergent ones (the password reset) are skipped
when the journal already holds an attempt on the same target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import gitlab

from actions.contain_sources import (
    AuditInput,
    EventFields,
    Finding,
    as_int,
    audit_findings,
    authored_by,
    field,
    owned_findings,
    pages,
)
from actions.key_actions import DeleteGpgKey, RevokeGpgKey
from actions.model import Action, Plan, RunResult, StepEvent, Target
from actions.plan import build_plan
from actions.resource import Addressed, Call, read_or_gone
from actions.runner import run_plan
from actions.settings_actions import DEFAULT_GRACE_HOURS, EnforceInstance2FA, RemoveAdmin
from actions.token_actions import RotateOwnToken
from actions.undo import is_reversible
from actions.user_actions import AddNote, BlockUser, Disable2FA, ResetPassword
from actions.variable_actions import SetVariableValue
from console.sanitize import safe
from console.secret import Secret

#: Step groups in the order they run.
STEP_ORDER = (
    "block",
    "own_tokens",
    "other_tokens",
    "keys",
    "gpg",
    "deploy",
    "hooks",
    "runners",
    "oauth",
    "members",
    "variables",
    "admin",
    "own_admin",
    "password",
    "two_factor",
    "enforce_2fa",
    "note",
    "own_token",
)
_USER_CALLS = {
    "block_user": ("POST", "/users/{id}/block"),
    "reset_password": ("PUT", "/users/{id}"),
    "disable_2fa": ("PATCH", "/users/{id}/disable_two_factor"),
    "add_note": ("PUT", "/users/{id}"),
}
_ATTEMPTED = frozenset({"done", "intent", "sent", "unknown"})


@dataclass(frozen=True)
class ContainOptions:
    gpg: str = "revoke"  # "revoke" (also unverifies signed commits) or "delete"
    remove_admin: bool = True
    reset_password: bool = True
    force_2fa: bool = True
    enforce_instance_2fa: bool = True  # when the user disabled someone else's 2FA
    grace_hours: int = DEFAULT_GRACE_HOURS
    note: str = "Contained by the incident console: blocked, credentials revoked, footholds removed"
    since: str | None = None  # only audit events at or after this ISO time
    variable_values: Mapping[tuple[str, int, str], Secret] = dc_field(default_factory=dict)
    rotate_own_token: bool = False  # its own confirmation: the token goes last


@dataclass(frozen=True)
class ContainStep:
    group: str
    plan: Plan
    why: str
    calls: tuple[Call, ...]
    needs_input: str = ""

    @property
    def reversible(self) -> bool:
        return is_reversible(self.plan.action.name)

    def lines(self) -> list[str]:
        tag = "reversible" if self.reversible else "irreversible"
        head = f"{self.plan.action.title} ({tag}): {safe(self.why, kind='line')}"
        if self.needs_input:
            head += f" [needs {safe(self.needs_input, kind='line')}]"
        return [
            head,
            *(f"  {c.line()}" for c in self.calls),
            *(f"  excluded #{t.id}: {why}" for t, why in self.plan.excluded),
        ]


@dataclass
class ContainPlaybook:
    user_id: int
    username: str  # raw server text
    steps: list[ContainStep]
    notes: list[str] = dc_field(default_factory=list)

    @property
    def safe_username(self) -> str:
        return safe(self.username, kind="username")

    def confirmation_word(self) -> str:
        """What the responder types to run it: the account's username, never a single key."""
        return self.username

    def calls(self) -> list[Call]:
        return [c for s in self.steps for c in s.calls]

    def lines(self) -> list[str]:
        out = [f"Contain {self.safe_username} (#{self.user_id}): {len(self.calls())} calls"]
        for n, step in enumerate(self.steps, start=1):
            first, *rest = step.lines()
            out += [f"{n}. {first}", *rest]
        out += [f"note: {safe(n, kind='line')}" for n in self.notes]
        return out


def call_of(action: Action, target: Target) -> Call:
    """The request a step sends for ``target`` (method, path, id, sanitised name)."""
    if isinstance(action, Addressed):
        return action.call(target)
    method, path = _USER_CALLS.get(action.name, ("?", "?"))
    return Call(method, path.format(id=target.id), target.id, safe(target.label, kind="line"))


def _gpg_findings(gl: gitlab.Gitlab, uid: int, mode: str) -> list[Finding]:
    action = DeleteGpgKey(user_id=uid) if mode == "delete" else RevokeGpgKey(user_id=uid)
    why = (
        "a GPG key of the user; revoking also unverifies the commits it signed"
        if mode != "delete"
        else "a GPG key of the user; its signed commits stay verified"
    )
    return [
        Finding("gpg", action, Target("gpg_key", int(k["id"]), f"GPG key {k['id']}"), why)
        for k in pages(gl, f"/users/{uid}/gpg_keys")
    ]


def build_contain(
    gl: gitlab.Gitlab,
    user_id: int,
    audit_events: Iterable[AuditInput] = (),
    *,
    options: ContainOptions | None = None,
    actor_id: int | None = None,
    own_token_id: int | None = None,
) -> ContainPlaybook:
    """Read GitLab and the given audit events and lay out every step (blocking: a worker)."""
    opts = options or ContainOptions()
    events = list(audit_events)
    user = read_or_gone(gl, f"/users/{user_id}") or {}
    username = str(user.get("username") or f"#{user_id}")
    me = Target("user", user_id, username)
    found: list[Finding] = [Finding("block", BlockUser(), me, "stop sign-in, Git and API")]
    found += owned_findings(gl, user_id)
    found += _gpg_findings(gl, user_id, opts.gpg)
    found += audit_findings(gl, user_id, events, since=opts.since)
    notes: list[str] = []
    if any(f.group == "variables" for f in found):
        found = [_with_value(f, opts) for f in found]
    disabled_2fa = [
        e for e in authored_by(events, user_id, opts.since) if _disabled_2fa_of_other(e, user_id)
    ]
    if user.get("is_admin") and opts.remove_admin:
        found.append(Finding("own_admin", RemoveAdmin(), me, "the user's own admin flag"))
    if opts.reset_password:
        found.append(Finding("password", ResetPassword(), me, "a password the attacker knows"))
    if opts.force_2fa and user.get("two_factor_enabled"):
        if user.get("is_admin") and not opts.remove_admin:
            notes.append(
                "2FA of an administrator cannot be disabled through the API: remove "
                "the admin flag first, or use the Rails console"
            )
        else:
            found.append(
                Finding(
                    "two_factor", Disable2FA(), me, "a second factor the attacker may have enrolled"
                )
            )
    if disabled_2fa and opts.enforce_instance_2fa:
        found.append(
            Finding(
                "enforce_2fa",
                EnforceInstance2FA(grace_hours=opts.grace_hours),
                Target("instance", 1, "instance"),
                "they disabled another account's 2FA: everyone must re-enrol",
            )
        )
    found.append(Finding("note", AddNote(opts.note), me, "the incident, on the account"))
    if opts.rotate_own_token and own_token_id is not None:
        found.append(
            Finding(
                "own_token",
                RotateOwnToken(confirmed=True),
                Target("token", own_token_id, "console token"),
                "confirmed separately: the console's own token, last",
            )
        )
    notes.append("OAuth applications a user owns are not visible through GitLab's API")
    notes.append("unblock stays an open item until every credential is rotated")
    steps = _steps(found, actor_id=actor_id, own_token_id=own_token_id)
    return ContainPlaybook(user_id, username, steps, notes)


def _with_value(f: Finding, opts: ContainOptions) -> Finding:
    action = f.action
    if not isinstance(action, SetVariableValue):
        return f
    value = opts.variable_values.get((action.scope, action.owner_id, action.key))
    if value is None:
        return f
    filled = SetVariableValue(
        scope=action.scope,
        owner_id=action.owner_id,
        key=action.key,
        environment_scope=action.environment_scope,
        value=value,
    )
    return Finding(f.group, filled, f.target, f.why)


def _disabled_2fa_of_other(e: EventFields, uid: int) -> bool:
    return (
        str(field(e, "event_name") or "") == "user_disable_two_factor"
        and as_int(field(e, "author_id")) == uid
        and as_int(field(e, "entity_id")) != uid
    )


def _steps(
    found: list[Finding], *, actor_id: int | None, own_token_id: int | None
) -> list[ContainStep]:
    """One plan per (group, action and its parameters), in :data:`STEP_ORDER`, deduplicated."""
    buckets: dict[tuple[str, str, str], list[Finding]] = {}
    for f in found:
        key = (f.group, f.action.name, repr(sorted(f.action.params().items())))
        bucket = buckets.setdefault(key, [])
        if all(b.target.id != f.target.id for b in bucket):
            bucket.append(f)
    steps: list[ContainStep] = []
    for key in sorted(buckets, key=lambda k: STEP_ORDER.index(k[0])):
        group = buckets[key]
        action = group[0].action
        plan = build_plan(
            action,
            [f.target for f in group],
            actor_id=actor_id,
            own_token_id=own_token_id,
            include_own_token=isinstance(action, RotateOwnToken),
        )
        whys = sorted({f.why for f in group})
        steps.append(
            ContainStep(
                key[0],
                plan,
                "; ".join(whys),
                tuple(call_of(action, t) for t in plan.targets),
                group[0].needs_input,
            )
        )
    return steps


@dataclass
class ContainResult:
    runs: list[tuple[ContainStep, RunResult]] = dc_field(default_factory=list)
    skipped: list[tuple[ContainStep, str]] = dc_field(default_factory=list)
    halted: str | None = None

    def outcomes(self) -> list[tuple[str, int, str]]:
        """(action, target id, state) of every target that ran."""
        return [(r.action, o.target.id, o.state) for _, r in self.runs for o in r.outcomes]

    @property
    def secrets(self) -> list[Secret]:
        """One-time values (the new password…): show once, then drop."""
        return [o.secret for _, r in self.runs for o in r.outcomes if o.secret is not None]


def run_contain(
    store: Any,
    incident_id: int,
    gl: gitlab.Gitlab,
    playbook: ContainPlaybook,
    *,
    dry_run: bool = False,
    read_only: bool = False,
    on_step: Callable[[StepEvent], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    actor_id: int | None = None,
) -> ContainResult:
    """Run every ready step in order (blocking: call from a worker thread)."""
    result = ContainResult()
    attempted = {
        (e.action, int(e.target_id))
        for e in store.journal_entries(incident_id)
        if e.state in _ATTEMPTED or (e.extra or {}).get("needs_human")
    }
    for step in playbook.steps:
        if step.needs_input:
            result.skipped.append((step, f"needs {step.needs_input}"))
            continue
        plan = step.plan
        if not plan.action.convergent:
            left = tuple(t for t in plan.targets if (plan.action.name, t.id) not in attempted)
            if len(left) < len(plan.targets):
                result.skipped.append((step, "already attempted in this incident; not repeated"))
            if not left:
                continue
            plan = Plan(plan.action, left, plan.excluded, plan.summary)
        if not plan.targets:
            continue
        run = run_plan(
            store,
            incident_id,
            gl,
            plan,
            dry_run=dry_run,
            read_only=read_only,
            on_step=on_step,
            cancelled=cancelled,
            actor_id=actor_id,
        )
        result.runs.append((step, run))
        if run.halted or run.cancelled:
            result.halted = run.halted or "cancelled"
            break
    return result


def variable_inputs(playbook: ContainPlaybook) -> list[tuple[str, int, str]]:
    """(scope, owner id, key) of each variable step still waiting for a new value."""
    return [
        (a.scope, a.owner_id, a.key)
        for s in playbook.steps
        if s.needs_input and isinstance(a := s.plan.action, SetVariableValue)
    ]


def with_variable_values(
    playbook: ContainPlaybook, values: Mapping[tuple[str, int, str], Secret]
) -> ContainPlaybook:
    """The playbook with the responder's typed values in its variable steps (no new reads);
    a variable left without a value stays an open item (its step is skipped)."""
    steps: list[ContainStep] = []
    for step in playbook.steps:
        action = step.plan.action
        value = (
            values.get((action.scope, action.owner_id, action.key))
            if isinstance(action, SetVariableValue) and step.needs_input
            else None
        )
        if value is None or not isinstance(action, SetVariableValue) or not value.reveal().strip():
            steps.append(step)
            continue
        filled = SetVariableValue(
            scope=action.scope,
            owner_id=action.owner_id,
            key=action.key,
            environment_scope=action.environment_scope,
            value=value,
        )
        plan = Plan(filled, step.plan.targets, step.plan.excluded, step.plan.summary)
        steps.append(ContainStep(step.group, plan, step.why, step.calls, ""))
    return ContainPlaybook(playbook.user_id, playbook.username, steps, list(playbook.notes))
