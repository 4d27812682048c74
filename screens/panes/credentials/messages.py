"""Messages of the credentials pane: facts its workers report, in the past tense, typed."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from console.inventory import InventoryProgress, SourceProblem
from console.inventory.keys import KeySweepProgress, KeySweepResult
from console.store import Mark

__all__ = [
    "CredentialsQueried",
    "CrosslinksMerged",
    "ExposureFound",
    "InventoryStored",
    "KeySweepFinished",
    "KeysSwept",
    "LoadProgressed",
    "MarkChanged",
    "MarkWritten",
    "StoreRead",
    "WorksheetRead",
]


@dataclass
class StoreRead(Message, namespace="credentials_pane"):
    """What the store holds for this incident: marks, row count, the last load's health."""

    marks: dict[str, Mark]
    total: int
    failed_sources: list[str]
    fetched_at: str | None


@dataclass
class CredentialsQueried(Message, namespace="credentials_pane"):
    """A view's query answered: the ordered keys, and counts for the filter bar."""

    keys: list[str]
    total: int
    reviewed: int
    generation: int


@dataclass
class LoadProgressed(Message, namespace="credentials_pane"):
    """A source page arrived (coalesces: only the newest matters)."""

    progress: InventoryProgress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadProgressed)


@dataclass
class InventoryStored(Message, namespace="credentials_pane"):
    """A load from GitLab finished (or stopped) and its rows are in the store."""

    problems: list[SourceProblem]
    failed_sources: list[str]
    fetched_at: str | None
    complete: bool


@dataclass
class KeysSwept(Message, namespace="credentials_pane"):
    """The SSH/GPG key sweep moved on (coalesces)."""

    progress: KeySweepProgress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, KeysSwept)


@dataclass
class KeySweepFinished(Message, namespace="credentials_pane"):
    result: KeySweepResult


@dataclass
class CrosslinksMerged(Message, namespace="credentials_pane"):
    """Cross-link reasons were recomputed into the stored rows' flags."""

    flagged: int


@dataclass
class ExposureFound(Message, namespace="credentials_pane"):
    """Everything a user could see, as credential keys (rows added where the store had none)."""

    username: str
    keys: list[str]
    added: int


@dataclass
class WorksheetRead(Message, namespace="credentials_pane"):
    """The saved rotation worksheet (items and outcomes) was read from the incident."""

    items: list[tuple[str, str, str]] = field(default_factory=list)  # (key, label, outcome)


@dataclass
class MarkChanged(Message, namespace="credentials_pane"):
    """A credential was marked (or unmarked) by the responder."""

    key: str
    mark: str | None


@dataclass
class MarkWritten(Message, namespace="credentials_pane"):
    """A credential's review mark reached the store."""

    key: str
