"""The incident timeline in SQL: stored audit events, journal entries and notes on one time axis.

Nothing here reads a whole incident into Python. The rows are one ``UNION ALL`` over the three
tables, ordered by ``(time, kind, number)`` and read a window at a time: by keyset from the
previous window's last position (SQLite merges the three ordered branches; the events branch
walks the time index), or by offset from the nearer end for a jump. Counts per kind and per
histogram bucket are index range counts, one small query per bucket.

Only the events table's existing columns and indexes are used. An event's time is its
``created_at``; an action's the time it was done, else sent, else intended; a note's when it
was written. All are ``YYYY-MM-DDTHH:MM:SS.mmmZ`` strings, so they compare as strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from console.store.connection import StoreBase
from console.timeutil import window_bound

__all__ = [
    "TIMELINE_KINDS",
    "TimelineKey",
    "TimelinePos",
    "TimelineQuery",
    "TimelineQueryStore",
    "TimelineRow",
]

#: The kinds of item, in their order among items of the same time.
TIMELINE_KINDS: Final = ("action", "event", "note")
#: ``("event", rid)``, ``("action", journal id)`` or ``("note", note id)``.
TimelineKey = tuple[str, int]
#: Where an item sorts: ``(time, kind, number)`` (an event's number is its GitLab id).
TimelinePos = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """Which items: the kinds shown, and the events of ``scope`` inside ``since``–``until``
    (``scope`` None: no events, e.g. none stored). Actions and notes are the incident's all."""

    kinds: frozenset[str] = frozenset(TIMELINE_KINDS)
    scope: str | None = "instance"
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One item as the timeline shows it (text raw: sanitise at display)."""

    when: str
    kind: str
    who: str
    what: str
    ref: str  # "event:123" (GitLab id), "journal:4", "note:7"
    key: TimelineKey = ("", 0)


_EVENT_TIME: Final = "e.created_at"
_ACTION_TIME: Final = "coalesce(j.t_done, j.t_sent, j.t_intent)"
_NOTE_TIME: Final = "n.created_at"


class TimelineQueryStore(StoreBase):
    """Windows of the merged timeline, counts per kind and per time range, rows by key."""

    # -- the three branches ----------------------------------------------------------------------

    def _branches(self, incident_id: int, q: TimelineQuery) -> list[tuple[str, str, list[Any]]]:
        """``(kind, FROM … WHERE …, args)`` of each kind ``q`` shows, in tie order."""
        out: list[tuple[str, str, list[Any]]] = []
        for kind in TIMELINE_KINDS:
            if kind not in q.kinds:
                continue
            if kind == "event":
                if q.scope is None:
                    continue
                where = "FROM audit_events e WHERE e.incident_id = ? AND e.scope = ?"
                args: list[Any] = [incident_id, q.scope]
                since, until = window_bound(q.since, end=False), window_bound(q.until, end=True)
                if since:
                    where += " AND e.created_at >= ?"
                    args.append(since)
                if until:
                    where += " AND e.created_at <= ?"
                    args.append(until)
                out.append((kind, where, args))
            elif kind == "action":
                out.append((kind, "FROM journal j WHERE j.incident_id = ?", [incident_id]))
            else:
                out.append((kind, "FROM notes n WHERE n.incident_id = ?", [incident_id]))
        return out

    @staticmethod
    def _columns(kind: str) -> tuple[str, str, str]:
        """``(time, number, key)`` expressions of a branch."""
        if kind == "event":
            return _EVENT_TIME, "e.id", "e.rid"
        if kind == "action":
            return _ACTION_TIME, "j.id", "j.id"
        return _NOTE_TIME, "n.id", "n.id"

    # -- counts ----------------------------------------------------------------------------------

    def timeline_kind_counts(self, incident_id: int, q: TimelineQuery) -> dict[str, int]:
        """How many items of each kind ``q`` shows."""
        con = self._conn()
        out: dict[str, int] = {}
        for kind, where, args in self._branches(incident_id, q):
            out[kind] = int(con.execute(f"SELECT count(*) {where}", args).fetchone()[0])
        return out

    def timeline_span(self, incident_id: int, q: TimelineQuery) -> tuple[str, str] | None:
        """The first and the last item's time (None: nothing to show)."""
        con = self._conn()
        firsts: list[str] = []
        lasts: list[str] = []
        for kind, where, args in self._branches(incident_id, q):
            time, _, _ = self._columns(kind)
            for order, into in (("ASC", firsts), ("DESC", lasts)):
                # ORDER BY … LIMIT 1 walks the time index from one end (min() with the scope
                # filter would read it all).
                row = con.execute(
                    f"SELECT {time} {where} ORDER BY 1 {order} LIMIT 1",
                    args,
                ).fetchone()
                if row is not None and row[0]:
                    into.append(str(row[0]))
        if not firsts:
            return None
        return min(firsts), max(lasts)

    def timeline_range_counts(
        self, incident_id: int, q: TimelineQuery, bounds: Sequence[str]
    ) -> list[int]:
        """Items with ``bounds[i] <= time < bounds[i + 1]``, for each i (a histogram's bars).

        One index range count per range and kind: a million events are never grouped in one
        pass or read into Python.
        """
        counts = [0] * max(0, len(bounds) - 1)
        con = self._conn()
        # The window's bounds are folded into each range here, in Python: with two lower bounds
        # on created_at the planner may walk the index from the window's start for every bar.
        since, until = window_bound(q.since, end=False), window_bound(q.until, end=True)
        free = replace(q, since=None, until=None)
        for kind, where, args in self._branches(incident_id, free):
            time, _, _ = self._columns(kind)
            for i in range(len(counts)):
                lo, hi, upper = bounds[i], bounds[i + 1], "<"
                if kind == "event":
                    lo = max(lo, since) if since else lo
                    if until and until < hi:
                        hi, upper = until, "<="
                    if lo > hi:
                        continue
                sql = f"SELECT count(*) {where} AND {time} >= ? AND {time} {upper} ?"
                counts[i] += int(con.execute(sql, [*args, lo, hi]).fetchone()[0])
        return counts

    # -- windows of rows -------------------------------------------------------------------------

    def timeline_window(
        self,
        incident_id: int,
        q: TimelineQuery,
        *,
        limit: int,
        offset: int = 0,
        after: TimelinePos | None = None,
        descending: bool = False,
    ) -> list[tuple[TimelinePos, TimelineKey]]:
        """Up to ``limit`` items in time order (newest first if ``descending``): after ``after``
        (keyset: cheap at any depth), else from ``offset``."""
        order = "DESC" if descending else "ASC"
        parts: list[str] = []
        args: list[Any] = []
        if after is not None and len(after[0]) > 10:  # (a bare date would become its 00:00)
            # The window's own bound moves to the position: with two bounds on created_at the
            # planner may start the index walk at the older one, re-reading everything before
            # the position for every window (an export of a million events went quadratic).
            if descending:
                until = window_bound(q.until, end=True)
                q = replace(q, until=min(until, after[0]) if until else after[0])
            else:
                since = window_bound(q.since, end=False) or ""
                q = replace(q, since=max(since, after[0]))
        for kind, where, branch_args in self._branches(incident_id, q):
            time, number, key = self._columns(kind)
            sql = f"SELECT {time} AS t, '{kind}' AS kind, {number} AS n, {key} AS k {where}"
            branch_args = list(branch_args)
            if after is not None:
                sql, branch_args = _after(sql, branch_args, kind, time, number, after, descending)
            parts.append(sql)
            args += branch_args
        if not parts:
            return []
        sql = (
            " UNION ALL ".join(parts)
            + f" ORDER BY 1 {order}, 2 {order}, 3 {order} LIMIT ? OFFSET ?"
        )
        rows = self._conn().execute(sql, [*args, limit, 0 if after is not None else offset])
        return [((str(t), str(k), int(n)), (str(k), int(key))) for t, k, n, key in rows]

    def timeline_rows(
        self, incident_id: int, keys: Sequence[TimelineKey]
    ) -> dict[TimelineKey, TimelineRow]:
        """The items of ``keys`` (unknown keys are left out); one query per kind."""
        wanted: dict[str, list[int]] = {}
        for kind, number in keys:
            wanted.setdefault(kind, []).append(number)
        out: dict[TimelineKey, TimelineRow] = {}
        con = self._conn()
        for kind, numbers in wanted.items():
            for i in range(0, len(numbers), 500):
                chunk = numbers[i : i + 500]
                marks = ", ".join("?" * len(chunk))
                for row in con.execute(_ROWS_SQL[kind].format(marks=marks), [incident_id, *chunk]):
                    item = _row(kind, row)
                    out[item.key] = item
        return out


