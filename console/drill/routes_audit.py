"""Audit events API (Premium/Ultimate): instance, group and project scopes.

Window rule. Current GitLab docs cap ``created_after``..``created_before`` at 30 days per query
but do not say what happens beyond it (reject or clamp). The drill takes the stricter reading:
a window longer than 30 days is a 400 with a plain message, so clients must slice their
queries. Omitted bounds are filled in first: ``created_before`` defaults to now and
``created_after`` to 30 days before ``created_before``.

Keyset pagination accepts only ``order_by=id&sort=desc`` (GitLab's one supported ordering);
anything else in keyset mode is a 405. Offset mode (deprecated by GitLab) is newest first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import timedelta
from typing import overload

from console.drill import views
from console.drill.access import DEVELOPER, MAINTAINER, OWNER, group_for, project_for
from console.drill.model import AuditEvent
from console.drill.paging import (
    KEYSET_UNAVAILABLE,
    keyset_requested,
    paginate_keyset,
    paginate_offset,
)
from console.drill.timefmt import iso
from console.drill.web import (
    ApiError,
    Ctx,
    Registry,
    Response,
    json_response,
    not_found,
    param_error,
)

routes = Registry()

MAX_WINDOW = timedelta(days=30)
ENTITY_TYPES = ("User", "Group", "Project", "Gitlab::Audit::InstanceScope")


def _window(ctx: Ctx) -> tuple[str, str]:
    before = ctx.datetime_param("created_before") or ctx.state.current_time()
    after = ctx.datetime_param("created_after") or (before - MAX_WINDOW)
    if before - after > MAX_WINDOW:
        raise ApiError(
            400,
            {
                "message": "400 Bad request - created_after and created_before "
                "must be at most 30 days apart; split the query "
                "into windows of 30 days or less"
            },
        )
    return iso(after) or "", iso(before) or ""


class _NewestFirst(Sequence[AuditEvent]):
    """``rows[lo:hi]`` newest first, without copying: a window of a large history is two
    bisections, like an indexed query on GitLab's side, not a scan per page."""

    def __init__(self, rows: Sequence[AuditEvent], lo: int, hi: int) -> None:
        self._rows, self._lo, self._hi = rows, lo, hi

    def __len__(self) -> int:
        return self._hi - self._lo

    @overload
    def __getitem__(self, index: int) -> AuditEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[AuditEvent]: ...
    def __getitem__(self, index: int | slice) -> AuditEvent | list[AuditEvent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._rows[self._hi - 1 - index]


def _select(ctx: Ctx, rows: Sequence[AuditEvent]) -> Sequence[AuditEvent]:
    start, end = _window(ctx)
    # Events are stored in id (= time) order; return newest first.
    lo = bisect_left(rows, start, key=lambda e: e.created_at)
    hi = bisect_right(rows, end, key=lambda e: e.created_at)
    return _NewestFirst(rows, lo, hi)


def _page(ctx: Ctx, rows: Sequence[AuditEvent]) -> Response:
    if keyset_requested(ctx):
        if (ctx.str_param("order_by") or "id") != "id" or (
            ctx.str_param("sort") or "desc"
        ) != "desc":
            raise ApiError(405, {"error": KEYSET_UNAVAILABLE})
        chunk, headers = paginate_keyset(
            ctx, rows, lambda e: (e.id,), lambda e: {"id": e.id}, _cursor_id, descending=True
        )
    else:
        chunk, headers = paginate_offset(ctx, rows)
    return json_response([views.audit_event(e) for e in chunk], headers=headers)


def _cursor_id(cursor: dict[str, str]) -> tuple[int]:
    try:
        return (int(cursor["id"]),)
    except (KeyError, ValueError) as exc:
        raise param_error("cursor is invalid") from exc


@routes("GET", r"/audit_events", tier="premium")
def instance_events(ctx: Ctx) -> Response:
    ctx.require_admin()
    entity_type = ctx.choice("entity_type", ENTITY_TYPES)
    entity_id = ctx.int_param("entity_id")
    if entity_id is not None and entity_type is None:
        raise ApiError(400, {"error": "entity_type is missing"})
    rows = _select(ctx, ctx.state.audit)
    if entity_type is not None:
        rows = [e for e in rows if e.entity_type == entity_type]
    if entity_id is not None:
        rows = [e for e in rows if e.entity_id == entity_id]
    return _page(ctx, rows)


@routes("GET", r"/audit_events/(?P<event_id>\d+)", tier="premium")
def instance_event(ctx: Ctx) -> Response:
    ctx.require_admin()
    return json_response(views.audit_event(_find(ctx, None, None)))


def _find(
    ctx: Ctx, entity_type: str | None, entity_id: int | None, author_only: bool = False
) -> AuditEvent:
    eid = ctx.id_param("event_id")
    for e in ctx.state.audit:
        if e.id == eid:
            if entity_type is not None and (
                e.entity_type != entity_type or e.entity_id != entity_id
            ):
                break
            if author_only and e.author_id != ctx.caller.id:
                break
            return e
    raise not_found("Audit Event")


def _scoped(ctx: Ctx, entity_type: str, entity_id: int, full: bool) -> list[AuditEvent]:
    rows = [
        e
        for e in _select(ctx, ctx.state.audit)
        if e.entity_type == entity_type and e.entity_id == entity_id
    ]
    if not full:  # Developers (and group Maintainers) see only their own actions
        rows = [e for e in rows if e.author_id == ctx.caller.id]
    return rows


@routes("GET", r"/groups/(?P<id>[^/]+)/audit_events", tier="premium")
def group_events(ctx: Ctx) -> Response:
    g = group_for(ctx, DEVELOPER)
    full = ctx.is_admin or ctx.state.group_access(g.id, ctx.caller.id) >= OWNER
    return _page(ctx, _scoped(ctx, "Group", g.id, full))


@routes("GET", r"/groups/(?P<id>[^/]+)/audit_events/(?P<event_id>\d+)", tier="premium")
def group_event(ctx: Ctx) -> Response:
    g = group_for(ctx, DEVELOPER)
    full = ctx.is_admin or ctx.state.group_access(g.id, ctx.caller.id) >= OWNER
    return json_response(views.audit_event(_find(ctx, "Group", g.id, not full)))


@routes("GET", r"/projects/(?P<id>[^/]+)/audit_events", tier="premium")
def project_events(ctx: Ctx) -> Response:
    p = project_for(ctx, DEVELOPER)
    full = ctx.is_admin or ctx.state.project_access(p.id, ctx.caller.id) >= MAINTAINER
    return _page(ctx, _scoped(ctx, "Project", p.id, full))


@routes("GET", r"/projects/(?P<id>[^/]+)/audit_events/(?P<event_id>\d+)", tier="premium")
def project_event(ctx: Ctx) -> Response:
    p = project_for(ctx, DEVELOPER)
    full = ctx.is_admin or ctx.state.project_access(p.id, ctx.caller.id) >= MAINTAINER
    return json_response(views.audit_event(_find(ctx, "Project", p.id, not full)))
