"""The per-user dossier: everything the runbook asks a responder to check for one account.

Opened with ``enter`` on a user.  The local row (risk reasons, review mark, cached sign-in data)
shows at once; the server sections (``console.dossier.fetch_dossier``) arrive from a thread worker
and a section that failed shows its Problem instead of data.  ``c``/``f`` mark the user, ``n``
moves to the next unreviewed user of the users pane's current view, ``e`` jumps to the Audit pane
filtered to this user, ``escape`` goes back.

Every server value goes through ``screens.safe``; Rich tables are built from ``Text`` cells only
(a ``str`` cell would be parsed as markup).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.contain import open_contain
from screens.dossier_render import (
    SECTION_TITLES,
    local_header,
    problem_text,
    render_section,
    risk_text,
)
from screens.messages import CredentialsExposedTo, ShowAuditForUser
from styles import stylesheet

if TYPE_CHECKING:
    from textual.signal import Signal

    from console.context import AppContext
    from console.dossier import Dossier, Section
    from console.problem import Problem
    from console.store import UserRow

__all__ = ["DossierScreen", "Reviewer"]


#: Rows shown per list section; the rest is summarised (the full data stays in the worker).
class Reviewer(Protocol):
    """What the dossier needs from the users pane (passed down when it is opened).

    ``mark_saved`` is published with a user id after a mark or note was saved (a worker, maybe
    after the note dialog closed): the dossier subscribes instead of being called sideways.
    """

    mark_saved: Signal[int]

    def mark_user(self, user_id: int, mark: str | None, *, ask_note: bool = False) -> None: ...

    def next_unreviewed_after(self, user_id: int | None) -> int | None: ...

    def move_to_user(self, user_id: int) -> None: ...


class DossierScreen(Screen[None]):
    """One user, all the evidence: profile, credentials, activity and blast radius."""

    # The compact footer fits c/f/n/e and ? at 80 columns; escape, a, r and q are in the help.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "c",
            "mark('cleared')",
            "Mark cleared",
            tooltip="then on to the next unreviewed user; C adds a note",
        ),
        Binding(
            "f",
            "mark('flagged')",
            "Flag suspicious",
            tooltip="then on to the next unreviewed user; F adds a note",
        ),
        Binding("n", "next_unreviewed", "Next unreviewed user"),
        Binding("C", "mark_with_note('cleared')", "Mark cleared and write a note", show=False),
        Binding("F", "mark_with_note('flagged')", "Flag suspicious and write a note", show=False),
        Binding("e", "show_audit", "Audit events", tooltip="Open the Audit pane for this user"),
        Binding(
            "s",
            "select_exposure",
            "Select in Credentials everything this user could see",
            show=False,
        ),
        Binding(
            "g",
            "scope_events",
            "Audit events of a group or project in the blast radius",
            show=False,
        ),
        Binding("escape", "back", "Back to the users list", show=False),
        Binding("a", "actions", "Actions for this user (block, revoke…)", show=False),
        Binding(
            "exclamation_mark",
            "contain",
            "Contain this user: block and remove every foothold",
            show=False,
        ),
        Binding("r", "refetch", "Fetch the dossier again", show=False),
        Binding("q", "app.quit", "Quit", show=False),
    ]
    """Review keys as in the users pane; ``e`` jumps to the Audit pane for this user."""

    BINDING_GROUP_TITLE = "Dossier"

    CSS_PATH = stylesheet("dossier.tcss")

    @dataclass
    class ShowAuditFor(ShowAuditForUser):
        """Show the Audit pane filtered to ``user_id`` (the main screen handles the base class)."""

    @dataclass
    class LocalLoaded(Message):
        """The user's cached row (with mark and note) was read from the store."""

        user_id: int
        row: UserRow | None

    @dataclass
    class DossierFetched(Message):
        """The dossier arrived from GitLab (``dossier`` None: ``problem`` says why)."""

        user_id: int
        dossier: Dossier | None
        problem: Problem | None

    def __init__(self, ctx: AppContext, user_id: int, *, reviewer: Reviewer | None = None):
        super().__init__(classes="dossier-screen")
        self.ctx = ctx
        self.user_id = int(user_id)
        self.reviewer = reviewer
        self.row: UserRow | None = None
        self.dossier: Dossier | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"#{self.user_id}"), id="dossier-header")
        with VerticalScroll(id="dossier-body"):
            yield Static(Text("Risk signals", style="bold"), classes="dossier-title")
            yield Static(Text("…", style="dim"), id="dossier-risk", classes="dossier-section")
            for name, title in SECTION_TITLES.items():
                yield Static(Text(title), id=f"title-{name}", classes="dossier-title")
                yield Static(
                    Text("loading…", style="dim"), id=f"section-{name}", classes="dossier-section"
                )
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#dossier-body").focus()
        if self.reviewer is not None:
            self.reviewer.mark_saved.subscribe(self, self.mark_saved)
        self._load()

    def on_screen_resume(self) -> None:
        self._local_worker(self.user_id)  # a note may have been saved meanwhile

    def mark_saved(self, user_id: int) -> None:
        """The reviewer saved a mark or note (a worker, possibly after the note dialog closed)."""
        if user_id == self.user_id:
            self._local_worker(user_id)

    def _load(self) -> None:
        self.row = None
        self.dossier = None
        body = self.query_one("#dossier-body", VerticalScroll)
        body.scroll_home(animate=False)
        self.query_one("#dossier-header", Static).update(Text(f"#{self.user_id} loading…"))
        for name in SECTION_TITLES:
            self.query_one(f"#section-{name}", Static).update(Text("loading…", style="dim"))
            self.query_one(f"#title-{name}", Static).update(Text(SECTION_TITLES[name]))
        self._local_worker(self.user_id)
        self._fetch_worker(self.user_id)

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="dossier-local", exit_on_error=False)
    def _local_worker(self, user_id: int) -> None:
        row = self.ctx.store.get_user(self.ctx.incident_id, user_id)
        self.post_message(self.LocalLoaded(user_id, row))

    @work(thread=True, exclusive=True, group="dossier-fetch", exit_on_error=False)
    def _fetch_worker(self, user_id: int) -> None:
        from console.audit import incident_window
        from console.dossier import fetch_dossier
        from console.errors import describe_error
        from console.timeutil import format_iso

        inc = self.ctx.incident
        # Open ends: 30 days / now, on GitLab's clock.
        start, end = incident_window(inc.window_start, inc.window_end, now=self.ctx.clock.now())
        window = (format_iso(start, "seconds"), format_iso(end, "seconds"))
        try:
            dossier = fetch_dossier(self.ctx.gitlab(), user_id, window)
            self.post_message(self.DossierFetched(user_id, dossier, None))
        except Exception as exc:
            self.post_message(self.DossierFetched(user_id, None, describe_error(exc)))

    def on_dossier_screen_local_loaded(self, message: LocalLoaded) -> None:
        if message.user_id != self.user_id:
            return
        self.row = message.row
        self.query_one("#dossier-header", Static).update(local_header(self.user_id, self.row))
        self.query_one("#dossier-risk", Static).update(risk_text(self.row))

    def on_dossier_screen_dossier_fetched(self, message: DossierFetched) -> None:
        if message.user_id != self.user_id:
            return
        if message.dossier is None:
            for name in SECTION_TITLES:
                self.query_one(f"#section-{name}", Static).update(problem_text(message.problem))
            return
        self.dossier = message.dossier
        for name in SECTION_TITLES:
            section = self._section(name)
            title = Text(SECTION_TITLES[name])
            if section is not None and section.count is not None:
                title.append(f" ({section.count})", style="dim")
            if section is not None and section.problem is not None:
                title.append("  ⚠ unavailable", style="bold red")
            self.query_one(f"#title-{name}", Static).update(title)
            self.query_one(f"#section-{name}", Static).update(render_section(name, section))

    def _section(self, name: str) -> Section | None:
        if self.dossier is None:
            return None
        if name == "sign_in":
            return self.dossier.section("profile")
        try:
            return self.dossier.section(name)
        except KeyError:
            return None

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss()

    def action_refetch(self) -> None:
        self._load()

    def action_contain(self) -> None:
        """``!``: the Contain playbook for this user."""
        open_contain(self.app, self.ctx, self.user_id)

    def action_actions(self) -> None:
        """The response actions (block, ban, revoke…) for the user on screen."""
        from screens.actions_menu import open_actions_menu

        open_actions_menu(self.app, self.ctx, [self.user_id])

    def action_mark(self, mark: str) -> None:
        """Mark the user on screen and move on to the next unreviewed user (no note box)."""
        if self.reviewer is None:
            self._mark_direct(self.user_id, mark)
            return
        self.reviewer.mark_user(self.user_id, mark, ask_note=False)
        self.action_next_unreviewed()

    def action_mark_with_note(self, mark: str) -> None:
        """Mark the user on screen, then write a note about it (the dossier stays)."""
        if self.reviewer is None:
            self._mark_direct(self.user_id, mark)
            return
        self.reviewer.mark_user(self.user_id, mark, ask_note=True)

    @work(thread=True, group="dossier-mark", exit_on_error=False)
    def _mark_direct(self, user_id: int, mark: str) -> None:
        self.ctx.store.set_mark(self.ctx.incident_id, "user", user_id, mark)
        row = self.ctx.store.get_user(self.ctx.incident_id, user_id)
        self.post_message(self.LocalLoaded(user_id, row))

    def action_next_unreviewed(self) -> None:
        if self.reviewer is None:
            self.notify("Open the dossier from the Users pane to step through users.", markup=False)
            return
        target = self.reviewer.next_unreviewed_after(self.user_id)
        if target is None:
            self.notify("Every user in the current view has a review mark.", markup=False)
            return
        self.reviewer.move_to_user(target)
        self.user_id = target
        self._load()

    def action_select_exposure(self) -> None:
        """The blast radius's credentials, selected in the Credentials pane for the worksheet."""
        stack = self.app.screen_stack
        target = stack[-2] if len(stack) > 1 else None
        username = self.row.username if self.row is not None else f"user #{self.user_id}"
        message = CredentialsExposedTo(self.user_id, username)
        self.dismiss()
        (target or self.app).post_message(message)

    def action_scope_events(self) -> None:
        """``g`` then a key: a blast-radius group's or project's own audit events."""
        from screens.modals.choice import ChoiceModal

        section = self._section("blast_radius")
        items = section.items if section is not None and isinstance(section.items, list) else []
        entries = [e for e in items if str(e.get("source_id", "")).isdigit()]
        keys = "123456789abcdefhijklmnoprstuvwxyz"
        choices = [
            (
                keys[i],
                f"{'project' if e.get('source_type') == 'Project' else 'group'} "
                f"{e.get('source_name') or e.get('source_id')}",
                "",
            )
            for i, e in enumerate(entries[: len(keys)])
        ]
        scopes = {
            keys[i]: ("project" if e.get("source_type") == "Project" else "group")
            + f":{e.get('source_id')}"
            for i, e in enumerate(entries[: len(keys)])
        }
        if not choices:
            self.notify("No group or project in the blast radius (yet).", markup=False)
            return

        def chosen(key: str | None) -> None:
            from screens.messages import ShowScopeEvents

            if key in scopes:
                stack = self.app.screen_stack
                below = stack[-2] if len(stack) > 1 else None
                self.dismiss()
                (below or self.app).post_message(ShowScopeEvents(scopes[key]))

        self.app.push_screen(ChoiceModal("Audit events of", choices), chosen)

    def action_show_audit(self) -> None:
        stack = self.app.screen_stack
        target = stack[-2] if len(stack) > 1 else None
        user_id = self.user_id
        self.dismiss()
        if target is not None:
            target.post_message(self.ShowAuditFor(user_id))
        else:
            self.app.post_message(self.ShowAuditFor(user_id))
