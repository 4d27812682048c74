"""The console's own token in a plan: always last, its own confirmation, kept and reconnected.

A plan that would revoke the token the console uses would leave the console unable to finish
(or to verify) anything after it. :func:`split_own_token` takes that token out of token plans
and turns it into one rotation (``/personal_access_tokens/self/rotate``, which revokes the old
value too) placed after everything else, behind :func:`actions.confirm.own_token_confirmation`.
After it ran, :func:`adopt_own_token` puts the new value where the old one lived
(:mod:`console.tokens.own`), rebuilds the session's client, and removes the value from the
run's outcome so no screen can show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from actions.model import Plan, RunResult, Target
from actions.plan import build_plan
from actions.token_actions import RotateOwnToken
from console.tokens.own import KeptToken, keep_rotated_token

__all__ = ["adopt_own_token", "own_token_plan", "split_own_token"]


class _Context(Protocol):
    @property
    def connection(self) -> Any: ...

    def replace_connection(self, connection: Any) -> None: ...


def own_token_plan(own_token_id: int, *, confirmed: bool) -> Plan:
    """The rotation of the console's own token as a plan of its own (``confirmed`` comes from
    its separate typed confirmation; unconfirmed, the action refuses before sending)."""
    target = Target("token", own_token_id, "console token", frozenset({"console token"}))
    return build_plan(
        RotateOwnToken(confirmed=confirmed),
        [target],
        own_token_id=own_token_id,
        include_own_token=True,
    )


def split_own_token(
    plans: Sequence[Plan], own_token_id: int | None
) -> tuple[list[Plan], Plan | None]:
    """``plans`` without the console's own token, and its rotation to run last (or None).

    Token plans exclude the own token (``build_plan``); this finds it there, or among the
    targets when a plan was built with ``include_own_token``.
    """
    if own_token_id is None:
        return list(plans), None
    found = False
    out: list[Plan] = []
    for plan in plans:
        if plan.action.name == RotateOwnToken.name:
            found = True
            continue
        own_here = any(t.kind == "token" and t.id == own_token_id for t in plan.targets) or any(
            t.kind == "token" and t.id == own_token_id for t, _ in plan.excluded
        )
        found = found or own_here
        keep = tuple(t for t in plan.targets if not (t.kind == "token" and t.id == own_token_id))
        if keep:
            out.append(Plan(plan.action, keep, plan.excluded, plan.summary))
    return out, (own_token_plan(own_token_id, confirmed=False) if found else None)


def adopt_own_token(ctx: _Context, result: RunResult, keyring: Any) -> KeptToken[Any] | None:
    """After a run with ``rotate_own_token``: keep the new value, reconnect, forget it here.

    Returns what was done (where the value lives and the sentence to show), or None when the
    run minted no new value (refused, failed, dry run).
    """
    if result.action != RotateOwnToken.name or result.dry_run:
        return None
    for out in result.outcomes:
        if out.secret is None:
            continue
        kept = keep_rotated_token(ctx.connection, out.secret, keyring)
        ctx.replace_connection(kept.connection)
        out.secret = None  # the value now lives only in the connection (and the keyring)
        return kept
    return None
