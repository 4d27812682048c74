"""Writing and reading cached users: ``GET /users`` pages, per-user detail, raw JSON, risk."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.one_step import one_step_rows
from console.store.users import (
    UPSERT_USERS,
    USER_FROM,
    USER_SELECT,
    USER_SELECT_COLUMNS,
    UserRow,
    row_to_user,
    user_values,
)
from console.store.values import dbstr, dumps, dumps_record
from console.timeutil import normalize_ts, utc_now

__all__ = ["UserCacheStore"]


class UserCacheStore(StoreBase):
    """The users cache rows (filtered lists come from :class:`UserQueryStore`)."""

    def upsert_users(
        self, incident_id: int, users: Iterable[Mapping[str, Any]], fetched_at: str
    ) -> int:
        """Insert or refresh users from ``GET /users`` JSON; returns how many were written.

        Fields the list response lacks (IPs, ``sign_in_count``) never overwrite values that
        :meth:`upsert_user_detail` filled in; risk and marks are untouched.
        """
        fetched = normalize_ts(fetched_at)
        rows = []
        raws = []
        for user in users:
            values = user_values(incident_id, user, fetched)
            if values[1] is None:
                continue
            rows.append(values)
            raws.append((incident_id, values[1], dumps_record(user)))
        if not rows:
            return 0
        with self._write() as con:
            con.executemany(UPSERT_USERS, rows)
            con.executemany(
                "INSERT INTO user_raw (incident_id, id, list_json) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id, id) DO UPDATE SET list_json = excluded.list_json",
                raws,
            )
        return len(rows)

    def users_fetched_at(self, incident_id: int) -> str | None:
        """When the newest cached user row was fetched (None: no user cached)."""
        row = (
            self._conn()
            .execute("SELECT MAX(fetched_at) FROM users WHERE incident_id = ?", (incident_id,))
            .fetchone()
        )
        return None if row is None or row[0] is None else str(row[0])

    def upsert_user_detail(self, incident_id: int, user: Mapping[str, Any]) -> None:
        """Merge a ``GET /users/:id`` response (adds IPs and ``sign_in_count``)."""
        values = user_values(incident_id, user, None)
        if values[1] is None:
            raise StoreError("user detail without an id")
        now = utc_now()
        with self._write() as con:
            con.execute(UPSERT_USERS, values)
            con.execute(
                "UPDATE users SET detail_at = ? WHERE incident_id = ? AND id = ?",
                (now, incident_id, values[1]),
            )
            con.execute(
                "INSERT INTO user_raw (incident_id, id, detail_json) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id, id) DO UPDATE SET detail_json = excluded.detail_json",
                (incident_id, values[1], dumps(user)),
            )

    def user_raw(self, incident_id: int, user_id: int) -> dict[str, Any] | None:
        """The stored GitLab JSON: the detail response merged over the list response."""
        r = (
            self._conn()
            .execute(
                "SELECT list_json, detail_json FROM user_raw WHERE incident_id = ? AND id = ?",
                (incident_id, user_id),
            )
            .fetchone()
        )
        if r is None:
            return None
        merged: dict[str, Any] = {}
        for text in r:
            if text:
                merged.update(json.loads(text))
        return merged

    def users_by_ids(self, incident_id: int, ids: Sequence[int]) -> list[UserRow]:
        """Rows for ``ids`` in the same order (unknown ids are skipped). One SQLite step per
        500 ids (:mod:`~console.store.one_step`): the users table reads its pages with it
        on the UI thread, also while a load keeps other threads busy."""
        found: dict[int, UserRow] = {}
        con = self._conn()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rest = USER_FROM + f"WHERE u.incident_id = ? AND u.id IN ({marks})"
            for r in one_step_rows(con, USER_SELECT_COLUMNS, rest, (incident_id, *chunk)):
                found[r[0]] = row_to_user(r)
        return [found[i] for i in ids if i in found]

    def get_user(self, incident_id: int, user_id: int) -> UserRow | None:
        rows = self.users_by_ids(incident_id, [user_id])
        return rows[0] if rows else None

    def iter_users(self, incident_id: int, batch: int = 5000) -> Iterator[UserRow]:
        """Every cached user of the incident in id order (for risk computation, exports)."""
        con = self._conn()
        last = -(2**62)
        while True:
            rows = con.execute(
                USER_SELECT + "WHERE u.incident_id = ? AND u.id > ? ORDER BY u.id LIMIT ?",
                (incident_id, last, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield row_to_user(r)
            last = rows[-1][0]

    def set_risk(
        self,
        incident_id: int,
        risks: Mapping[int, tuple[int, Sequence[str]]],
        *,
        replace: bool = True,
    ) -> None:
        """Store risk scores and reasons; with ``replace`` users not in ``risks`` go to 0."""
        rows = [
            (int(score), dumps([dbstr(r) for r in reasons]), incident_id, user_id)
            for user_id, (score, reasons) in risks.items()
        ]
        with self._write() as con:
            if replace:
                con.execute(
                    "UPDATE users SET risk = 0, risk_reasons = '[]' "
                    "WHERE incident_id = ? AND (risk != 0 OR risk_reasons != '[]')",
                    (incident_id,),
                )
            con.executemany(
                "UPDATE users SET risk = ?, risk_reasons = ? WHERE incident_id = ? AND id = ?",
                rows,
            )
