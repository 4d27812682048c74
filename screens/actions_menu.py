"""The ``a`` key: choose a response action for the selection, review the plan, confirm, run.

Flow: :class:`ActionsMenuScreen` lists the actions (greyed out in read-only mode; ``d`` switches
to a dry run that only reads) → :class:`PlanScreen` shows every target (id, escaped username,
flags) and what is excluded, and asks for the number of targets (or ``y`` for one) → the run
screen (:mod:`screens.action_run`) shows per-target progress and the journal head hash.

The app calls :func:`open_actions_menu` with the current pane's selection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from actions.plan import TOKEN_ACTIONS, USER_ACTIONS
from console.context import AppContext
from screens.action_status import (
    not_started,
    other_console,
    pending_count,
    writer_notice,
)
from screens.plan_screen import PLAN_LINES, PlanScreen, follow_up_screens
from screens.safe import safe_text
from styles import stylesheet

__all__ = [
    "PLAN_LINES",
    "ActionsMenuScreen",
    "PlanScreen",
    "follow_up_screens",
    "open_actions_menu",
    "open_resume",
    "open_token_actions_menu",
    "writer_notice",
]

CSS_PATH = stylesheet("actions.tcss")


def open_actions_menu(app: App[Any], ctx: AppContext, user_ids: Sequence[int]) -> None:
    """Open the actions menu for ``user_ids`` (the selection, or the highlighted user)."""
    app.push_screen(ActionsMenuScreen(ctx, [int(u) for u in user_ids]))


def open_resume(app: App[Any], ctx: AppContext) -> None:
    """Re-check actions a crash left pending and finish the plans it interrupted (call at
    startup when there is something to resume); non-repeatable actions go to a human."""
    from screens.action_run import ActionRunScreen

    app.push_screen(ActionRunScreen(ctx, None, resume=True, follow_up=follow_up_screens(ctx)))


def open_token_actions_menu(
    app: App[Any], ctx: AppContext, tokens: Sequence[Mapping[str, Any]]
) -> None:
    """Open the actions menu for personal access tokens (GitLab token JSON: ``id``, ``name``,
    ``user_id``, ``scopes``, ``active``/``revoked``)."""
    app.push_screen(ActionsMenuScreen(ctx, [], tokens=[dict(t) for t in tokens]))


class ActionsMenuScreen(ModalScreen[None]):
    """Pick an action for the selected users."""

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("d", "toggle_dry_run", "Dry run"),
        Binding("r", "resume", "Resume interrupted"),
    ]

    def __init__(
        self,
        ctx: AppContext,
        user_ids: list[int],
        *,
        dry_run: bool | None = None,
        tokens: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.user_ids = user_ids
        self.tokens = tokens
        self.specs = TOKEN_ACTIONS if tokens is not None else USER_ACTIONS
        self.dry_run = ctx.dry_run if dry_run is None else dry_run
        self.locked_by = other_console(ctx)
        self.read_only = ctx.read_only or self.locked_by is not None

    def compose(self) -> ComposeResult:
        with Vertical(id="actions-box", classes="dialog"):
            yield Static(self._title_text(), classes="dialog-title")
            yield Static(self._mode_text(), id="actions-mode")
            yield OptionList(*self._options(), id="actions-list")
            yield Static("", id="actions-desc")
            yield Static(self._pending_text(), id="actions-pending")
            yield Static(
                Text("enter: choose   d: dry run on/off   escape: close"), classes="dialog-hint"
            )

    def _title_text(self) -> Text:
        """``Actions for @mchen (#7)``: the responder sees who before choosing anything."""
        n = len(self.tokens) if self.tokens is not None else len(self.user_ids)
        noun = "token" if self.tokens is not None else "user"
        title = Text(f"Actions for {n} {noun}{'' if n == 1 else 's'}", style="bold")
        if self.tokens is not None:
            names = [(t.get("name"), t.get("id")) for t in self.tokens[:3]]
        else:
            names = [(name, uid) for uid, name in self._usernames(self.user_ids[:3])]
        for i, (name, ident) in enumerate(names):
            title.append(": " if i == 0 else ", ")
            prefix = "@" if self.tokens is None else ""
            title.append_text(safe_text(f"{prefix}{name} (#{ident})", kind="line", max_cells=40))
        if n > len(names) and names:
            title.append(", …")
        return title

    def _usernames(self, user_ids: Sequence[int]) -> list[tuple[int, str]]:
        """Usernames from the local cache (one primary-key read); ids without a row are left out."""
        try:
            rows = self.ctx.store.users_by_ids(self.ctx.incident_id, list(user_ids))
        except Exception:  # a missing cache must not stop the menu from opening
            return []
        by_id = {row.id: row.username for row in rows}
        return [(uid, by_id[uid]) for uid in user_ids if uid in by_id]

    def on_mount(self) -> None:
        lst = self.query_one("#actions-list", OptionList)
        lst.focus()
        if lst.option_count and not (self.read_only and not self.dry_run):
            lst.highlighted = 0

    def _mode_text(self) -> Text:
        if self.locked_by is not None and not self.dry_run:
            return Text(writer_notice(self.locked_by), style="bold yellow")
        if self.read_only and not self.dry_run:
            return Text(
                "Read-only mode: actions are disabled. Press d for a dry run "
                "(reads only, changes nothing).",
                style="yellow",
            )
        if self.dry_run:
            return Text(
                "Dry run: plans are checked against the server; nothing is changed "
                "(the journal records the dry run).",
                style="cyan",
            )
        return Text(
            "Every action is journaled before it is sent and verified afterwards.", style="dim"
        )

    def _pending_text(self) -> Text:
        if self.locked_by is not None:
            return Text("")  # the other console's in-flight actions are its own
        pending = pending_count(self.ctx)
        rest = not_started(self.ctx)
        parts: list[str] = []
        if pending:
            parts.append(f"{pending} action(s) were interrupted (crash or kill)")
        if rest:
            parts.append(f"{rest} planned step(s) were never started")
        if not parts:
            return Text("")
        return Text(
            "; ".join(parts) + ". Press r to see the plan, re-check against the "
            "server and finish the rest before doing anything else.",
            style="bold yellow",
        )

    def _options(self) -> list[Option]:
        disabled = self.read_only and not self.dry_run
        out: list[Option] = []
        for spec in self.specs:
            label = Text(spec.title)
            if not spec.convergent:
                label.append("  (not repeatable)", style="dim")
            out.append(Option(label, id=spec.name, disabled=disabled))
        return out

    @on(OptionList.OptionHighlighted, "#actions-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        spec = next((s for s in self.specs if s.name == event.option.id), None)
        self.query_one("#actions-desc", Static).update(
            Text(spec.description if spec else "", style="italic")
        )

    def _refresh(self) -> None:
        self.query_one("#actions-mode", Static).update(self._mode_text())
        lst = self.query_one("#actions-list", OptionList)
        highlighted = lst.highlighted
        lst.clear_options()
        lst.add_options(self._options())
        if not (self.read_only and not self.dry_run):
            lst.highlighted = highlighted if highlighted is not None else 0

    def action_toggle_dry_run(self) -> None:
        # A session started with --dry-run stays a dry run.
        self.dry_run = not self.dry_run or self.ctx.dry_run
        self._refresh()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_resume(self) -> None:
        if self.locked_by is not None:
            self.notify(writer_notice(self.locked_by), markup=False, severity="warning")
            return
        if not pending_count(self.ctx) and not not_started(self.ctx):
            self.notify("No interrupted actions to re-check.", markup=False)
            return
        from screens.action_run import ActionRunScreen

        self.app.switch_screen(
            ActionRunScreen(
                self.ctx, None, dry_run=False, resume=True, follow_up=follow_up_screens(self.ctx)
            )
        )

    @on(OptionList.OptionSelected, "#actions-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id
        spec = next((s for s in self.specs if s.name == name), None)
        if spec is None:
            return
        if self.read_only and not self.dry_run:
            self.notify("Read-only mode: press d for a dry run.", markup=False)
            return
        # The plan replaces the menu (escape there comes back here); confirming replaces the
        # plan with the run screen, so closing the run returns straight to the pane.
        ctx, user_ids, dry_run, tokens = self.ctx, self.user_ids, self.dry_run, self.tokens
        self.app.switch_screen(
            PlanScreen(
                ctx,
                spec,
                user_ids,
                dry_run=dry_run,
                tokens=tokens,
                back=lambda: ActionsMenuScreen(ctx, user_ids, dry_run=dry_run, tokens=tokens),
            )
        )
