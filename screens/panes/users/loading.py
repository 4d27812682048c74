"""Loading users into the store, then risk scoring and sign-in IP enrichment (users pane).

``r`` streams every user into the store (a worker; pages coalesce into one refresh at a time),
``x`` cancels; after a full load risk is scored, then admins' and active users' sign-in IPs are
fetched and risk scored again.  The work itself is in ``jobs.py``; this half of the pane turns
its results into the status line, the title and re-queries.
"""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.widgets import ProgressBar
from textual.worker import Worker, get_current_worker

from console.context import AppContext
from console.problem import Problem
from console.users_load import LoadProgress
from screens.panes.base import RecordPane
from screens.panes.users import jobs, messages
from screens.panes.users.view import UsersView
from screens.widgets.debounce import Debouncer

__all__ = ["LOAD_REFRESH_S", "LoadingMixin"]

#: While pages stream in, the table re-queries at most this often (the first page is shown at
#: once). The title and the progress bar follow every page without a query.
LOAD_REFRESH_S = 1.0
#: ... and at most this share of the time: a re-query of 100,000 ids holds the GIL for tens of
#: milliseconds that the loader's threads would otherwise use (measured: bench/app_users_load).
LOAD_REFRESH_SHARE = 0.05
#: The progress bar follows the pages at most this often, and the count in the title at most
#: every LOAD_TITLE_S: a new border title repaints the whole pane, table included (a frame of
#: tens of milliseconds on the UI thread while the loader's threads want the CPU; measured with
#: bench/app_users_load). The bar has no percentage label: updating it asked for a layout pass.
LOAD_CHROME_S = 0.25
LOAD_TITLE_S = 1.0


