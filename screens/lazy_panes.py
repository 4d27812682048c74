"""The main screen's panes, built when they are first needed.

Only the pane that shows at start is composed with the screen; its first rows are what the
responder waits for. The others (their modules, widgets and first queries) are built one at a
time right after the active pane has shown its first rows (``PaneRowsShown``), after the users
list has shown its load, or after ``BUILD_FALLBACK`` seconds, whichever comes first; and at
once, on demand, when something asks for one earlier (a pane key, Tab, a ``:`` command, a saved
view resuming on it, a link from another pane).

A pane built later gets what it would have had at start: the saved view (``ResumeMixin``), the
offline mark, and the cross-links between the users' marks and the credentials. Mixed into
:class:`screens.main.MainScreen`, which provides the factories, ``ctx`` and the slots (an empty
``Vertical`` per pane in the ``ContentSwitcher``, ``#pane-{key}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widget import AwaitMount, Widget

    from console.context import AppContext

__all__ = ["BUILD_FALLBACK", "LazyPanes"]

BUILD_FALLBACK = 3.0
"""Seconds after the screen mounted when the other panes are built even if no rows showed."""


class LazyPanes:
    """Building panes on demand and in the background, for :class:`screens.main.MainScreen`."""

    ctx: AppContext
    _factories: dict[str, Callable[[AppContext], Widget]]
    _panes: dict[str, Widget]

    if TYPE_CHECKING:  # provided by MainScreen or its other mixins

        def pane_built(self, key: str, pane: Widget) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mounting: dict[str, AwaitMount] = {}
        self._rest_started = False

    def _lazy_screen(self) -> Screen[Any]:
        return cast("Screen[Any]", self)

    def build_pane(self, key: str) -> Widget | None:
        """The pane ``key``, built now if it was not (its mount may still be running; await
        :meth:`ready_pane` to call into it). None: no such pane."""
        pane = self._panes.get(key)
        if pane is not None or key not in self._factories:
            return pane
        pane = self._factories[key](self.ctx)
        self._panes[key] = pane
        screen = self._lazy_screen()
        self._mounting[key] = screen.query_one(f"#pane-{key}").mount(pane)
        screen.call_later(self._pane_mounted, key)
        return pane

    async def ready_pane(self, key: str) -> Widget | None:
        """The pane ``key``, built and mounted (None: no such pane)."""
        pane = self.build_pane(key)
        await self._pane_mounted(key)
        return pane

    def mounted_panes(self) -> dict[str, Widget]:
        """The panes built and mounted so far (a pane not yet built reads the store when it is)."""
        return {k: p for k, p in self._panes.items() if k not in self._mounting}

    async def _pane_mounted(self, key: str) -> None:
        mounting = self._mounting.get(key)
        if mounting is None:
            return
        await mounting
        if self._mounting.pop(key, None) is not None:  # whoever awaited first finishes it
            self.pane_built(key, self._panes[key])

    # -- the panes not shown, built after the first rows ------------------------------------
    def build_rest_soon(self) -> None:
        """The active pane has shown rows (or waiting for them ran out): build the others, one
        per refresh, so the frame with the rows is painted first."""
        if not self._rest_started:
            self._rest_started = True
            self._lazy_screen().call_after_refresh(self._build_next)

    def _build_next(self) -> None:
        screen = self._lazy_screen()
        if _quitting(screen):  # a pane mounting while the app closes would find no children
            return
        key = next((k for k in self._factories if k not in self._panes), None)
        if key is not None:
            self.build_pane(key)
            self._lazy_screen().call_after_refresh(self._build_next)


def _quitting(screen: Screen[Any]) -> bool:
    """The app is exiting or the screen closing (Textual keeps both flags private: absent
    means "not known to be quitting")."""
    app = screen.app
    return any(
        getattr(node, flag, False) for node in (app, screen) for flag in ("_exit", "_closing")
    )