# "+incident_id" keeps the planner on the primary key: with the plain column it walks an
# (incident_id, …) index over every event of the incident to find a page of rows.
_ROWS_SQL: Final = {
    "event": (
        "SELECT rid, id, created_at, author_name, event_name, category, target_details, "
        "entity_path, summary FROM audit_events WHERE +incident_id = ? AND rid IN ({marks})"
    ),
    "action": (
        "SELECT id, coalesce(t_done, t_sent, t_intent), action, target_label, target_id, state "
        "FROM journal WHERE +incident_id = ? AND id IN ({marks})"
    ),
    "note": (
        "SELECT id, created_at, author, object_type, object_id, text "
        "FROM notes WHERE +incident_id = ? AND id IN ({marks})"
    ),
}


def _row(kind: str, r: Sequence[Any]) -> TimelineRow:
    if kind == "event":
        rid, gid, when, author, name, category, target_details, entity_path, summary = r
        target = target_details or entity_path
        what = " ".join(x for x in (name or category, target, summary) if x)
        return TimelineRow(when, "event", author, what, f"event:{gid}", ("event", int(rid)))
    if kind == "action":
        jid, when, action, label, target_id, state = r
        label = label or f"#{target_id}"
        what = f"{action} {label}: {state}"
        return TimelineRow(when, "action", "console", what, f"journal:{jid}", ("action", int(jid)))
    nid, when, author, object_type, object_id, text = r
    about = "" if object_type == "incident" else f"[{object_type} {object_id}] "
    return TimelineRow(when, "note", author, about + text, f"note:{nid}", ("note", int(nid)))


def _after(
    sql: str,
    args: list[Any],
    kind: str,
    time: str,
    number: str,
    after: TimelinePos,
    descending: bool,
) -> tuple[str, list[Any]]:
    """``sql`` narrowed to the items past ``after`` in the window's direction.

    Written as a range on the time column (``time >= ?``), so the events branch starts its
    index walk at the position instead of filtering from the window's start.
    """
    when, after_kind, after_n = after
    cmp, strict = ("<=", "<") if descending else (">=", ">")
    if kind == after_kind:
        tie, tie_args = f"{number} {strict} ?", [after_n]
    elif (kind > after_kind) != descending:
        tie, tie_args = "1", []  # this kind sorts after the position's kind at the same time
    else:
        tie, tie_args = "0", []
    sql += f" AND {time} {cmp} ? AND ({time} {strict} ? OR {tie})"
    return sql, [*args, when, when, *tie_args]
