"""The users pane's background work as plain functions ``(ctx, …) -> result``.

Each runs in a thread worker of :class:`~screens.panes.users.pane.UsersPane`, which posts the
result as a message.  Kept apart from the widget so the work can be read (and tested) without
Textual; only problems that must not stop the pane are caught here, as one display-safe line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

# The modules, not their names: tests (and the bench) replace loader functions on them.
from console import users_load
from console.context import AppContext
from console.errors import describe_error
from console.problem import Problem
from console.sanitize import safe
from console.store import ReviewProgress, UserQuery
from console.users_load import EnrichResult, FetchError, LoadProgress, LoadResult
from screens.panes.users.view import UsersView

__all__ = [
    "ENRICH_LIMIT",
    "enrich",
    "load",
    "problem_line",
    "query",
    "rescore",
    "save_mark",
    "save_marks",
    "score_risk",
]

#: At most this many users get a ``GET /users/:id`` for their sign-in IPs after a load.
ENRICH_LIMIT: Final = 500

Cancelled = Callable[[], bool]


def problem_line(problem: Problem | str) -> str:
    """A Problem as one display-safe line (error bodies are server text)."""
    line = problem.one_line() if isinstance(problem, Problem) else problem
    return safe(line, kind="line", max_cells=200)


def query(
    ctx: AppContext, view: UsersView, *, with_marks: bool
) -> tuple[list[int], int, dict[int, str] | None]:
    """Ordered ids for ``view``, the unfiltered total, and (if asked) every user's mark."""
    store, incident_id = ctx.store, ctx.incident_id
    ids = store.user_ids(incident_id, view.query())
    total = store.count_users(incident_id) if view.is_narrowed else len(ids)
    marks: dict[int, str] | None = None
    if with_marks:
        marks = {
            int(k): m.mark
            for k, m in store.marks(incident_id, "user").items()
            if m.mark is not None
        }
    return ids, total, marks


def load(
    ctx: AppContext,
    on_progress: Callable[[LoadProgress], None],
    cancelled: Cancelled,
    on_wait: Callable[[float, str], None] | None = None,
) -> LoadResult:
    """Stream every user into the store; a failure the loader did not explain becomes one."""
    started = time.perf_counter()
    try:
        return users_load.load_users_blocking(
            ctx.connection.config,
            ctx.connection.token,
            ctx.store,
            ctx.incident_id,
            on_progress=on_progress,
            cancelled=cancelled,
            on_wait=on_wait,
        )
    except Exception as exc:  # the loader reports problems; this is a last resort
        return LoadResult(0, 0, time.perf_counter() - started, False, describe_error(exc))


def score_risk(ctx: AppContext, cancelled: Cancelled) -> tuple[str | None, bool]:
    """Fetch every PAT (token signals, admin only), then score: ``(problem, failed)``."""
    from console import risk  # with the audit modules, after the first rows

    problem: str | None = None
    tokens = None
    try:
        tokens = users_load.fetch_tokens_blocking(
            ctx.connection.config, ctx.connection.token, cancelled=cancelled
        )
        ctx.store.cache_put(ctx.incident_id, risk.TOKENS_CACHE_KEY, tokens)
    except FetchError as exc:
        problem = "token signals skipped: " + problem_line(exc.problem or "cancelled")
    except Exception as exc:
        problem = "token signals skipped: " + problem_line(describe_error(exc))
    try:
        # The incident's own window (open ends stay open): the risk module decides.
        risk.compute_and_store_risk(
            ctx.store, ctx.incident_id, ctx.incident.window, tokens=tokens, now=ctx.clock.now(),
            cancelled=cancelled,
        )  # fmt: skip
    except risk.RiskCancelled:
        return "cancelled", True
    except Exception as exc:
        return problem_line(describe_error(exc)), True
    return problem, False


def rescore(ctx: AppContext, cancelled: Cancelled) -> str | None:
    """Recompute risk from what the store holds now; a problem line if it failed."""
    from console import risk

    try:
        risk.compute_and_store_risk(
            ctx.store, ctx.incident_id, ctx.incident.window, now=ctx.clock.now(),
            cancelled=cancelled,
        )  # fmt: skip
    except risk.RiskCancelled:
        return "cancelled"
    except Exception as exc:
        return problem_line(describe_error(exc))
    return None


def enrich(ctx: AppContext, cancelled: Cancelled) -> EnrichResult:
    """``GET /users/:id`` for admins and users who signed in during the window (bounded)."""
    store, incident_id = ctx.store, ctx.incident_id
    started = time.perf_counter()
    try:
        admins = store.user_ids(incident_id, UserQuery(filters=frozenset({"admins"})))
        active = store.user_ids(
            incident_id,
            UserQuery(
                filters=frozenset({"signed_in_in_window"}),
                sort="current_sign_in_at",
                descending=True,
            ),
        )
        wanted = list(dict.fromkeys([*admins, *active]))[:ENRICH_LIMIT]
        return users_load.enrich_users_blocking(
            ctx.connection.config,
            ctx.connection.token,
            store,
            incident_id,
            wanted,
            cancelled=cancelled,
        )
    except Exception as exc:  # a store or client failure must not leave "fetching…" up
        return EnrichResult(0, 0, time.perf_counter() - started, False, describe_error(exc))


def save_marks(ctx: AppContext, user_ids: list[int], mark: str | None) -> ReviewProgress:
    """One mark for many users; each keeps its note (without a mark the note goes too)."""
    store, incident_id = ctx.store, ctx.incident_id
    existing = store.marks(incident_id, "user")
    for user_id in user_ids:
        old = existing.get(user_id)
        note = old.note if old is not None and mark is not None else None
        store.set_mark(incident_id, "user", user_id, mark, note)
    return store.review_progress(incident_id)


def save_mark(
    ctx: AppContext, user_id: int, mark: str | None, note: str | None
) -> tuple[str | None, ReviewProgress]:
    """One user's mark; ``note=None`` keeps the saved note.  Returns the note kept."""
    store, incident_id = ctx.store, ctx.incident_id
    if note is None and mark is not None:
        existing = store.marks(incident_id, "user").get(user_id)
        note = existing.note if existing is not None else None
    store.set_mark(incident_id, "user", user_id, mark, note)
    return note, store.review_progress(incident_id)
