"""The credentials inventory in SQLite: one row per credential per incident, never a secret.

Rows arrive as ``Credential.to_dict()`` plus two numbers the inventory computes (``rank``: the
kind's place in the pane's order; ``urgency``: how many urgent flags it carries), so the store
needs no knowledge of GitLab's credential kinds. The pane reads ordered keys for a query and then
only the rows on screen, like the users and audit panes.

Which sources the last load read, and which failed, are kept with the rows: a pane built from
a partial load says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from console.store.connection import StoreBase
from console.store.one_step import one_step_rows
from console.store.values import dbstr, dumps
from console.timeutil import normalize_ts, utc_now

__all__ = ["CREDENTIAL_SORTS", "CredentialQuery", "CredentialStore"]

#: Sort keys → ORDER BY (ties broken by kind rank, owner, name, key).
CREDENTIAL_SORTS: Final[dict[str, str]] = {
    "kind": "c.rank",
    "name": "c.name COLLATE NOCASE",
    "owner": "c.owner COLLATE NOCASE",
    "created": "coalesce(c.created_at, '')",
    "last_used": "coalesce(c.last_used_at, '')",
    "expires": "coalesce(c.expires_at, '9999')",
    "flags": "c.urgency * 100 + c.flag_count",
}
_TIE: Final = "c.rank, c.owner COLLATE NOCASE, c.name COLLATE NOCASE, c.key"
_COLUMNS: Final = (
    "key",
    "kind",
    "id",
    "name",
    "owner",
    "owner_type",
    "owner_id",
    "scopes",
    "created_at",
    "last_used_at",
    "expires_at",
    "state",
    "protected",
    "flags",
    "rotate_hint",
    "extra",
    "rank",
    "urgency",
)
OBJECT_TYPE: Final = "credential"


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    """Which credentials to show, in which order."""

    search: str = ""
    kinds: frozenset[str] = frozenset()
    #: rows carrying at least one of these flags
    flags_any: frozenset[str] = frozenset()
    owner_id: int | None = None
    owner_type: str | None = None
    unreviewed: bool = False
    #: rows with at least one urgent flag (``urgency > 0``)
    urgent: bool = False
    #: rows carrying a flag that starts with one of these (cross-link reasons name a user/IP)
    flag_prefixes: frozenset[str] = frozenset()
    #: only these keys (a selection shown as a set, e.g. "everything the user could see")
    keys: frozenset[str] = frozenset()
    sort: str = "kind"
    descending: bool = False


def _text(value: object) -> str:
    return dbstr(value) or "" if value is not None else ""


def _row(incident_id: int, cred: Mapping[str, Any], fetched: str) -> tuple[Any, ...] | None:
    kind, ident = cred.get("kind"), cred.get("id")
    if not kind or ident is None or ident == "":
        return None
    flags = [str(f) for f in cred.get("flags") or () if f]
    scopes = [str(s) for s in cred.get("scopes") or () if s]
    protected = cred.get("protected")
    owner_id = cred.get("owner_id")
    if isinstance(owner_id, bool) or not isinstance(owner_id, int) or abs(owner_id) >= 2**63:
        owner_id = None
    fields = (kind, ident, cred.get("name"), cred.get("owner"), " ".join(scopes), *flags)
    search = " ".join(_text(f).casefold() for f in fields if f is not None)
    return (
        incident_id,
        f"{kind}:{ident}",
        _text(kind),
        _text(ident),
        _text(cred.get("name")),
        _text(cred.get("owner")),
        _text(cred.get("owner_type")),
        owner_id,
        dumps(scopes),
        normalize_ts(cred.get("created_at")),
        normalize_ts(cred.get("last_used_at")),
        normalize_ts(cred.get("expires_at")),
        _text(cred.get("state")),
        None if protected is None else int(bool(protected)),
        f"\x1f{chr(0x1F).join(flags)}\x1f" if flags else "",
        _text(cred.get("rotate_hint")),
        dumps({str(k): str(v) for k, v in (cred.get("extra") or {}).items()}),
        int(cred.get("rank") or 0),
        int(cred.get("urgency") or 0),
        len(flags),
        dbstr(search) or "",
        fetched,
    )


_UPSERT: Final = (
    "INSERT INTO credentials (incident_id, key, kind, id, name, owner, owner_type, owner_id, "
    "scopes, created_at, last_used_at, expires_at, state, protected, flags, rotate_hint, extra, "
    "rank, urgency, flag_count, search_text, fetched_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (incident_id, key) DO UPDATE SET kind = excluded.kind, id = excluded.id, "
    "name = excluded.name, owner = excluded.owner, owner_type = excluded.owner_type, "
    "owner_id = excluded.owner_id, scopes = excluded.scopes, created_at = excluded.created_at, "
    "last_used_at = excluded.last_used_at, expires_at = excluded.expires_at, "
    "state = excluded.state, protected = excluded.protected, flags = excluded.flags, "
    "rotate_hint = excluded.rotate_hint, extra = excluded.extra, rank = excluded.rank, "
    "urgency = excluded.urgency, flag_count = excluded.flag_count, "
    "search_text = excluded.search_text, fetched_at = excluded.fetched_at"
)


class CredentialStore(StoreBase):
    """Stored credentials and the health of the load that produced them."""

    def replace_credentials(
        self,
        incident_id: int,
        rows: Iterable[Mapping[str, Any]],
        *,
        kinds: Iterable[str],
        failed_sources: Sequence[str] = (),
        fetched_at: str | None = None,
    ) -> int:
        """A full load of ``kinds``: rows of those kinds not seen again are dropped.

        Kinds whose source failed (``failed_sources`` names them, for the "partial" label) are
        passed by the caller without their kind in ``kinds``, so their old rows stay visible.
        ``fetched_at`` is when the load ran (default: now).
        """
        fetched = normalize_ts(fetched_at) or utc_now() if fetched_at else utc_now()
        values = [v for v in (_row(incident_id, r, fetched) for r in rows) if v is not None]
        kinds = sorted(set(kinds))
        with self._write() as con:
            if kinds:
                marks = ", ".join("?" * len(kinds))
                con.execute(
                    f"DELETE FROM credentials WHERE incident_id = ? AND kind IN ({marks})",  # noqa: S608
                    [incident_id, *kinds],
                )
            con.executemany(_UPSERT, values)
            con.execute(
                "INSERT INTO cache (incident_id, key, value, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (incident_id, key) DO UPDATE SET value = excluded.value, "
                "fetched_at = excluded.fetched_at",
                (incident_id, "credentials_load", dumps({"failed": list(failed_sources)}), fetched),
            )
        return len(values)

    def upsert_credentials(self, incident_id: int, rows: Iterable[Mapping[str, Any]]) -> int:
        """Refresh some rows (a re-read after an action) without touching the others."""
        fetched = utc_now()
        values = [v for v in (_row(incident_id, r, fetched) for r in rows) if v is not None]
        if values:
            with self._write() as con:
                con.executemany(_UPSERT, values)
        return len(values)

    def delete_credentials(self, incident_id: int, keys: Iterable[str]) -> None:
        """Drop rows a re-read found gone (a revoked token no longer listed)."""
        keys = list(keys)
        if keys:
            with self._write() as con:
                con.executemany(
                    "DELETE FROM credentials WHERE incident_id = ? AND key = ?",
                    [(incident_id, k) for k in keys],
                )

    def credentials_load_failures(self, incident_id: int) -> tuple[list[str], str | None]:
        """Sources the last full load could not read, and when it ran (None: never)."""
        row = (
            self._conn()
            .execute(
                "SELECT value, fetched_at FROM cache WHERE incident_id = ? AND key = ?",
                (incident_id, "credentials_load"),
            )
            .fetchone()
        )
        if row is None:
            return [], None
        failed = json.loads(row[0]).get("failed") or []
        return [str(f) for f in failed], str(row[1])

    def _credential_where(self, incident_id: int, q: CredentialQuery) -> tuple[str, list[Any]]:
        clauses = ["c.incident_id = ?"]
        args: list[Any] = [incident_id]
        if q.search:
            clauses.append("instr(c.search_text, ?) > 0")
            args.append(q.search.casefold())
        if q.kinds:
            clauses.append(f"c.kind IN ({', '.join('?' * len(q.kinds))})")
            args += sorted(q.kinds)
        if q.flags_any:
            flag_tests = " OR ".join("instr(c.flags, ?) > 0" for _ in q.flags_any)
            clauses.append(f"({flag_tests})")
            args += [f"\x1f{f}\x1f" for f in sorted(q.flags_any)]
        if q.urgent:
            clauses.append("c.urgency > 0")
        if q.flag_prefixes:
            prefix_tests = " OR ".join("instr(c.flags, ?) > 0" for _ in q.flag_prefixes)
            clauses.append(f"({prefix_tests})")
            args += [f"\x1f{p}" for p in sorted(q.flag_prefixes)]
        if q.keys:
            clauses.append(f"c.key IN ({', '.join('?' * len(q.keys))})")
            args += sorted(q.keys)
        if q.owner_id is not None:
            clauses.append("c.owner_id = ?")
            args.append(q.owner_id)
        if q.owner_type:
            clauses.append("c.owner_type = ?")
            args.append(q.owner_type)
        if q.unreviewed:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM marks m WHERE m.incident_id = c.incident_id "
                "AND m.object_type = ? AND m.object_id = c.key AND m.mark IS NOT NULL)"
            )
            args.append(OBJECT_TYPE)
        return " WHERE " + " AND ".join(clauses), args

    def count_credentials(self, incident_id: int, q: CredentialQuery | None = None) -> int:
        where, args = self._credential_where(incident_id, q or CredentialQuery())
        sql = f"SELECT count(*) FROM credentials c{where}"  # noqa: S608
        return int(self._conn().execute(sql, args).fetchone()[0])

    def credential_keys(self, incident_id: int, q: CredentialQuery | None = None) -> list[str]:
        """Keys (``kind:id``) of the matching rows in the query's order."""
        q = q or CredentialQuery()
        where, args = self._credential_where(incident_id, q)
        order = CREDENTIAL_SORTS.get(q.sort, CREDENTIAL_SORTS["kind"])
        direction = "DESC" if q.descending else "ASC"
        sql = f"SELECT c.key FROM credentials c{where} ORDER BY {order} {direction}, {_TIE}"  # noqa: S608
        return [r[0] for r in self._conn().execute(sql, args)]

    def credentials_by_keys(self, incident_id: int, keys: Sequence[str]) -> list[dict[str, Any]]:
        """Rows for ``keys`` in the order given, as ``Credential.from_dict`` reads them."""
        found: dict[str, dict[str, Any]] = {}
        cols = ", ".join(f"c.{c}" for c in _COLUMNS)
        con = self._conn()
        for i in range(0, len(keys), 500):  # one step per 500 (the pane reads on its UI thread)
            chunk = list(keys[i : i + 500])
            rest = (
                "FROM credentials c WHERE c.incident_id = ? "
                f"AND c.key IN ({', '.join('?' * len(chunk))})"
            )
            for row in one_step_rows(con, cols, rest, [incident_id, *chunk]):
                record = dict(zip(_COLUMNS, row, strict=True))
                record["scopes"] = json.loads(record["scopes"])
                record["flags"] = [f for f in record["flags"].split("\x1f") if f]
                record["extra"] = json.loads(record["extra"])
                record["protected"] = (
                    None if record["protected"] is None else bool(record["protected"])
                )
                record["id"] = _original_id(record["id"])
                found[record["key"]] = record
        return [found[k] for k in keys if k in found]

    def credential_kind_counts(
        self, incident_id: int, q: CredentialQuery | None = None
    ) -> dict[str, int]:
        """Rows per kind for ``q`` with its kind filter left out (for the filter bar)."""
        q = q or CredentialQuery()
        unkinded = CredentialQuery(
            search=q.search, flags_any=q.flags_any, owner_id=q.owner_id,
            owner_type=q.owner_type, unreviewed=q.unreviewed, urgent=q.urgent,
            flag_prefixes=q.flag_prefixes, keys=q.keys,
        )  # fmt: skip
        where, args = self._credential_where(incident_id, unkinded)
        sql = f"SELECT c.kind, count(*) FROM credentials c{where} GROUP BY c.kind"  # noqa: S608
        return {str(k): int(n) for k, n in self._conn().execute(sql, args)}


def _original_id(text: str) -> int | str:
    """GitLab ids are numbers, variable keys and hook ids sometimes paths: keep what came."""
    return int(text) if text.isdigit() and len(text) < 19 else text
