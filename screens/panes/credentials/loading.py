"""The credentials pane's workers: every one reads or writes the store off the UI thread.

* the view's query (exclusive: a newer keystroke cancels the older query);
* the inventory load from GitLab into the store (``x`` cancels; failed kinds keep old rows);
* the SSH/GPG key sweep of every user (``K``; ``x`` cancels; resumable, with an estimate);
* cross-link reasons merged into the rows after a load and when a user's review mark changes;
* everything a user could see (from the dossier), selected as rows.

Each reports a typed message (``messages``); failures reach the pane's one worker handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from textual import work
from textual.worker import get_current_worker

from console.audit import incident_window
from console.inventory import Inventory, InventoryProgress, SourceProblem, fetch_inventory
from console.inventory.keys import KeySweepProgress, sweep_keys_blocking
from console.inventory.store_load import merge_crosslinks, store_inventory
from console.store import CredentialQuery
from screens.panes.base import RecordPane
from screens.panes.credentials import messages as m
from screens.panes.credentials.model import CACHE_KEY, OBJECT_TYPE, CredentialsView
from screens.panes.credentials.source import SqlCredentialSource
from screens.panes.credentials.worksheet import SHEET_CACHE, items_of

__all__ = ["CredentialsJobs"]


class CredentialsJobs(RecordPane[CredentialsView]):
    """The workers of :class:`~screens.panes.credentials.pane.CredentialsPane`."""

    rows_source: SqlCredentialSource
    _generation: int = 0
    _querying: bool = False
    _query_again: bool = False

    def window(self) -> tuple[datetime, datetime]:
        inc = self.ctx.incident
        return incident_window(inc.window_start, inc.window_end)

    @work(thread=True, group="cred-cache", exit_on_error=False)
    def _read_store(self) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        marks = {str(k): v for k, v in store.marks(incident_id, OBJECT_TYPE).items()}
        failed, fetched_at = store.credentials_load_failures(incident_id)
        total = store.count_credentials(incident_id)
        sheet = store.cache_get(incident_id, SHEET_CACHE)
        items = items_of(sheet[0]) if sheet else []
        self.post_message(m.WorksheetRead([(i.key, i.label, i.outcome) for i in items]))
        self.post_message(m.StoreRead(marks, total, failed, fetched_at))
        if fetched_at is None and total == 0:
            self.post_message(self.CacheMissed())

    def _query(self) -> None:
        """One query at a time: keys typed meanwhile ask once more for the newest view."""
        self._generation += 1
        if self._querying:
            self._query_again = True
            return
        self._querying = True
        self._query_worker(self.view, self._generation)

    def query_answered(self) -> bool:
        """A query's answer arrived; False when a newer view was asked meanwhile (re-queried)."""
        self._querying = False
        if self._query_again:
            self._query_again = False
            self._query()
            return False
        return True

    @work(thread=True, group="cred-query", exit_on_error=False)
    def _query_worker(self, view: CredentialsView, generation: int) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        keys = [str(k) for k in self.rows_source.keys(view)]
        total = store.count_credentials(incident_id)
        reviewed = total - store.count_credentials(incident_id, CredentialQuery(unreviewed=True))
        self.post_message(m.CredentialsQueried(keys, total, reviewed, generation))

    # -- the inventory from GitLab ---------------------------------------------------------
    @work(thread=True, exclusive=True, group="cred-load", exit_on_error=False)
    def _fetch(self, window: tuple[datetime, datetime]) -> None:
        worker = get_current_worker()
        cov = self.ctx.coverage
        is_admin = cov.is_admin if cov is not None else None

        def progressed(p: InventoryProgress) -> None:
            self.post_message(m.LoadProgressed(p))

        inv = fetch_inventory(
            self.ctx.gitlab(), window, on_progress=progressed,
            cancelled=lambda: worker.is_cancelled, is_admin=is_admin,
            on_wait=lambda wait: self.announce_wait(wait.seconds, wait.reason),
            user_lookup=self._lookup_users,
        )  # fmt: skip
        store, incident_id = self.ctx.store, self.ctx.incident_id
        store_inventory(store, incident_id, inv)
        try:
            self._cache_summary(inv)
        except Exception as exc:  # the rows are in the store: say what failed, show them
            from console.errors import describe_error

            inv.problems.append(SourceProblem("local cache", describe_error(exc)))
        failed, fetched_at = store.credentials_load_failures(incident_id)
        self.post_message(m.InventoryStored(list(inv.problems), failed, fetched_at, inv.complete))
        self._merge_crosslinks()

    def _cache_summary(self, inv: Inventory) -> None:
        """The runbook and the blind-spot report read the last load from the cache."""
        self.ctx.store.cache_put(
            self.ctx.incident_id,
            CACHE_KEY,
            {
                "rows": [r.to_dict() for r in inv.rows],
                "complete": inv.complete,
                "problems": [
                    {"source": p.source, "status": p.problem.status} for p in inv.problems
                ],
            },
        )

    def _lookup_users(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Owner names and kinds from the users cache (runs in the worker thread)."""
        rows = self.ctx.store.users_by_ids(self.ctx.incident_id, list(ids))
        return {
            r.id: {
                "username": r.username,
                "user_type": r.user_type or r.kind,
                "bot": r.kind == "bot",
            }
            for r in rows
        }

    # -- SSH and GPG keys of every user ----------------------------------------------------
    @work(thread=True, exclusive=True, group="cred-keys", exit_on_error=False)
    def _sweep_keys(self, window: tuple[datetime, datetime]) -> None:
        worker = get_current_worker()
        conn = self.ctx.connection

        def swept(p: KeySweepProgress) -> None:
            self.post_message(m.KeysSwept(p))

        result = sweep_keys_blocking(
            conn.config, conn.token, self.ctx.store, self.ctx.incident_id, window=window,
            on_progress=swept,
            cancelled=lambda: worker.is_cancelled,
            on_wait=self.announce_wait,
        )  # fmt: skip
        self.post_message(m.KeySweepFinished(result))
        if result.keys:
            self._merge_crosslinks()

    # -- cross-links -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="cred-xlink", exit_on_error=False)
    def _crosslink_worker(self) -> None:
        self._merge_crosslinks()

    def _merge_crosslinks(self) -> None:
        worker = get_current_worker()
        flagged = merge_crosslinks(
            self.ctx.store, self.ctx.incident_id, cancelled=lambda: worker.is_cancelled
        )
        self.post_message(m.CrosslinksMerged(flagged))

    # -- everything a user could see -------------------------------------------------------
    @work(thread=True, exclusive=True, group="cred-exposure", exit_on_error=False)
    def _exposure_worker(self, user_id: int, username: str) -> None:
        from actions.exposure import could_see
        from screens.panes.credentials.exposure import store_exposure

        exposed = could_see(self.ctx.gitlab(), user_id)
        keys, added = store_exposure(self.ctx.store, self.ctx.incident_id, exposed, username)
        self.post_message(m.ExposureFound(username, keys, added))
