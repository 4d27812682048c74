"""A pane's first fetch from GitLab, held back while the users load runs.

At start-up the responder waits for one thing: the users list. The audit and credentials panes
used to start their first network fetch beside it, on the same cores, the same GIL and the same
store writer, and the users load took 1.5x as long (``bench/README.md``, "Where the app's time
went"). Their cached rows still show at once; only the fetch from GitLab waits, until the users
load has ended and the list shows it (``UsersLoadShown``, after ``UsersLoaded`` whatever its
outcome; ``UsersCacheShown`` when the users came from the cache and no load started) or until
the responder opens the pane, whichever comes first.

The main screen decides (it knows which pane shows and when the users load ends): a pane asks
it through :class:`FirstFetchGate` and is released by :meth:`HeldFirstFetch.release_first_fetch`.
A pane on any other screen (a test app, a pane on its own) fetches at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from textual.dom import NoScreen
from textual.widget import Widget

__all__ = ["FirstFetchGate", "FirstFetchHold", "HeldFirstFetch"]


@runtime_checkable
class FirstFetchGate(Protocol):
    """A screen that may hold a pane's first fetch back (the main screen)."""

    def first_fetch_may_start(self, pane: HeldFirstFetch) -> bool:
        """True: fetch now. False: the pane waits for ``release_first_fetch``."""
        ...


class HeldFirstFetch:
    """Mixed into :class:`~screens.panes.base.RecordPane`: ``fetch_first`` instead of
    ``action_reload`` where a pane would fetch by itself (not on a key)."""

    _first_fetch_waiting: bool = False

    if TYPE_CHECKING:  # provided by the pane

        def action_reload(self) -> None: ...

    @property
    def first_fetch_waiting(self) -> bool:
        """The pane wanted to fetch and its screen holds it back."""
        return self._first_fetch_waiting

    def fetch_first(self) -> None:
        """Fetch from GitLab now, or once the screen releases the pane."""
        try:
            gate = cast("Widget", self).screen
        except NoScreen:  # not on a screen (yet): nothing to wait for
            gate = None
        if isinstance(gate, FirstFetchGate) and not gate.first_fetch_may_start(self):
            self._first_fetch_waiting = True
            return
        self._first_fetch_waiting = False
        self.action_reload()

    def release_first_fetch(self) -> None:
        """The screen lets the held fetch start (the users load ended, or the pane opened)."""
        if self._first_fetch_waiting:
            self._first_fetch_waiting = False
            self.action_reload()


class FirstFetchHold:
    """The main screen's bookkeeping: which panes wait, which were opened, whether the users
    load has ended."""

    def __init__(self) -> None:
        self.users_settled = False
        self._opened: set[str] = set()
        self._waiting: dict[str, HeldFirstFetch] = {}

    def may_start(self, key: str | None, pane: HeldFirstFetch) -> bool:
        """``key``: the pane's name on the screen (None: not one of its panes, never held)."""
        if key is None or self.users_settled or key in self._opened:
            return True
        self._waiting[key] = pane
        return False

    def opened(self, key: str) -> None:
        """The responder opened the pane ``key``: its fetch starts now."""
        self._opened.add(key)
        pane = self._waiting.pop(key, None)
        if pane is not None:
            pane.release_first_fetch()

    def settle(self) -> None:
        """The users load ended (or none was needed): every held pane fetches."""
        self.users_settled = True
        waiting, self._waiting = self._waiting, {}
        for pane in waiting.values():
            pane.release_first_fetch()

    @property
    def waiting(self) -> tuple[str, ...]:
        """The panes held back now (tests and the bench read it)."""
        return tuple(self._waiting)
