"""What follows a run, headless: the lists re-read, the console's own token kept.

* users the run touched are re-read into the users cache (their row shows blocked at once);
* credentials it touched are re-read and their rows patched or dropped (:mod:`actions.refresh`);
* a rotation of the console's own token is adopted first (:mod:`actions.own_token`): the new
  value goes where the old one lived and the session reconnects, before any screen could see it.

Blocking (one GET per touched object): call from a worker thread.
"""

from __future__ import annotations

import contextlib
from typing import Any

from actions.model import Plan, RunResult
from actions.own_token import adopt_own_token
from actions.refresh import refresh_credentials
from actions.transport import get_json
from console.capabilities import SOURCE_KEYRING
from console.tokens.own import KeptToken

__all__ = ["adopt_rotation", "refresh_after", "reread_users"]


def adopt_rotation(ctx: Any, result: RunResult) -> KeptToken[Any] | None:
    """After ``rotate_own_token``: the new value kept and the session reconnected (or None)."""
    if result.action != "rotate_own_token" or result.dry_run:
        return None
    keyring = None
    if ctx.connection.token_source == SOURCE_KEYRING:
        from console.tokens import TokenStore  # probes the keyring in a child process

        keyring = TokenStore()
    try:
        return adopt_own_token(ctx, result, keyring)
    except ValueError:  # an empty value: nothing to keep, the old token stays in use
        return None


def reread_users(ctx: Any, gl: Any, result: RunResult) -> tuple[int, ...]:
    """Re-read every user the run touched into the users cache; returns their ids."""
    if result.dry_run:
        return ()
    changed: list[int] = []
    for out in result.outcomes:
        if out.target.kind != "user" or out.state not in ("done", "noop_already"):
            continue
        # a failed read only leaves the old row until the next full load; reads go
        # through the actions' bounded policy, never python-gitlab's rate-limit sleep
        with contextlib.suppress(Exception):
            body = get_json(gl, f"/users/{int(out.target.id)}")
            if isinstance(body, dict):
                ctx.store.upsert_user_detail(ctx.incident_id, body)
                changed.append(int(out.target.id))
    return tuple(changed)


def refresh_after(ctx: Any, gl: Any, plan: Plan, result: RunResult) -> tuple[str, ...]:
    """Re-read every credential the run touched; the keys of the rows updated or dropped."""
    try:
        done = refresh_credentials(ctx.store, ctx.incident_id, gl, plan.action, result)
    except Exception:  # a failed re-read leaves the old rows until the next full load
        return ()
    return tuple(done.updated + done.deleted)
