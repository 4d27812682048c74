"""The key gate (screens/key_gate.py): bursts reach the widget they address, in order.

A small app reproduces the panes' pattern: ``/`` shows a search box and focuses it the deferred
Textual way (``focus()``), ``a`` opens a dialog whose ``y`` confirms. Keys are posted as one
burst (created within microseconds, as the driver parses one read), not with ``pilot.press``,
which waits between keys.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from screens.key_gate import GatedApp


class Dialog(ModalScreen[None]):
    BINDINGS = [Binding("y", "confirm", "Confirm"), Binding("escape", "app.pop_screen")]

    def compose(self) -> ComposeResult:
        yield Static("Really?")

    def action_confirm(self) -> None:
        self.app.confirmed += 1  # type: ignore[attr-defined]
        self.dismiss(None)


class Listing(Static, can_focus=True):
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("a", "actions", "Actions"),
        Binding("n", "next", "Next"),
    ]

    def action_search(self) -> None:
        box = self.screen.query_one(Input)
        box.display = True
        box.focus()  # deferred: exactly what let bursts through before the gate

    def action_actions(self) -> None:
        self.app.push_screen(Dialog())

    def action_next(self) -> None:
        self.app.moves += 1  # type: ignore[attr-defined]


class Home(Screen[None]):
    def __init__(self, typeahead: str = "accept") -> None:
        super().__init__()
        self._typeahead = typeahead

    def typeahead(self) -> str:
        return self._typeahead

    def compose(self) -> ComposeResult:
        box = Input(id="box")
        box.display = False
        yield box
        yield Listing("rows", id="listing")

    def on_mount(self) -> None:
        self.query_one(Listing).focus()


class Small(GatedApp[None]):
    def __init__(self, home: Home | None = None) -> None:
        super().__init__()
        self.confirmed = 0
        self.moves = 0
        self._home = home or Home()

    def on_mount(self) -> None:
        self.push_screen(self._home)


def burst(app: Small, keys: str) -> None:
    """Post ``keys`` the way the driver does after one read: all at once."""
    for char in keys:
        name = {"/": "slash", "\r": "enter"}.get(char, char)
        app.post_message(events.Key(name, char))


async def settle(pilot: Any, rounds: int = 6) -> None:
    for _ in range(rounds):
        await pilot.pause(0.05)


def test_after_slash_the_whole_burst_is_search_text() -> None:
    asyncio.run(_test_after_slash_the_whole_burst_is_search_text())


async def _test_after_slash_the_whole_burst_is_search_text() -> None:
    app = Small()
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, "/alice")
        await settle(pilot)
        assert app.screen.query_one(Input).value == "alice"
        assert not isinstance(app.screen, Dialog)  # the "a" of alice opened nothing
        assert app.moves == 0


def test_a_burst_opens_a_dialog_at_most_and_never_confirms_it() -> None:
    asyncio.run(_test_a_burst_opens_a_dialog_at_most_and_never_confirms_it())


async def _test_a_burst_opens_a_dialog_at_most_and_never_confirms_it() -> None:
    app = Small()
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, "ay")
        await settle(pilot)
        assert isinstance(app.screen, Dialog)
        assert app.confirmed == 0
        assert app.keys.dropped == 1
        # A key pressed after the dialog is on screen is a deliberate answer.
        await pilot.press("y")
        await settle(pilot, 2)
        assert app.confirmed == 1


def test_keys_wait_while_the_screen_holds_them_then_arrive_in_order() -> None:
    asyncio.run(_test_keys_wait_while_the_screen_holds_them_then_arrive_in_order())


async def _test_keys_wait_while_the_screen_holds_them_then_arrive_in_order() -> None:
    home = Home(typeahead="hold")
    app = Small(home)
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, "nn/ab")
        await settle(pilot, 3)
        assert app.moves == 0 and app.screen.query_one(Input).value == ""
        home._typeahead = "accept"  # e.g. the list's first rows arrived
        await settle(pilot)
        assert app.moves == 2
        assert app.screen.query_one(Input).value == "ab"


def test_a_key_typed_before_a_dialog_appeared_never_answers_it() -> None:
    asyncio.run(_test_a_key_typed_before_a_dialog_appeared_never_answers_it())


async def _test_a_key_typed_before_a_dialog_appeared_never_answers_it() -> None:
    app = Small()
    async with app.run_test() as pilot:
        await pilot.pause()
        early = events.Key("y", "y")  # typed, then a dialog came up on its own
        await pilot.pause(0.05)
        app.push_screen(Dialog())
        await pilot.pause()
        app.post_message(early)
        await settle(pilot)
        assert isinstance(app.screen, Dialog)
        assert app.confirmed == 0 and app.keys.dropped == 1


class Guarded(Small):
    """The console's rule: the actions key and a confirmation's yes count only on their own."""

    GUARDED_ACTIONS = frozenset({"actions", "confirm"})


def test_no_burst_opens_or_confirms_a_guarded_action() -> None:
    asyncio.run(_test_no_burst_opens_or_confirms_a_guarded_action())


async def _test_no_burst_opens_or_confirms_a_guarded_action() -> None:
    app = Guarded()
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, "ay")  # a paste: the actions key with another after it
        await settle(pilot)
        assert not isinstance(app.screen, Dialog) and app.keys.dropped == 1
        burst(app, "na")  # ... or before it
        await settle(pilot)
        assert not isinstance(app.screen, Dialog) and app.moves == 1
        assert app.keys.dropped == 2
        await pilot.press("a")  # pressed on its own: it opens
        await settle(pilot, 2)
        assert isinstance(app.screen, Dialog)
        burst(app, "yy")  # the dialog is up, but a burst of yes confirms nothing
        await settle(pilot)
        assert app.confirmed == 0 and isinstance(app.screen, Dialog)
        await pilot.press("y")
        await settle(pilot, 2)
        assert app.confirmed == 1
        assert any("came with other keys" in n.message for n in app._notifications)


class TypedConfirm(ModalScreen[None]):
    def compose(self) -> ComposeResult:
        from screens.widgets.confirm_input import ConfirmInput

        yield ConfirmInput(id="typed")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.app.confirmed += 1  # type: ignore[attr-defined]


def test_a_pasted_name_and_enter_fill_a_typed_confirmation_but_do_not_submit_it() -> None:
    asyncio.run(_test_a_pasted_name_and_enter_fill_a_typed_confirmation())


async def _test_a_pasted_name_and_enter_fill_a_typed_confirmation() -> None:
    from console.app import IncidentConsoleApp

    class Console(Small):
        GUARDED_ACTIONS = IncidentConsoleApp.GUARDED_ACTIONS  # the console's own list

    app = Console()
    async with app.run_test() as pilot:
        await pilot.pause()
        app.push_screen(TypedConfirm())
        await settle(pilot, 2)
        burst(app, "root\r")
        await settle(pilot)
        assert app.screen.query_one(Input).value == "root"
        assert app.confirmed == 0
        await pilot.press("enter")  # on its own: the typed name is submitted
        await settle(pilot, 2)
        assert app.confirmed == 1


def test_a_burst_is_judged_whole_even_when_the_app_is_busy() -> None:
    asyncio.run(_test_a_burst_is_judged_whole_even_when_the_app_is_busy())


async def _test_a_burst_is_judged_whole_even_when_the_app_is_busy() -> None:
    """The driver read ``a`` and ``y`` together, but the app had other messages to handle
    between them (panes mounting): ``y`` reaches the gate late, yet still counts with ``a``."""
    from textual.message import Message

    class Slow(Message):
        pass

    class Busy(Guarded):
        async def on_slow(self, message: Slow) -> None:
            await asyncio.sleep(0.02)  # a handler awaiting (a pane mounting) before the next

    app = Busy()
    async with app.run_test() as pilot:
        await pilot.pause()
        a, y = events.Key("a", "a"), events.Key("y", "y")  # read together: the same instant
        app.post_message(a)
        for _ in range(4):
            app.post_message(Slow())
        app.post_message(y)
        await settle(pilot)
        assert not isinstance(app.screen, Dialog) and app.keys.dropped == 1
