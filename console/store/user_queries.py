"""Filtering, searching and sorting the users cache in SQL: the virtual table's index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from console.store.errors import StoreError
from console.store.incidents import IncidentStore
from console.store.users import (
    BLOCKED_STATES,
    FILTERS,
    SORT_KEYS,
    USER_COLUMNS,
    USER_SELECT,
    UserQuery,
    UserRow,
    row_to_user,
)
from console.timeutil import window_bound

__all__ = ["UserQueryStore"]

_SORT_SQL: Final[dict[str, str]] = {
    **{col: f"u.{col}" for col in USER_COLUMNS if col not in ("mark", "note")},
    "username": "u.username COLLATE NOCASE",
    "name": "u.name COLLATE NOCASE",
    "email": "u.email COLLATE NOCASE",
    "mark": "coalesce(m.mark, '')",
    "note": "coalesce(m.note, '')",
}


class UserQueryStore(IncidentStore):
    """Counts and ordered ids for a :class:`UserQuery` (the window defaults to the incident's)."""

    def _window(self, incident_id: int, q: UserQuery | None) -> tuple[str | None, str | None]:
        if q is not None and q.window is not None:
            return (window_bound(q.window[0], end=False), window_bound(q.window[1], end=True))
        inc = self.get_incident(incident_id)
        return inc.window if inc else (None, None)

    def _where(self, incident_id: int, q: UserQuery | None) -> tuple[str, list[Any], bool]:
        """WHERE clause, its arguments and whether the marks join is needed."""
        clauses = ["u.incident_id = ?"]
        args: list[Any] = [incident_id]
        need_marks = False
        if q is None:
            return " WHERE " + clauses[0], args, False
        unknown = set(q.filters) - FILTERS
        if unknown:
            raise StoreError(f"unknown user filters {sorted(unknown)}")
        if q.search:
            term = q.search.casefold()
            clauses.append(
                "(instr(u.search_text, ?) > 0 OR instr(lower(coalesce(u.current_sign_in_ip, "
                "'')), ?) > 0 OR instr(lower(coalesce(u.last_sign_in_ip, '')), ?) > 0)"
            )
            args += [term, term, term]
        f = q.filters
        if "admins" in f:
            clauses.append("u.is_admin = 1")
        if "no_2fa" in f:
            clauses.append("u.two_factor = 0")
        if "bots" in f:
            clauses.append("u.kind IN ('bot', 'service')")
        if "blocked" in f:
            clauses.append(f"u.state IN ({', '.join('?' * len(BLOCKED_STATES))})")
            args += list(BLOCKED_STATES)
        if "risky" in f:
            clauses.append("u.risk > 0")
        if "created_in_window" in f or "signed_in_in_window" in f:
            start, end = self._window(incident_id, q)
            lo, hi = start or "", end or "9999"

            def between(col: str) -> str:
                args.extend([lo, hi])
                return f"(u.{col} >= ? AND u.{col} <= ?)"

            if "created_in_window" in f:
                clauses.append(between("created_at"))
            if "signed_in_in_window" in f:
                clauses.append(f"({between('current_sign_in_at')} OR {between('last_sign_in_at')})")
        if "unreviewed" in f:
            clauses.append("m.mark IS NULL")
            need_marks = True
        if "flagged" in f:
            clauses.append("m.mark = 'flagged'")
            need_marks = True
        if "cleared" in f:
            clauses.append("m.mark = 'cleared'")
            need_marks = True
        return " WHERE " + " AND ".join(clauses), args, need_marks

    _MARK_JOIN: Final = (
        " LEFT JOIN marks m ON m.incident_id = u.incident_id AND m.object_type = 'user'"
        " AND m.object_id = +u.id"
    )

    def count_users(self, incident_id: int, q: UserQuery | None = None) -> int:
        where, args, need_marks = self._where(incident_id, q)
        join = self._MARK_JOIN if need_marks else ""
        sql = "SELECT count(*) FROM users u" + join + where  # noqa: S608
        return int(self._conn().execute(sql, args).fetchone()[0])

    @staticmethod
    def _order(q: UserQuery) -> str:
        if q.sort not in SORT_KEYS:
            raise StoreError(f"unknown sort key {q.sort!r}")
        direction = "DESC" if q.descending else "ASC"
        order = f" ORDER BY {_SORT_SQL[q.sort]} {direction}"
        return order if q.sort == "id" else order + ", u.id ASC"

    def user_ids(self, incident_id: int, q: UserQuery) -> list[int]:
        """Filtered, searched and sorted ids (ties broken by id): the virtual table's index."""
        order = self._order(q)
        where, args, need_marks = self._where(incident_id, q)
        need_marks = need_marks or q.sort in ("mark", "note")
        join = self._MARK_JOIN if need_marks else ""
        sql = "SELECT u.id FROM users u" + join + where + order  # noqa: S608
        return [r[0] for r in self._conn().execute(sql, args)]

    def iter_user_rows(
        self, incident_id: int, q: UserQuery, batch: int = 2000
    ) -> Iterator[UserRow]:
        """The rows of :meth:`user_ids` in the same order, fetched ``batch`` at a time from one
        cursor (exports: memory stays at one batch whatever the match count)."""
        order = self._order(q)
        where, args, _ = self._where(incident_id, q)  # USER_SELECT always joins the marks
        cursor = self._conn().execute(USER_SELECT + where.removeprefix(" ") + order, args)
        try:
            while rows := cursor.fetchmany(batch):
                yield from (row_to_user(r) for r in rows)
        finally:
            cursor.close()
