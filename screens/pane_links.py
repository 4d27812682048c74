"""How the panes reach each other: pivots and hand-overs routed by the main screen.

An audit event's author opens the dossier, a credential shows its audit events, the dossier
selects what a user could see in the credentials pane, a group or project opens its own audit
events, a response run's re-read rows redraw, new audit events rescore the users and re-link
the credentials. Each handler finds the target pane in the main screen's registry, hands it the
request and shows it. Mixed into :class:`screens.main.MainScreen` (which provides the
registry, ``ctx``, ``show_pane``, ``app`` and ``notify``); handlers are named ``on_…`` because
Textual collects ``@on`` decorators only on message pumps, not on mixins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from screens.messages import (
    AuditEventsCached,
    CredentialsExposedTo,
    EventsForTarget,
    PaneActivated,
    ShowAuditForUser,
    ShowScopeEvents,
)
from screens.panes.base import RecordPane
from screens.panes.first_fetch import FirstFetchHold, HeldFirstFetch

if TYPE_CHECKING:  # handlers are found by name: the panes' modules load with the panes
    from textual.widget import Widget

    from console.context import AppContext
    from screens.panes.audit.messages import ShowCredentialFor, ShowUserDossier
    from screens.panes.users.messages import UsersCacheShown, UsersLoadShown

__all__ = ["PaneLinksMixin"]


class PaneLinksMixin:
    """Cross-pane routing for :class:`screens.main.MainScreen`."""

    ctx: AppContext
    app: Any
    _panes: dict[str, Widget]
    active_pane: str

    if TYPE_CHECKING:  # provided by MainScreen; never defined here (it would shadow them)

        def show_pane(self, key: str, *, save: bool = True, focus: bool = True) -> None: ...
        def notify(self, message: str, **kw: Any) -> None: ...
        def mounted_panes(self) -> dict[str, Widget]: ...
        async def ready_pane(self, key: str) -> Widget | None: ...
        def build_rest_soon(self) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_fetches = FirstFetchHold()
        """Which panes' first fetch waits for the users load (``screens.panes.first_fetch``)."""
        self._marks_linked = False

    # -- the other panes' first fetch waits for the users load ---------------------------------
    def first_fetch_may_start(self, pane: HeldFirstFetch) -> bool:
        """A pane wants its first fetch from GitLab: now if it shows, there is no users pane or
        the users load has ended; otherwise it waits (cached rows show regardless)."""
        from screens.panes.users import UsersPane

        key = next(
            (k for k, p in self._panes.items() if isinstance(p, HeldFirstFetch) and p is pane), None
        )
        if key is None or key == self.active_pane:
            return True
        if not isinstance(self._panes.get("users"), UsersPane):
            return True
        return self.first_fetches.may_start(key, pane)

    def on_pane_activated(self, message: PaneActivated) -> None:
        self.first_fetches.opened(message.pane)

    def on_users_pane_users_load_shown(self, message: UsersLoadShown) -> None:
        self.first_fetches.settle()
        self.build_rest_soon()

    def on_users_pane_users_cache_shown(self, message: UsersCacheShown) -> None:
        self.first_fetches.settle()
        self.build_rest_soon()

    def credentials_changed(self, keys: tuple[str, ...]) -> None:
        """Credential rows a response action re-read: the list shows their state at once."""
        from screens.panes.credentials import CredentialsPane  # the pane registry's own lazy import

        creds = self.mounted_panes().get("credentials")
        if isinstance(creds, CredentialsPane) and keys:
            creds.refresh_rows()

    def action_leaked_token(self) -> None:
        """``:leaked``: paste a token found in a log or chat; GitLab says whose it is."""
        from screens.leaked_token import open_leaked_token

        open_leaked_token(self.app, self.ctx)

    def users_changed(self, user_ids: tuple[int, ...]) -> None:
        """Users were re-read into the cache: let the users pane redraw them."""
        from screens.panes.users import UsersPane

        users = self.mounted_panes().get("users")
        if isinstance(users, UsersPane):
            users.users_changed(user_ids)

    def on_audit_events_cached(self, message: AuditEventsCached) -> None:
        """New sign-in history can change "new IP" signals: let the users pane rescore."""
        from screens.panes.users import UsersPane

        panes = self.mounted_panes()  # one built later scores and links when it loads
        users = panes.get("users")
        if isinstance(users, UsersPane):
            users.rescore()
        from screens.panes.credentials import CredentialsPane

        creds = panes.get("credentials")
        if isinstance(creds, CredentialsPane):
            creds.recompute_crosslinks()

    def _link_credentials(self) -> None:
        """Cross-links follow the users' review marks (the users pane's ``mark_saved``)."""
        from screens.panes.credentials import CredentialsPane
        from screens.panes.users import UsersPane

        panes = self.mounted_panes()
        creds, users = panes.get("credentials"), panes.get("users")
        if self._marks_linked or not isinstance(creds, CredentialsPane):
            return
        if isinstance(users, UsersPane):
            creds.subscribe_marks(users.mark_saved)
            self._marks_linked = True

    async def on_events_for_target(self, message: EventsForTarget) -> None:
        """A credential's audit events: the Audit pane filtered on that target (its name is
        searched instead when no stored event names the target itself)."""
        from screens.panes.audit import AuditPane

        audit = await self.ready_pane("audit")
        if isinstance(audit, AuditPane):
            audit.show_target(message.target_type, message.target_id, message.label)
            self.show_pane("audit")

    async def on_credentials_exposed_to(self, message: CredentialsExposedTo) -> None:
        from screens.panes.credentials import CredentialsPane

        creds = await self.ready_pane("credentials")
        if isinstance(creds, CredentialsPane):
            creds.select_exposure(message.user_id, message.username)
            self.show_pane("credentials")

    async def _audit_filter(self, word: str, value: str) -> None:
        """``:ip x``, ``:scope group 3``…: set one filter of the audit pane and show it."""
        from screens.panes.audit import AuditPane

        audit = await self.ready_pane("audit")
        if not isinstance(audit, AuditPane):
            return
        self.show_pane("audit")
        problem = audit.run_command(word, value)
        if problem is not None:
            self.notify(problem, markup=False, severity="warning")

    async def on_show_scope_events(self, message: ShowScopeEvents) -> None:
        """A group or project (from the dossier's blast radius): its own audit events."""
        from screens.panes.audit import AuditPane

        audit = await self.ready_pane("audit")
        if isinstance(audit, AuditPane):
            audit.show_scope(message.scope)
            self.show_pane("audit")

    async def on_show_credential_for(self, message: ShowCredentialFor) -> None:
        """An audit event's target, searched for in the credentials pane."""
        creds = await self.ready_pane("credentials")
        if isinstance(creds, RecordPane):
            creds.set_view(
                creds.with_search(creds.view, message.search), note="the audit event's target"
            )
            self.show_pane("credentials")

    def on_show_user_dossier(self, message: ShowUserDossier) -> None:
        from screens.dossier import DossierScreen

        self.app.push_screen(DossierScreen(self.ctx, message.user_id))

    async def on_show_audit_for_user(self, message: ShowAuditForUser) -> None:
        from screens.panes.audit import AuditPane

        audit = await self.ready_pane("audit")
        if audit is None:
            return
        if isinstance(audit, AuditPane) and message.user_id is not None:
            audit.show_for_user(message.user_id)
        self.show_pane("audit")
