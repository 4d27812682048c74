"""Row sources: where a pane's ``VirtualTable`` gets its ordered keys and its cells.

``keys(view)`` orders and filters (SQL for users; Python over a list for audit events and
credentials today); ``cells(keys)`` builds the sanitised cells of the rows about to be painted.
The panes only talk to this protocol, so moving events and credentials into SQLite is a new
source class and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from screens.widgets.virtual_table import CellRow, RowKey

if TYPE_CHECKING:
    from console.context import AppContext
    from console.store import UserQuery, UserRow

__all__ = ["ListSource", "RowSource", "SqlUserSource"]

ItemT = TypeVar("ItemT")
ViewT = TypeVar("ViewT")
ViewT_contra = TypeVar("ViewT_contra", contravariant=True)


class RowSource(Protocol[ViewT_contra]):
    """The ordered keys for a view, and the cells for some keys."""

    def keys(self, view: ViewT_contra) -> Sequence[RowKey]:
        """Keys matching ``view``, in display order (SQL sources run it in a worker)."""
        ...

    def cells(self, keys: Sequence[RowKey]) -> Mapping[RowKey, CellRow]:
        """Sanitised cells for ``keys`` (fast: the table calls it while painting)."""
        ...


class ListSource(Generic[ItemT, ViewT]):
    """An in-memory list of records: filtering and sorting in Python, cells cached per key.

    Sanitising is the costly part of a cell, so built cells are kept until :meth:`forget`
    (e.g. a credential's mark changed) or :meth:`replace` (a new load).
    """

    def __init__(
        self,
        key: Callable[[ItemT], RowKey],
        build: Callable[[ItemT], CellRow],
        select: Callable[[Sequence[ItemT], ViewT], list[ItemT]],
    ) -> None:
        self._key = key
        self._build = build
        self._select = select
        self.items: list[ItemT] = []
        self.matched: list[ItemT] = []
        """The records the last :meth:`keys` call matched, in display order."""
        self._by_key: dict[RowKey, ItemT] = {}
        self._cells: dict[RowKey, CellRow] = {}

    def replace(self, items: Sequence[ItemT]) -> None:
        self.items = list(items)
        self._by_key = {self._key(item): item for item in self.items}
        self._cells.clear()

    def item(self, key: RowKey | None) -> ItemT | None:
        return None if key is None else self._by_key.get(key)

    def forget(self, keys: Sequence[RowKey] | None = None) -> None:
        """Drop cached cells (of ``keys``, or all) so they are built again."""
        if keys is None:
            self._cells.clear()
        else:
            for key in keys:
                self._cells.pop(key, None)

    def keys(self, view: ViewT) -> list[RowKey]:
        self.matched = self._select(self.items, view)
        return [self._key(item) for item in self.matched]

    def cells(self, keys: Sequence[RowKey]) -> dict[RowKey, CellRow]:
        out: dict[RowKey, CellRow] = {}
        for key in keys:
            cells = self._cells.get(key)
            if cells is None:
                item = self._by_key.get(key)
                if item is None:
                    continue
                cells = self._cells[key] = self._build(item)
            out[key] = cells
        return out


class UserQueryView(Protocol):
    """A view that can say which users it wants (``UsersView``), as a store query."""

    def query(self) -> UserQuery: ...


class SqlUserSource:
    """The users of one incident in the local store (``Store.user_ids`` / ``users_by_ids``)."""

    def __init__(self, ctx: AppContext, build: Callable[[UserRow], CellRow]) -> None:
        self.ctx = ctx  # the context, not its store: the incident can change under the pane
        self._build = build

    def keys(self, view: UserQueryView) -> list[RowKey]:
        return list(self.ctx.store.user_ids(self.ctx.incident_id, view.query()))

    def cells(self, keys: Sequence[RowKey]) -> dict[RowKey, CellRow]:
        # A primary-key lookup of one page in the local store: sub-millisecond, and the
        # loader's writes never block it (WAL).
        ids = [k for k in keys if isinstance(k, int)]
        rows = self.ctx.store.users_by_ids(self.ctx.incident_id, ids)
        return {row.id: self._build(row) for row in rows}
