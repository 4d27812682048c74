"""One key at a time: every key reaches the widget the responder addressed, in order.

Textual hands each key to whatever has focus *when the app reads it*, but focus changes
(``Widget.focus``), pane switches and new screens take effect a few messages later.  Keys that
arrive together (a paste, a laggy SSH packet, fast typing while a screen mounts) were therefore
all delivered to the old target: ``/`` then ``alice`` in one write opened the search box while
``a``, ``l``… went to the table as commands, and ``a`` opened the actions menu.

:class:`KeyGate` serialises input at the app: a key is dispatched, then the next one waits until
the first has been handled and what it caused (focus moves, screen pushes) has settled; only then
is the next key dispatched, to whatever has focus now.  Two more rules:

* **Start-up typeahead is kept**: while a screen says it is not ready (``typeahead() == "hold"``:
  the "connecting…" screen, the main screen before its state is restored) keys wait in the queue.
* **A dialog never acts on keys sent before it appeared**: for every screen except those that
  accept typeahead (the main screen), a key whose *burst* (keys less than ``BURST_GAP`` apart)
  began before the screen was shown is dropped, and the responder is told.
* **No burst opens or confirms an action**: a key bound to one of the app's
  ``GUARDED_ACTIONS`` (the actions menu, Contain, undo, a confirmation's yes or enter…) counts
  only when it arrives on its own: it waits ``BURST_GAP``, and if it came with other keys
  (before or after it) it is dropped and the responder told. A paste of ``a`` then ``y`` or
  enter, or of ``!``, opens nothing; a person pressing the key opens it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable
from weakref import WeakKeyDictionary

from textual import events

# Textual stamps every message with this clock (monotonic on POSIX); screen times must match it.
from textual._time import get_time
from textual.app import App, ReturnType
from textual.widgets import Input

from screens.pump_probe import probe, quiet

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.message_pump import MessagePump
    from textual.screen import Screen
    from textual.widget import Widget

__all__ = ["BURST_GAP", "SETTLE_LIMIT", "GatedApp", "KeyGate", "Typeahead"]

Typeahead = Literal["hold", "accept", "drop"]
#: Keys that work even while :meth:`GatedApp.refuses_keys` (quitting must always be possible).
_ALWAYS_ALLOWED = frozenset({"ctrl+q"})
Typed = events.Key | events.Paste

BURST_GAP = 0.010
"""Seconds: keys closer than this came in one read (paste, SSH packet); a human is slower."""
SETTLE_LIMIT = 2.0
"""Seconds a key may take to settle before the next one is dispatched anyway."""
PROBE_TIMEOUT = 0.5
"""Seconds one widget may stay busy (a handler awaiting something) before the gate moves on."""
HOLD_LIMIT = 30.0
"""Seconds keys are held for a screen that never becomes ready; then they are dropped."""
# Keys that must work at once whatever is queued: quitting.
_BYPASS = frozenset({"ctrl+q", "ctrl+c"})


@runtime_checkable
class TakesTypeahead(Protocol):
    """A screen that says what to do with keys sent before it was ready."""

    def typeahead(self) -> str: ...


def typeahead_of(screen: Screen[object]) -> Typeahead:
    """What ``screen`` wants done with keys sent before it was ready (default: drop them)."""
    value = screen.typeahead() if isinstance(screen, TakesTypeahead) else "drop"
    if value == "hold":
        return "hold"
    return "accept" if value == "accept" else "drop"


class KeyGate:
    """Serialises key and paste events for one app; see the module docstring."""

    def __init__(self, app: App[Any], openers: frozenset[str] = frozenset()) -> None:
        """``openers``: the binding actions that no burst may trigger (``GUARDED_ACTIONS``)."""
        self.app = app
        self._queue: deque[tuple[Typed, float]] = deque()
        self._released: set[int] = set()
        self._arrived: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._shown: WeakKeyDictionary[Screen[object], float] = WeakKeyDictionary()
        self._last_arrival = -1.0
        self._burst_start = -1.0
        self._burst_sizes: dict[float, int] = {}
        self._openers = openers
        self._closed = False
        self.dropped = 0
        """Keys dropped because they were sent before the dialog they reached (tests read it)."""

    # -- bookkeeping the app feeds in -------------------------------------------------------
    def screen_shown(self, screen: Screen[object]) -> None:
        """``screen`` just became the active screen (push, switch or pop)."""
        self._shown[screen] = get_time()

    def close(self) -> None:
        """The app is exiting: drop whatever is queued and stop."""
        self._closed = True
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def busy(self) -> bool:
        """A key is settling or waiting."""
        return self._task is not None

    # -- the app's on_event calls these ----------------------------------------------------
    def bubbled(self, event: events.Event) -> None:
        """A forwarded key came back up to the app: its bindings are about to run."""
        if isinstance(event, (events.Key, events.Paste)):
            if len(self._arrived) > 256:  # keys nobody waited for; ids get reused
                self._arrived.clear()
            self._arrived.add(id(event))

    def intercept(self, event: events.Event) -> bool:
        """Called for each key or paste the driver delivers.  True: the gate took it (queued);
        False: the app dispatches it now, and must then call :meth:`dispatched`."""
        if self._closed or not isinstance(event, (events.Key, events.Paste)):
            return False
        if id(event) in self._released:
            self._released.discard(id(event))
            return False
        burst = self._burst_of(event)
        if isinstance(event, events.Key) and event.key in _BYPASS:
            return False
        _cooked_enter(event)
        if self._task is None and self._opens_action(event):
            self._queue.append((event, burst))  # it must wait to show it came on its own
            self._task = asyncio.create_task(self._run(None))
            return True
        if self._task is None and typeahead_of(self.app.screen) != "hold":
            if self._stale(event, burst):
                self._drop(1)
                return True
            return False
        self._queue.append((event, burst))
        if self._task is None:
            self._task = asyncio.create_task(self._run(None))
        return True

    def dispatched(self, event: events.Event) -> None:
        """The app just dispatched ``event`` itself: hold later keys until it has settled."""
        if self._closed or not isinstance(event, (events.Key, events.Paste)):
            return
        if isinstance(event, events.Key) and event.key in _BYPASS:
            return
        if self._task is None and not self._typed_into_input(event):
            self._task = asyncio.create_task(self._run(event))

    # -- the pump ---------------------------------------------------------------------------
    def _burst_of(self, event: Typed) -> float:
        """When the burst ``event`` belongs to began (its own time if it starts one)."""
        if event.time - self._last_arrival > BURST_GAP:
            self._burst_start = event.time
            if len(self._burst_sizes) > 64:  # only recent bursts are ever asked about
                self._burst_sizes.clear()
        self._last_arrival = max(self._last_arrival, event.time)
        self._burst_sizes[self._burst_start] = self._burst_sizes.get(self._burst_start, 0) + 1
        return self._burst_start

    def _stale(self, event: Typed, burst_start: float) -> bool:
        screen = self.app.screen
        if typeahead_of(screen) == "accept":
            return False
        shown = self._shown.get(screen)
        return shown is not None and burst_start < shown

    def _drop(self, count: int) -> None:
        self.dropped += count
        self.app.notify(
            f"Ignored {count} key{'s' if count != 1 else ''} sent before this dialog appeared.",
            markup=False,
            timeout=4,
        )

    async def _run(self, first: Typed | None) -> None:
        dropped = 0
        try:
            if first is not None:
                await self._settle(first)
            held_since: float | None = None
            while self._queue and not self._closed:
                if typeahead_of(self.app.screen) == "hold":
                    held_since = held_since or get_time()
                    if get_time() - held_since < HOLD_LIMIT:
                        await asyncio.sleep(0.02)
                        continue
                    self._queue.clear()
                    break
                held_since = None
                event, burst = self._queue.popleft()
                if self._stale(event, burst):
                    dropped += 1
                    continue
                if dropped:
                    self._drop(dropped)
                    dropped = 0
                if self._opens_action(event) and not await self._alone(event, burst):
                    self._refuse_action(event)
                    continue
                self._released.add(id(event))
                typed = self._typed_into_input(event)
                self.app.post_message(event)
                if not typed:
                    await self._settle(event)
        finally:
            self._task = None
            if dropped and not self._closed:
                self._drop(dropped)

    def _opens_action(self, event: Typed) -> bool:
        """``event`` is a key bound, where it would land now, to one of the app's
        ``GUARDED_ACTIONS`` (text typed into a box is never one)."""
        if not self._openers or not isinstance(event, events.Key):
            return False
        if self._typed_into_input(event):
            return False
        focused = self.app.screen.focused
        chain = _bindings_for(focused if focused is not None else self.app.screen)
        for key, binding in chain:
            if key == event.key:
                return _action_name(binding.action) in self._openers
        return False

    async def _alone(self, event: Typed, burst: float) -> bool:
        """Whether ``event`` arrived on its own: no key shortly before it (it began its burst)
        and none within ``BURST_GAP`` after it (waited for here)."""
        if burst < event.time:
            return False
        wait = event.time + BURST_GAP - get_time()
        if wait > 0:
            await asyncio.sleep(wait + 0.002)
        # Keys the driver read with it may still wait in the app's queue (a busy loop): let
        # them reach the gate and join the burst before it is judged.
        await probe([self.app], PROBE_TIMEOUT)
        return self._burst_sizes.get(burst, 1) == 1

    def _refuse_action(self, event: Typed) -> None:
        self.dropped += 1
        key = "a paste"
        if isinstance(event, events.Key):
            key = event.character if event.is_printable and event.character else event.key
        self.app.notify(
            f"Ignored {key!r}: it came with other keys in one burst (a paste or a laggy link). "
            "An action opens only from its key pressed on its own.",
            markup=False,
            severity="warning",
            timeout=6,
        )

    def _typed_into_input(self, event: Typed) -> bool:
        """``event`` is text for the focused text box: it cannot move the focus, so the next
        key may follow at once (the box's own queue keeps them in order).  A paste of a name
        into the search box does not wait a round trip per character."""
        focused = self.app.screen.focused
        if not isinstance(focused, Input):  # the console's only text box (no TextArea)
            return False
        if isinstance(event, events.Paste):
            return True
        # An Input takes printable keys before any binding sees them, except priority ones.
        return event.is_printable and not any(
            key == event.key and binding.priority for key, binding in _bindings_for(focused)
        )

    def _finished(self, event: Typed) -> bool:
        """Handled: a widget stopped it (an Input took the character) or it reached the app."""
        # Textual has no public "was stopped" flag; read its private one defensively, so a
        # renamed attribute makes the gate wait for arrival instead of crashing.
        return id(event) in self._arrived or bool(getattr(event, "_stop_propagation", False))

    def _pumps(self) -> list[MessagePump]:
        """The app, the active screen and the focused widget's ancestry: where a key travels."""
        app = self.app
        try:
            screen = app.screen
        except Exception:
            return [app]
        pumps: list[MessagePump] = [app, screen]
        focused = screen.focused
        if focused is not None:
            pumps.extend(
                node
                for node in focused.ancestors_with_self
                if node is not app and node is not screen
            )
        return pumps

    async def _settle(self, event: Typed) -> None:
        """Wait until ``event`` was handled and the focus and screen changes it caused are done."""
        deadline = get_time() + SETTLE_LIMIT
        extra_rounds = 3
        try:
            while not self._closed and get_time() < deadline:
                finished = self._finished(event)
                pumps = self._pumps()
                timeout = min(PROBE_TIMEOUT, deadline - get_time())
                if not await probe(pumps, timeout):
                    return
                if finished:
                    if quiet(self._pumps()) or extra_rounds <= 0:
                        return
                    extra_rounds -= 1
        finally:
            self._arrived.discard(id(event))


def _action_name(action: str) -> str:
    """A binding's action without its namespace (``app.delegate('actions')``)."""
    for prefix in ("app.", "screen.", "focused."):
        if action.startswith(prefix):
            return action[len(prefix) :]
    return action


def _cooked_enter(event: Typed) -> None:
    """Enter typed before the terminal was in raw mode arrives as LF (the tty turned CR into
    LF): it is still enter.  Nothing in the console binds ctrl+j."""
    if isinstance(event, events.Key) and event.key == "ctrl+j":
        event.key = "enter"
        event.character = "\r"


def _bindings_for(widget: Widget) -> Iterable[tuple[str, Binding]]:
    """The key bindings of ``widget`` and of its ancestors (where a key would bind)."""
    for node in widget.ancestors_with_self:
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                yield key, binding


class GatedApp(App[ReturnType]):
    """An ``App`` whose keyboard input goes through a :class:`KeyGate`."""

    #: Binding actions (namespace dropped) that open or confirm a response action: no burst
    #: may trigger them.
    GUARDED_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keys = KeyGate(self, type(self).GUARDED_ACTIONS)
        """Serialises key input so bursts reach the widget they were meant for."""

    def refuses_keys(self) -> bool:
        """True while typed keys must reach no widget (the screen under them is hidden)."""
        return False

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)):
            if (
                not event.is_forwarded
                and self.refuses_keys()
                and not (isinstance(event, events.Key) and event.key in _ALWAYS_ALLOWED)
            ):
                return  # dropped: a key aimed at a hidden widget would act unseen
            if event.is_forwarded:
                self.keys.bubbled(event)
            elif self.keys.intercept(event):
                return
            else:
                await super().on_event(event)
                self.keys.dispatched(event)
                return
        await super().on_event(event)

    # The gate needs the moment each screen became active, to drop keys sent before it.
    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(*args, **kwargs)
        self.keys.screen_shown(self.screen)
        self.screen_changed()
        return result

    def switch_screen(self, *args: Any, **kwargs: Any) -> Any:
        result = super().switch_screen(*args, **kwargs)
        self.keys.screen_shown(self.screen)
        self.screen_changed()
        return result

    def pop_screen(self) -> Any:
        result = super().pop_screen()
        self.keys.screen_shown(self.screen)
        self.screen_changed()
        return result

    def screen_changed(self) -> None:
        """Called after every push, switch and pop (subclasses react to the new screen)."""

    exiting = False
    """Set once :meth:`exit` was called: the app is tearing its screens down."""

    def exit(self, *args: Any, **kwargs: Any) -> None:
        self.exiting = True
        self.keys.close()
        super().exit(*args, **kwargs)
