"""The runbook pane: GitLab's incident-response guide as a checklist that ticks itself.

One line per step of the incident kind's runbook (``console.runbook``), then the open items.
Steps the console performed show ``✓ auto`` with what ticked them; others are ticked by hand
(``t``: who and a note), ``u`` removes a hand tick, ``enter`` asks the main screen to open the
pane or action that does the step (:class:`RunbookPane.OpenStep`), ``r`` re-reads. The state is
evaluated in a thread worker; nothing here writes except the hand ticks.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.runbook import OpenItem, RunbookState, StepState, evaluate, step_by_key
from screens.safe import safe_text
from styles import stylesheet

__all__ = ["RunbookList", "RunbookPane", "TickScreen"]


def _responder() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in a container: the responder types a name
        return ""


class TickScreen(ModalScreen[tuple[str, str] | None]):
    """Ask who ticks a step (or closes an item) and a note; dismisses with (author, note)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    CSS_PATH = stylesheet("handoff.tcss")

    def __init__(self, what: str) -> None:
        super().__init__(classes="handoff-dialog")
        self._what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="handoff-box"):
            yield Static(Text(f"Tick by hand: {self._what}"), id="tick-title")
            yield Input(
                value=_responder(), placeholder="Who did it", id="tick-author", max_length=80
            )
            yield Input(
                placeholder="Note: what was done, where the evidence is",
                id="tick-note",
                max_length=500,
            )
            yield Static(Text("enter: save    escape: cancel"), classes="handoff-hint")

    def on_mount(self) -> None:
        self.query_one("#tick-note", Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        author = self.query_one("#tick-author", Input).value.strip()
        if not author:
            self.query_one("#tick-author", Input).focus()
            self.notify("Say who did it.", severity="warning", markup=False)
            return
        self.dismiss((author, self.query_one("#tick-note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _step_prompt(index: int, s: StepState) -> Text:
    mark = "✓" if s.done else "·"
    style = "bold green" if s.done else ""
    text = Text(f"{mark} {index:>2}. ", style=style)
    text.append(s.step.text)
    if s.how == "auto":
        text.append("  auto", style="green")
    elif s.how == "hand" and s.tick is not None:
        text.append("  by ", style="dim")
        text.append_text(safe_text(s.tick.author, kind="line", max_cells=24))
    return text


def _item_prompt(item: OpenItem) -> Text:
    text = Text("✓ " if item.closed else "○ ", style="dim" if item.closed else "bold yellow")
    text.append_text(safe_text(item.text, kind="line", max_cells=200))
    if item.closed:
        text.stylize("dim")
    return text


class RunbookList(OptionList, inherit_bindings=False):
    """The steps: the same movement keys as every record table (j/k, g/G, ctrl+d/u)."""

    BINDING_GROUP_TITLE = "Navigation"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False),
        Binding("home,g", "first", "First row", show=False),
        Binding("end,G", "last", "Last row", show=False),
        Binding("enter", "select", "Open what does the step", show=False),
    ]

    def action_half_page(self, direction: int) -> None:
        if not self.option_count:
            return
        step = max(1, self.scrollable_content_region.height // 2) * direction
        here = self.highlighted or 0
        self.highlighted = min(max(0, here + step), self.option_count - 1)


class RunbookPane(Vertical):
    """The incident's runbook; ``ctx`` needs ``store`` and ``incident`` (and may have
    ``coverage``: the live capability check, else the cached snapshot is used)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "tick", "Tick by hand"),
        Binding("u", "untick", "Untick"),
        Binding("enter", "open", "Open"),
        Binding("r", "reload", "Reload"),
    ]

    @dataclass
    class Evaluated(Message):
        state: RunbookState

    @dataclass
    class OpenStep(Message):
        """Open what does a step: a pane key or ``action:<name>`` (the main screen decides)."""

        target: str
        step_key: str

    @dataclass
    class ProgressChanged(Message):
        """For the header: ``runbook 3/6 · 2 open``."""

        summary: str

    def __init__(self, ctx: Any, *, id: str = "runbook-pane") -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.state: RunbookState | None = None
        self.border_title = "Runbook"

    def compose(self) -> ComposeResult:
        yield Static("reading…", id="runbook-summary")
        yield RunbookList(id="runbook-list")
        yield Static("", id="runbook-detail")

    def on_mount(self) -> None:
        self.action_reload()

    @property
    def table(self) -> OptionList:  # the main screen focuses a pane's ``table``
        return self.query_one("#runbook-list", OptionList)

    # -- loading -----------------------------------------------------------------------------
    def action_reload(self) -> None:
        self._evaluate()

    @work(thread=True, exclusive=True, group="runbook", exit_on_error=False)
    def _evaluate(self) -> None:
        snapshot = None
        cov = self.ctx.coverage
        if cov is not None:
            from console.runbook import coverage_snapshot

            snapshot = coverage_snapshot(cov)
        self.post_message(self.Evaluated(evaluate(self.ctx.store, self.ctx.incident, snapshot)))

    @on(Evaluated)
    def _show(self, message: Evaluated) -> None:
        message.stop()
        state = self.state = message.state
        listing = self.table
        keep = listing.highlighted
        listing.clear_options()
        options: list[Option | None] = [
            Option(_step_prompt(n, s), id=s.step.key) for n, s in enumerate(state.steps, 1)
        ]
        if state.items:
            options.append(None)
            options.extend(Option(_item_prompt(i), id=i.key) for i in state.items)
        listing.add_options(options)
        if listing.option_count:
            listing.highlighted = min(keep or 0, listing.option_count - 1)
        open_items = len(state.open_items)
        self.query_one("#runbook-summary", Static).update(
            Text(
                f"{state.done}/{len(state.steps)} steps done · {open_items} open item"
                f"{'' if open_items == 1 else 's'}    t tick  u untick  enter open  r reload"
            )
        )
        self.post_message(self.ProgressChanged(state.summary()))

    # -- the highlighted line ----------------------------------------------------------------
    def highlighted_key(self) -> str | None:
        listing = self.table
        if listing.highlighted is None:
            return None
        return listing.get_option_at_index(listing.highlighted).id

    def copy_value(self) -> str | None:
        """``y``: the highlighted step's or open item's text (for the ticket)."""
        found = self._find(self.highlighted_key())
        if isinstance(found, StepState):
            return found.step.text
        return found.text if isinstance(found, OpenItem) else None

    def _find(self, key: str | None) -> StepState | OpenItem | None:
        if self.state is None or key is None:
            return None
        for s in self.state.steps:
            if s.step.key == key:
                return s
        return next((i for i in self.state.items if i.key == key), None)

    @on(OptionList.OptionHighlighted)
    def _detail(self, event: OptionList.OptionHighlighted) -> None:
        found = self._find(event.option.id)
        text = Text()
        if isinstance(found, StepState):
            if found.step.hint:
                text.append(found.step.hint + "\n", style="dim")
            text.append_text(safe_text(found.evidence, kind="line", max_cells=300))
            if found.tick is not None:
                text.append("\nticked by ")
                text.append_text(safe_text(found.tick.author, kind="line", max_cells=40))
                text.append(f" at {found.tick.at}")
                if found.tick.note:
                    text.append(": ")
                    text.append_text(safe_text(found.tick.note, kind="line", max_cells=300))
            for line in found.details:
                text.append("\n" + line)
        elif isinstance(found, OpenItem):
            step = step_by_key(found.step_key) if found.step_key else None
            text.append("closed" if found.closed else "open", style="bold")
            if step is not None:
                text.append(f" — covered by: {step.text}")
            if found.closed:
                text.append("\nclosed by ")
                text.append_text(safe_text(found.closed_by, kind="line", max_cells=60))
        self.query_one("#runbook-detail", Static).update(text)

    # -- actions -----------------------------------------------------------------------------
    def action_tick(self) -> None:
        key = self.highlighted_key()
        found = self._find(key)
        if key is None or found is None:
            return
        if isinstance(found, OpenItem) and found.closed:
            self.notify("This item is already closed.", markup=False)
            return
        what = found.step.text if isinstance(found, StepState) else found.text

        def save(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._write_tick(key, result[0], result[1])

        self.app.push_screen(TickScreen(what), save)

    def action_untick(self) -> None:
        key = self.highlighted_key()
        found = self._find(key)
        hand = (isinstance(found, StepState) and found.tick is not None) or (
            isinstance(found, OpenItem) and found.closed and not found.closed_by.startswith("auto")
        )
        if key is None or not hand:
            self.notify("Only a hand tick can be removed.", markup=False)
            return
        self._write_tick(key, None, None)

    @work(thread=True, group="runbook-tick", exit_on_error=False)
    def _write_tick(self, key: str, author: str | None, note: str | None) -> None:
        try:
            if author is None:
                self.ctx.store.untick_runbook(self.ctx.incident.id, key)
            else:
                self.ctx.store.tick_runbook(self.ctx.incident.id, key, author, note or "")
        except Exception as exc:
            from console.errors import describe_error

            problem = describe_error(exc)
            self.app.call_from_thread(
                self.notify, problem.one_line(), severity="error", markup=False
            )
            return
        self.app.call_from_thread(self.action_reload)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # enter on the list: the same as the pane's open
        self.action_open()

    def action_open(self) -> None:
        found = self._find(self.highlighted_key())
        step = None
        if isinstance(found, StepState):
            step = found.step
        elif isinstance(found, OpenItem) and found.step_key:
            step = step_by_key(found.step_key)
        if step is None or step.opens is None:
            self.notify(
                "The console cannot do this step: tick it by hand (t) when done.", markup=False
            )
            return
        self.post_message(self.OpenStep(step.opens, step.key))
