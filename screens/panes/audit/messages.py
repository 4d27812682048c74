"""Messages of the audit pane: its workers' results and the pivots it asks the screen for.

The pivot messages bubble to ``MainScreen``, which owns the other panes: the credentials pane
(or any screen) posts ``screens.messages.EventsForTarget`` to see a credential's events here.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from console.audit.load import EventsLoadProgress, EventsLoadResult
from console.store import EventRids

__all__ = [
    "CountsComputed",
    "EventsLoadFinished",
    "EventsLoadProgressed",
    "IpUsersFound",
    "RowsQueried",
    "ShowCredentialFor",
    "ShowUserDossier",
]


class EventsLoadProgressed(Message):
    """A page was stored (coalesces: only the newest matters)."""

    def __init__(self, progress: EventsLoadProgress) -> None:
        super().__init__()
        self.progress = progress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EventsLoadProgressed)


@dataclass
class EventsLoadFinished(Message):
    """The load of the missing windows ended (done, cancelled or failed: ``result`` says)."""

    result: EventsLoadResult


@dataclass
class RowsQueried(Message):
    """The view's matching row ids (lazy) and the scope's stored total."""

    rids: EventRids
    total: int
    generation: int


@dataclass
class CountsComputed(Message):
    """Events per category for the current view (its category filter left out)."""

    counts: dict[str, int]
    generation: int


@dataclass
class IpUsersFound(Message):
    """Everyone tied to one IP: (user id, username, why) rows, read from the store."""

    ip: str
    users: list[tuple[int, str, str]]


@dataclass
class ShowCredentialFor(Message):
    """Show the credential an event targeted in the credentials pane (search for it)."""

    search: str


@dataclass
class ShowUserDossier(Message):
    """Open one user's dossier."""

    user_id: int
