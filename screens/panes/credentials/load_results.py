"""What the credentials pane does with what its workers bring: the store's rows and marks, each
query's keys, the inventory load's progress and result, the key sweep, and the cross-links.

The workers themselves are in ``loading.py``; ``r`` (reload), ``x`` (cancel) and ``K`` (key
sweep) start and stop them here. Titles carry only the console's own words and numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on

from console.inventory import SourceProblem
from console.inventory.keys import KeySweepProgress
from console.store import Mark
from screens.panes.credentials import messages as m
from screens.panes.credentials.loading import CredentialsJobs

__all__ = ["LoadResults"]


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    return f"~{int(seconds // 60)} min left" if seconds >= 90 else f"~{int(seconds)} s left"


class LoadResults(CredentialsJobs):
    """Load, query and sweep results of the credentials pane (which supplies the fields)."""

    marks: dict[str, Mark]
    failed_sources: list[str]
    problems: list[SourceProblem]
    fetched_at: str | None
    from_cache: bool
    total: int
    reviewed: int
    sweeping: bool
    sweep_status: str
    crosslinked: int

    if TYPE_CHECKING:  # provided by the pane and the worksheet; never defined here

        def recompute_crosslinks(self) -> None: ...
        def reselect(self) -> None: ...

    @on(m.StoreRead)
    def _store_read(self, message: m.StoreRead) -> None:
        self.marks.clear()
        self.marks.update(message.marks)
        self.total = message.total
        self.failed_sources = message.failed_sources
        self.fetched_at = message.fetched_at
        self.from_cache = True
        if message.total:
            self.refresh_rows()
            self.recompute_crosslinks()

    def refresh_rows(self) -> None:
        if self.is_mounted:
            self._query()

    @on(m.CredentialsQueried)
    def _queried(self, message: m.CredentialsQueried) -> None:
        if not self.query_answered() or message.generation != self._generation:
            return
        self.total, self.reviewed = message.total, message.reviewed
        self.show_keys(message.keys)
        self.reselect()

    def action_reload(self) -> None:
        """Rebuild the inventory from GitLab (replaces any running load)."""
        self.loading = True
        self.set_title("loading…")
        self._fetch(self.window())

    def action_cancel_load(self) -> None:
        """Stop the running load or key sweep; what arrived so far stays."""
        if self.loading:
            self.workers.cancel_group(self, "cred-load")
            self.set_title("cancelling…")
        if self.sweeping:
            self.workers.cancel_group(self, "cred-keys")
            self.sweep_status = "key sweep cancelling…"
            self.set_title(None)

    @on(m.LoadProgressed)
    def _progressed(self, message: m.LoadProgressed) -> None:
        p = message.progress
        of = f"/{p.total}" if p.total else ""
        # Only our own words and numbers: the source names are fixed strings in inventory.
        self.set_title(f"loading {p.source} {p.done}{of}, {p.rows} rows (x cancels)")

    @on(m.InventoryStored)
    def _stored(self, message: m.InventoryStored) -> None:
        self.loading = False
        self.from_cache = False
        self.failed_sources = message.failed_sources
        self.fetched_at = message.fetched_at
        self.problems = list(message.problems)
        self.problem_box.show_sources([(sp.source, sp.problem) for sp in message.problems])
        self.rows_source.forget()
        self.refresh_rows()

    def action_sweep_keys(self) -> None:
        """Fetch every user's SSH and GPG keys (admins and flagged users first; resumable)."""
        if self.sweeping:
            self.notify("The key sweep is running: x cancels it.", markup=False)
            return
        self.sweeping = True
        self.sweep_status = "keys: starting (x cancels)"
        self.set_title(None)
        self._sweep_keys(self.window())

    @on(m.KeysSwept)
    def _keys_swept(self, message: m.KeysSwept) -> None:
        p: KeySweepProgress = message.progress
        self.sweep_status = (
            f"keys {p.users_done:,}/{p.users:,} users, {p.keys:,} keys, "
            f"{_eta(p.eta_seconds)} (x cancels)"
        )
        self.set_title(None)
        self.rows_source.forget()
        self.refresh_rows()

    @on(m.KeySweepFinished)
    def _keys_done(self, message: m.KeySweepFinished) -> None:
        r = message.result
        self.sweeping = False
        if r.problem is not None:
            self.problem_box.show_problem(r.problem)
        state = "stopped (K resumes)" if r.cancelled or r.problem else "done"
        self.sweep_status = f"keys {r.users_done:,}/{r.users:,} users {state}"
        self.rows_source.forget()
        self.refresh_rows()

    @on(m.CrosslinksMerged)
    def _crosslinked(self, message: m.CrosslinksMerged) -> None:
        self.crosslinked = message.flagged
        self.rows_source.forget()
        self.refresh_rows()

    def worker_failed(self, worker: Any, problem: Any) -> None:
        if worker.group == "cred-query":
            self._querying = self._query_again = False
        if worker.group == "cred-keys":
            self.sweeping = False
            self.sweep_status = "key sweep failed (K resumes)"
        super().worker_failed(worker, problem)
