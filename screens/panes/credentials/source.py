"""The credentials of one incident in the local store, as the pane's row source.

``keys(view)`` runs the view's query in SQL (the pane calls it from a worker, so typing never
waits); ``cells(keys)`` reads only the rows about to be painted. Built rows are kept for the
keys on screen only, so 10,000 rows or a million cost the same memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from console.context import AppContext
from console.inventory import Credential
from screens.panes.credentials.model import CredentialsView
from screens.widgets.virtual_table import CellRow, RowKey

__all__ = ["SqlCredentialSource"]

_KEEP = 400  # rows kept built: a few screens' worth


class SqlCredentialSource:
    """``Store.credential_keys`` / ``credentials_by_keys`` behind the ``RowSource`` protocol."""

    def __init__(self, ctx: AppContext, build: Callable[[Credential], CellRow]) -> None:
        self.ctx = ctx  # the context, not its store: the incident can change under the pane
        self._build = build
        self._rows: OrderedDict[str, Credential] = OrderedDict()
        self._cells: dict[str, CellRow] = {}

    @property
    def held(self) -> int:
        return len(self._rows)

    def keys(self, view: CredentialsView) -> list[RowKey]:
        """Matching keys in display order (blocking SQL: call from a worker)."""
        return list(self.ctx.store.credential_keys(self.ctx.incident_id, view.query()))

    def count(self, view: CredentialsView) -> int:
        return self.ctx.store.count_credentials(self.ctx.incident_id, view.query())

    def _fetch(self, keys: Sequence[str]) -> None:
        missing = [k for k in keys if k not in self._rows]
        if missing:
            for rec in self.ctx.store.credentials_by_keys(self.ctx.incident_id, missing):
                self._rows[str(rec["key"])] = Credential.from_dict(rec)
        for k in keys:
            if k in self._rows:
                self._rows.move_to_end(k)
        while len(self._rows) > max(_KEEP, len(keys)):
            old, _ = self._rows.popitem(last=False)
            self._cells.pop(old, None)

    def item(self, key: RowKey | None) -> Credential | None:
        if not isinstance(key, str):
            return None
        self._fetch([key])
        return self._rows.get(key)

    def items(self, keys: Sequence[RowKey]) -> list[Credential]:
        wanted = [k for k in keys if isinstance(k, str)]
        found = {
            str(r["key"]): Credential.from_dict(r)
            for r in self.ctx.store.credentials_by_keys(self.ctx.incident_id, wanted)
        }
        return [found[k] for k in wanted if k in found]

    def forget(self, keys: Sequence[RowKey] | None = None) -> None:
        """Drop built rows (of ``keys``, or all): the store changed under them."""
        if keys is None:
            self._rows.clear()
            self._cells.clear()
            return
        for key in keys:
            if isinstance(key, str):
                self._rows.pop(key, None)
                self._cells.pop(key, None)

    def cells(self, keys: Sequence[RowKey]) -> dict[RowKey, CellRow]:
        wanted = [k for k in keys if isinstance(k, str)]
        self._fetch(wanted)
        out: dict[RowKey, CellRow] = {}
        for key in wanted:
            cells = self._cells.get(key)
            if cells is None:
                row = self._rows.get(key)
                if row is None:
                    continue
                cells = self._cells[key] = self._build(row)
            out[key] = cells
        return out
