"""The main screen: header, the three panes in a ContentSwitcher, and the footer.

It owns which pane is showing (saved to the store's ui_state, debounced, so a kill -9 brings the
responder back to the same place: ``resume_wiring.py``, with the writer lock and interrupted
actions) and routes the app's generic keys (/, enter, space, a, escape) to the active pane.
Panes save their own filters and selection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer
from textual.worker import Worker, WorkerState

from console import startgc
from console.context import AppContext
from screens.handoff_wiring import (
    HANDOFF_BINDINGS,
    HANDOFF_PANES,
    HandoffMixin,
    handoff_commands,
    handoff_pane_factories,
)
from screens.header import ConsoleHeader
from screens.incident_screen import IncidentScreen
from screens.lazy_panes import BUILD_FALLBACK, LazyPanes
from screens.messages import PaneActivated, PaneRowsShown
from screens.pane_links import PaneLinksMixin
from screens.panes.base import RecordPane
from screens.resume_wiring import ResumeMixin
from screens.startup_resume import offline_line
from screens.widgets.command_line import COMMANDS, CommandLine, command_argument, parse_command

if TYPE_CHECKING:  # handlers are found by name: the panes' modules load with the panes
    from screens.panes.users.messages import ReviewProgressChanged
    from screens.runbook import RunbookPane

__all__ = ["PANES", "MainScreen", "PaneFactory", "default_pane_factories"]

PaneFactory = Callable[[AppContext], Widget]
PANES: dict[str, str] = {
    "users": "Users",
    "audit": "Audit events",
    "credentials": "Credentials",
    **HANDOFF_PANES,
}
# The app's generic key names and the action names panes actually use for them.
_ALIASES: dict[str, tuple[str, ...]] = {
    "back": ("back", "escape"),
    "toggle_select": ("toggle_select", "toggle_selection"),
}


def default_pane_factories() -> dict[str, PaneFactory]:
    """The shipped panes. Each factory imports its pane's module when the pane is built, so
    the panes not shown at start load after the first rows (``screens.lazy_panes``)."""

    def users(ctx: AppContext) -> Widget:
        from screens.panes.users import UsersPane

        return UsersPane(ctx)

    def audit(ctx: AppContext) -> Widget:
        from screens.panes.audit import AuditPane

        return AuditPane(ctx)

    def credentials(ctx: AppContext) -> Widget:
        from screens.panes.credentials import CredentialsPane

        return CredentialsPane(ctx)

    return {
        "users": users,
        "audit": audit,
        "credentials": credentials,
        **handoff_pane_factories(),
    }


class MainScreen(LazyPanes, ResumeMixin, PaneLinksMixin, HandoffMixin, IncidentScreen):
    """Shows one incident on one instance; built once the startup flow has a context."""

    # The footer has room for about six keys at 80 columns, so it shows the active pane's
    # review keys plus ? and q. The pane keys 1/2/3 are shown in the header instead; these
    # show=False copies of the app's bindings keep them (and a) out of the footer. The help
    # screen (?) lists every key.
    BINDINGS = [
        Binding("v", "show_coverage", "Coverage: what this token can and cannot see", show=False),
        Binding("i", "edit_incident", "Edit incident title, kind and window", show=False),
        Binding("1", "app.switch_pane('users')", "Users pane", show=False),
        Binding("2", "app.switch_pane('audit')", "Audit events pane", show=False),
        Binding("3", "app.switch_pane('credentials')", "Credentials pane", show=False),
        Binding("a", "app.delegate('actions')", "Actions for the selection or row", show=False),
        *HANDOFF_BINDINGS,
        Binding(
            "colon", "command_line", "Command line (:users :audit :creds :export :q)", show=False
        ),
        Binding(
            "y",
            "copy_value",
            "Copy the highlighted value (username, IP, id, journal head)",
            show=False,
        ),
        Binding("tab", "cycle_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", show=False),
    ]

    def __init__(
        self,
        ctx: AppContext,
        *,
        panes: Mapping[str, PaneFactory] | None = None,
        offline: str | None = None,
    ) -> None:
        """``offline``: why GitLab could not be reached, when the incident was opened
        read-only from the local cache (``--resume``); a line says so above the panes."""
        super().__init__()
        self.ctx = ctx
        self.offline = offline
        self._factories = dict(panes or default_pane_factories())
        self._panes: dict[str, Widget] = {}
        self._settled = False
        self.active_pane = next(iter(self._factories))

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(id="header")
        if self.offline:
            yield offline_line(self.offline)
        # Only the active pane now; the others once it shows rows, or when asked for
        # (``screens.lazy_panes``). Each has its slot from the start.
        with ContentSwitcher(initial=f"pane-{self.active_pane}", id="panes"):
            for key, factory in self._factories.items():
                with Vertical(id=f"pane-{key}", classes="pane-slot"):
                    if key == self.active_pane:
                        pane = factory(self.ctx)
                        self._panes[key] = pane
                        yield pane
        line = CommandLine(placeholder="users audit creds export help q", id="command-line")
        line.display = False
        yield line
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        conn, cov = self.ctx.connection, self.ctx.coverage
        self.query_one(ConsoleHeader).update(
            instance_url=self.ctx.instance_url,
            identity=(cov.username or "") if cov is not None else "",
            incident_title=str(self.ctx.incident.title),
            drill=bool(conn.is_drill),
            offline=self.offline is not None,
            read_only=self.ctx.read_only,
            dry_run=self.ctx.dry_run,
        )
        self.open_saved_state()
        if self.offline:
            for pane in self._panes.values():
                if isinstance(pane, RecordPane):
                    pane.went_offline()
        self.set_timer(BUILD_FALLBACK, self._after_first_rows)

    def pane_built(self, key: str, pane: Widget) -> None:
        """A pane built after the screen opened is mounted: it gets what it would have had at
        start (the offline mark, the saved view, the credentials' cross-links)."""
        if isinstance(pane, RecordPane) and self.query("#offline-line"):
            pane.went_offline()
        self.restore_pane(key)
        self._link_credentials()

    def on_pane_rows_shown(self, message: PaneRowsShown) -> None:
        message.stop()
        if message.pane is self._panes.get(self.active_pane):
            self._after_first_rows()

    def _after_first_rows(self) -> None:
        """What the start-up put off until the active pane shows rows (or ``BUILD_FALLBACK``
        seconds passed): the garbage collector, the coverage kept with the incident, the
        other panes."""
        if self._settled:
            return
        self._settled = True
        startgc.resume()  # paused since the imports (a no-op unless the command line did)
        self.cache_coverage()
        self.build_rest_soon()

    # -- pane switching ------------------------------------------------------------------
    def pane(self, key: str | None = None) -> Widget:
        """The pane widget for ``key`` (default: the active one), built if it was not yet."""
        pane = self.build_pane(key or self.active_pane)
        if pane is None:
            raise KeyError(key)
        return pane

    def show_pane(self, key: str, *, save: bool = True, focus: bool = True) -> None:
        if key not in self._factories:
            return
        self.build_pane(key)
        self.active_pane = key
        self.query_one("#panes", ContentSwitcher).current = f"pane-{key}"
        self.query_one(ConsoleHeader).update(active_pane=key)
        if key in self.mounted_panes():
            self._pane_shown(key, save, focus)
        else:  # built just now: focused once mounted (keys wait for this screen's queue)
            self.call_later(self._pane_shown_when_mounted, key, save, focus)

    async def _pane_shown_when_mounted(self, key: str, save: bool, focus: bool) -> None:
        await self.ready_pane(key)
        self._pane_shown(key, save, focus and key == self.active_pane)

    def _pane_shown(self, key: str, save: bool, focus: bool) -> None:
        if focus:
            self._focus_pane(self._panes[key])
        self.post_message(PaneActivated(key))
        if save:
            self._schedule_save()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A hidden pane never keeps the focus: a pane's own deferred focus (from its mount) can
        land after the saved view switched panes, and keys would then act on rows nobody sees."""
        widget = event.widget
        for key, pane in self._panes.items():
            if key != self.active_pane and (widget is pane or pane in widget.ancestors):
                self._focus_pane(self.pane())
                return

    def _focus_pane(self, pane: Widget) -> None:
        """Focus ``pane`` now (``set_focus``, not the deferred ``focus()``), so the very next key
        already goes to it."""
        if pane.focusable:
            self.set_focus(pane)
            return
        # The pane's table, not its first focusable child: a resumed search keeps its search box
        # on screen, and focusing that would send the responder's next keys into the search.
        if isinstance(pane, RecordPane) and pane.table.focusable:
            self.set_focus(pane.table)
            return
        for widget in self.focus_chain:
            if pane in widget.ancestors:
                self.set_focus(widget)
                return

    def action_cycle_pane(self, step: int) -> None:
        """Tab / shift+tab: the next or previous pane, with its list focused (never a hidden
        widget, as Textual's focus chain would pick)."""
        keys = list(self._factories)
        index = keys.index(self.active_pane) if self.active_pane in keys else 0
        self.show_pane(keys[(index + step) % len(keys)])

    def action_copy_value(self) -> None:
        """y: copy the highlighted username, IP or id through the terminal (OSC 52)."""
        from screens.copy_value import copyable_value

        text = copyable_value(self.pane())
        if text is None:
            self.notify("Nothing to copy here.", markup=False)
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text}", markup=False, timeout=3)

    # -- the : command line ----------------------------------------------------------------
    def action_command_line(self) -> None:
        line = self.query_one(CommandLine)
        line.value = ""
        line.display = True
        self.set_focus(line)  # now, not deferred: the rest of a burst is the command

    @on(CommandLine.Closed)
    async def _command_entered(self, message: CommandLine.Closed) -> None:
        message.stop()
        line = self.query_one(CommandLine)
        line.display = False
        self._focus_pane(self.pane())
        if message.text is None or not message.text.strip():
            return
        command = parse_command(message.text)
        if command is None:
            names = " ".join(f":{c.names[0]}" for c in COMMANDS)
            self.notify(f"Unknown command. Try {names}", markup=False, severity="warning")
            return
        if command.action == "screen.audit_filter":
            await self._audit_filter(command.names[0], command_argument(message.text))
            return
        if not await self.app.run_action(command.action, self):
            self.notify(
                f":{command.names[0]} is not available here.", markup=False, severity="warning"
            )

    async def delegate(self, action: str) -> bool:
        """Run ``action`` on the active pane if it has it; ``False`` if it does not.

        The app's generic keys only arrive here when the pane's own widgets did not take them
        (e.g. nothing focused), so the pane stays the single place that defines their meaning.
        """
        pane = self.pane()
        for name in _ALIASES.get(action, (action,)):
            if await self.app.run_action(name, pane):  # False: the pane has no such action
                return True
        if action == "actions":
            return self._open_actions(pane)
        return False

    def _open_actions(self, pane: Widget) -> bool:
        from screens.panes.users import UsersPane

        if not isinstance(pane, UsersPane):
            return False
        ids = pane.selected_ids()
        if not ids:
            self.notify("Select a row first (space).", markup=False)
            return True
        from screens.actions_menu import open_actions_menu

        open_actions_menu(self.app, self.ctx, ids)
        return True

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The screen's own workers (state, incident): a failure is said, never a crash.

        Pane workers are handled by their pane (``RecordPane``), which stops the message.
        """
        if event.state is not WorkerState.ERROR or not isinstance(event.worker.error, Exception):
            return
        from console.errors import describe_error
        from console.sanitize import safe

        problem = describe_error(event.worker.error)
        self.notify(
            safe(problem.one_line(), kind="line", max_cells=200),
            markup=False,
            severity="error",
            timeout=10,
        )

    def on_users_pane_review_progress_changed(self, message: ReviewProgressChanged) -> None:
        self.query_one(ConsoleHeader).update(
            review=(message.reviewed, message.total, message.root_reviewed)
        )

    def on_runbook_pane_progress_changed(self, message: RunbookPane.ProgressChanged) -> None:
        self.query_one(ConsoleHeader).update(runbook=message.summary)

    # -- command palette (the app turns these into SystemCommands) -------------------------
    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) for the command palette while this screen shows."""
        return [
            *(
                (f"Show {label}", f"Switch to the {label} pane", f"app.switch_pane('{key}')")
                for key, label in PANES.items()
            ),
            ("Coverage", "What this token can and cannot see", "screen.show_coverage"),
            ("Edit incident", "Title, kind and time window", "screen.edit_incident"),
            ("New incident", "Start a new incident on this instance", "app.new_incident"),
            ("Resume incident", "Pick another open incident", "app.choose_incident"),
            *handoff_commands(),
        ]
