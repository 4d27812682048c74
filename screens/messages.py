"""App-level messages: things workers and screens report upwards, in the past tense.

Pane-specific messages live with their pane (``UsersPane.ReviewProgressChanged``); these are the
ones the shell itself reacts to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from textual.widget import Widget

    from console.store import Incident

__all__ = [
    "AuditEventsCached",
    "CredentialsChanged",
    "CredentialsExposedTo",
    "EventsForTarget",
    "IncidentUpdated",
    "InterruptedActionsFound",
    "OwnTokenRotated",
    "PaneActivated",
    "PaneRowsShown",
    "ReviewProgressLoaded",
    "ShowAuditForUser",
    "ShowScopeEvents",
    "UiStateLoaded",
    "UsersChanged",
]


@dataclass
class UiStateLoaded(Message):
    """The saved UI state of the incident was read from the store (resume)."""

    state: dict[str, object]
    """The incident's ui_state: JSON values, checked by each pane's ``restore``."""


@dataclass
class ReviewProgressLoaded(Message):
    """The review progress was read from the store (before the pane reports its own)."""

    reviewed: int
    total: int
    root_reviewed: bool


@dataclass
class PaneActivated(Message):
    """The main screen switched to another pane (``users``, ``audit`` or ``credentials``)."""

    pane: str


@dataclass
class PaneRowsShown(Message):
    """A pane's list showed its first rows (the main screen then builds the other panes)."""

    pane: Widget


@dataclass
class IncidentUpdated(Message):
    """The incident's title, kind or window was changed and saved."""

    incident: Incident


@dataclass
class ShowAuditForUser(Message):
    """A pane asks to see the audit events of one user (``None``: instance-wide)."""

    user_id: int | None


@dataclass
class ShowScopeEvents(Message):
    """Show a group's or project's own audit events (``group:12``, ``project:7``)."""

    scope: str


@dataclass
class AuditEventsCached(Message):
    """Fresh audit events for the incident window were stored (risk signals can use them)."""

    count: int


@dataclass
class InterruptedActionsFound(Message):
    """The journal holds actions that were sent (or about to be) but never verified."""

    count: int


@dataclass
class UsersChanged(Message):
    """These users were re-read from GitLab into the cache (e.g. after a response action)."""

    user_ids: tuple[int, ...]


@dataclass
class EventsForTarget(Message):
    """A pane asks for the audit events whose target is one object (a credential's events).

    ``target_type`` is GitLab's (``PersonalAccessToken``, ``Key``, ``Ci::Runner``…); ``label``
    is the object's raw name (sanitise before display), for a search where a pane cannot filter
    on the target itself.
    """

    target_type: str
    target_id: str
    label: str = ""


@dataclass
class CredentialsExposedTo(Message):
    """The dossier asks the Credentials pane to select everything ``user_id`` could see."""

    user_id: int
    username: str


@dataclass
class CredentialsChanged(Message):
    """These credential rows (``kind:id``) were re-read after a response action: updated or
    dropped in the store, so a list showing them must redraw."""

    keys: tuple[str, ...]


@dataclass
class OwnTokenRotated(Message):
    """The console's own token was rotated and the session reconnected with the new one;
    ``note`` says where it is kept (never the value)."""

    note: str
