"""Messages of the users pane: facts its workers report, in the past tense, with typed fields.

They are module-level classes in the ``users_pane`` namespace, so handlers keep the names
``on_users_pane_…`` and the pane re-exports them as ``UsersPane.ReviewProgressChanged`` etc.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from console.store import ReviewProgress
from console.users_load import EnrichResult, LoadResult

__all__ = [
    "BulkMarked",
    "MarkSaved",
    "ReviewProgressChanged",
    "RiskComputed",
    "UsersCacheShown",
    "UsersEnriched",
    "UsersFetchedAtRead",
    "UsersLoadShown",
    "UsersLoaded",
    "UsersPageArrived",
    "UsersQueried",
]


@dataclass
class ReviewProgressChanged(Message, namespace="users_pane"):
    """Review marks changed: ``reviewed`` of ``total`` users, and whether root was."""

    reviewed: int
    total: int
    root_reviewed: bool

    @classmethod
    def of(cls, progress: ReviewProgress) -> ReviewProgressChanged:
        return cls(progress.reviewed, progress.total, bool(progress.root_reviewed))


@dataclass
class UsersPageArrived(Message, namespace="users_pane"):
    """A page of users was committed to the store (from the loader thread).

    Pages can arrive every millisecond: a newer one replaces one still queued.
    """

    loaded: int
    total: int | None
    pages: int
    done: bool

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UsersPageArrived)


@dataclass
class UsersFetchedAtRead(Message, namespace="users_pane"):
    """When the newest cached user was fetched (None: nothing cached), read for the stale mark."""

    fetched_at: str | None


@dataclass
class UsersLoaded(Message, namespace="users_pane"):
    """The load finished, failed or was cancelled."""

    result: LoadResult


@dataclass
class UsersLoadShown(Message, namespace="users_pane"):
    """The list shows what the load left in the store (the query after ``UsersLoaded``
    answered): the main screen then lets the other panes' first fetch start."""

    total: int


@dataclass
class UsersCacheShown(Message, namespace="users_pane"):
    """The first query showed what the store holds and no load followed (the users were
    cached, or the pane does not load by itself): nothing for other panes to wait for."""

    total: int


@dataclass
class UsersQueried(Message, namespace="users_pane"):
    """Ordered ids for the current view, and the unfiltered total."""

    ids: list[int]
    total: int
    generation: int
    marks: dict[int, str] | None
    seconds: float


@dataclass
class BulkMarked(Message, namespace="users_pane"):
    """Marks for the selected users were saved (one worker for the whole selection)."""

    user_ids: list[int]
    mark: str | None
    progress: ReviewProgress | None
    problem: str | None


@dataclass
class MarkSaved(Message, namespace="users_pane"):
    """One user's mark (and note) was saved; ``ask_note`` opens the note dialog next."""

    user_id: int
    mark: str | None
    note: str | None
    progress: ReviewProgress | None
    problem: str | None
    ask_note: bool


@dataclass
class RiskComputed(Message, namespace="users_pane"):
    """Risk scores were recomputed (``final``: after the sign-in IPs arrived)."""

    problem: str | None
    failed: bool = False
    final: bool = False


@dataclass
class UsersEnriched(Message, namespace="users_pane"):
    """Admins' and active users' sign-in IPs were fetched."""

    result: EnrichResult
