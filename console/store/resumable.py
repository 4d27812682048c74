"""How many journaled actions a crash, a kill or a halt left for the resume prompt.

Headless and light on purpose: the main screen asks right after it opens an incident, and
importing :mod:`actions` for it would load python-gitlab before the first rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence, Sized
from pathlib import Path
from typing import Protocol

from console.store.lock import holder_of

__all__ = ["resumable_count"]


class _OpenWork(Protocol):
    path: Path

    def journal_pending(self, incident_id: int) -> Sized: ...

    def plans_open(self, incident_id: int) -> Sequence[_OpenPlan]: ...


class _OpenPlan(Protocol):
    @property
    def open_steps(self) -> Sized: ...


def resumable_count(store: _OpenWork, incident_id: int) -> int:
    """What the resume prompt counts: entries in flight plus plan steps never started; 0 when
    another console holds the incident (its work in flight is its own)."""
    holder = holder_of(store.path, incident_id)
    if holder is not None and holder.pid != os.getpid():
        return 0
    return len(store.journal_pending(incident_id)) + sum(
        len(p.open_steps) for p in store.plans_open(incident_id)
    )