class LoadingMixin(RecordPane[UsersView]):
    """The loading half of the users pane (the pane supplies the table, title and status)."""

    _loading: bool
    _loaded_count: int
    _load_total: int | None
    _load_started: float
    _load_worker: Worker[None] | None
    _refresh: Debouncer
    _total: int
    _shown: int
    _enriched: int
    _load_finishing: bool
    last_problem: str | None
    timings: dict[str, float]
    _chrome: Debouncer | None = None
    _chrome_at: float = 0.0
    _title_at: float = 0.0
    _risk_due: bool = False
    _first_rows_asked: bool = False

    def _set_status(self, text: str, *, error: bool = False) -> None:
        raise NotImplementedError

    def _update_title(self) -> None:
        raise NotImplementedError

    def _requery(self, *, with_marks: bool = False, to_top: bool = False) -> None:
        raise NotImplementedError

    def _post_progress_soon(self) -> None:
        raise NotImplementedError

    def action_reload(self) -> None:
        """(Re)load every user from the server into the store."""
        if self._loading:
            return
        self._loading = True
        self._first_rows_asked = False
        self._loaded_count = 0
        self._load_total = None
        self._load_started = time.perf_counter()
        self.timings.pop("first_rows", None)
        self.last_problem = None
        bar = self.query_one("#users-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.table.empty_text = "Loading users…"
        self._set_status("Loading users… x cancels")
        self._update_title()
        self._load_worker = self._load(self.ctx)

    def action_cancel_load(self) -> None:
        if self._load_worker is not None and self._loading:
            self._load_worker.cancel()
            self._set_status("Cancelling…")

    @work(thread=True, exclusive=True, group="users-load", exit_on_error=False)
    def _load(self, ctx: AppContext) -> None:
        worker = get_current_worker()

        def progress(p: LoadProgress) -> None:
            self.post_message(messages.UsersPageArrived(p.loaded, p.total, p.pages, p.done))

        result = jobs.load(ctx, progress, lambda: worker.is_cancelled, self.announce_wait)
        self.post_message(messages.UsersLoaded(result))

    def on_users_pane_users_page_arrived(self, message: messages.UsersPageArrived) -> None:
        message.stop()
        if not self._loading:
            return
        self._loaded_count = message.loaded
        self._load_total = message.total
        # The count and the bar need no query: they follow the page messages, a few times a
        # second (the first at once, the last when its wait ends).
        if self._chrome is None:
            self._chrome = Debouncer(self, LOAD_CHROME_S, self._show_load_progress)
        since = time.monotonic() - self._chrome_at
        if since >= LOAD_CHROME_S:
            self._chrome.cancel()
            self._show_load_progress()
        elif not self._chrome.pending:
            self._chrome.call(LOAD_CHROME_S - since)
        if not self._shown and not self._first_rows_asked:
            # First rows as soon as they exist: the first page's query goes now.
            self._first_rows_asked = True
            self._refresh.cancel()
            self._timed_refresh()
        elif not self._refresh.pending:
            # After that new users still land anywhere in the order (slices read every id
            # range at once), so the ids are re-queried, but seldom: the interval grows with
            # the query's own time.
            query = self.timings.get("query", 0.0)
            delay = 0.01 if not self._shown else max(LOAD_REFRESH_S, query / LOAD_REFRESH_SHARE)
            self._refresh.call(delay)

    def _show_load_progress(self) -> None:
        """The loaded count in the title and the progress bar, from the latest page message."""
        now = self._chrome_at = time.monotonic()
        if not self._loading:
            return
        self.query_one("#users-progress", ProgressBar).update(
            total=self._load_total, progress=self._loaded_count
        )
        if now - self._title_at >= LOAD_TITLE_S:
            self._title_at = now
            self._update_title()
        elif self._chrome is not None and not self._chrome.pending:
            self._chrome.call(LOAD_TITLE_S - (now - self._title_at))  # the last count shows

    def _timed_refresh(self) -> None:
        self._requery()
        self._post_progress_soon()  # the header's "reviewed x/total" grows with the load

    def on_users_pane_users_loaded(self, message: messages.UsersLoaded) -> None:
        message.stop()
        result = message.result
        self._loading = False
        self._load_worker = None
        self.timings["load"] = time.perf_counter() - self._load_started
        self.query_one("#users-progress", ProgressBar).display = False
        self._refresh.cancel()
        if self._chrome is not None:
            self._chrome.cancel()
        if result.problem is not None:
            self.last_problem = jobs.problem_line(result.problem)
            self._set_status(f"Load stopped: {self.last_problem}  (r retries)", error=True)
        elif result.cancelled:
            self._set_status(f"Load cancelled after {result.loaded:,} users (r reloads)")
        else:
            self._set_status(
                f"Loaded {result.loaded:,} users in {result.seconds:.1f}s; computing risk…"
            )
            self._risk_due = True
        self._load_finishing = True
        self._requery()
        self._post_progress_soon()

    def _load_shown(self) -> None:
        """The query after the load answered and the list shows it: only now risk scoring and
        (through ``UsersLoadShown``) the other panes' first fetch start, so that query does not
        compete with them for the CPU (the responder waits for it)."""
        self._load_finishing = False
        if self._risk_due:
            self._risk_due = False
            self._risk_worker(self.ctx)
        self.post_message(messages.UsersLoadShown(self._total))

    def worker_failed(self, worker: Worker[Any], problem: Problem) -> None:
        """A worker raised (a store failure): say so on the status line and in the box."""
        self.last_problem = jobs.problem_line(problem)
        self._set_status(self.last_problem, error=True)
        super().worker_failed(worker, problem)

    # ------------------------------------------------------------------ risk and enrichment

    @work(thread=True, exclusive=True, group="users-risk", exit_on_error=False)
    def _risk_worker(self, ctx: AppContext) -> None:
        worker = get_current_worker()
        problem, failed = jobs.score_risk(ctx, lambda: worker.is_cancelled)
        if not worker.is_cancelled:  # superseded: the newer scoring reports
            self.post_message(messages.RiskComputed(problem, failed))

    def on_users_pane_risk_computed(self, message: messages.RiskComputed) -> None:
        message.stop()
        if message.failed:
            self.last_problem = message.problem
            self._set_status(f"Risk signals unavailable: {message.problem}", error=True)
        elif message.problem:
            self.last_problem = message.problem
            self._set_status(f"Risk computed ({message.problem}); fetching sign-in IPs…")
        elif message.final:
            self._set_status(
                f"{self._total:,} users loaded; risk rescored with "
                f"{self._enriched:,} admins'/active users' sign-in IPs"
            )
        else:
            self._set_status("Risk computed; fetching sign-in IPs for admins and active users…")
        self.table.invalidate()
        self._show_detail(self.table.cursor_key)
        if self.view.sort == "risk":
            self._requery()
        if not message.final:
            self._enrich_worker(self.ctx)

    @work(thread=True, exclusive=True, group="users-enrich", exit_on_error=False)
    def _enrich_worker(self, ctx: AppContext) -> None:
        worker = get_current_worker()
        self.post_message(messages.UsersEnriched(jobs.enrich(ctx, lambda: worker.is_cancelled)))

    def on_users_pane_users_enriched(self, message: messages.UsersEnriched) -> None:
        message.stop()
        result = message.result
        self._enriched = result.enriched
        if result.problem is not None:
            line = jobs.problem_line(result.problem)
            self._set_status(f"Sign-in IPs incomplete: {line}", error=True)
        self.table.invalidate()
        if self._enriched:
            self._rescore_worker(self.ctx)  # IP signals need the IPs just fetched

    def rescore(self) -> None:
        """Recompute risk from what the store holds now (e.g. audit events just arrived).

        While a load runs, nothing happens: scoring follows every completed load anyway.
        """
        if self._total and not self._loading:
            self._rescore_worker(self.ctx)

    @work(thread=True, exclusive=True, group="users-risk", exit_on_error=False)
    def _rescore_worker(self, ctx: AppContext) -> None:
        # exclusive: a newer rescore cancels this one, which then stops at its next batch
        worker = get_current_worker()
        problem = jobs.rescore(ctx, lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.post_message(messages.RiskComputed(problem, problem is not None, final=True))
