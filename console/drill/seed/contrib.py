"""Contribution events (``GET /users/:id/events``): pushes that tell the story, with push data."""

from __future__ import annotations

import hashlib
from typing import Any

from console.drill.model import ContribEvent
from console.drill.seed.clock import Clock
from console.drill.seed.names import SEEDED_MAX
from console.drill.state import DrillState


def push_data(ref: str, title: str, h: int, action: str = "pushed") -> dict[str, Any]:
    return {
        "commit_count": 1 + h % 4,
        "action": action,
        "ref_type": "branch",
        "commit_from": hashlib.sha1(f"{h}a".encode(), usedforsecurity=False).hexdigest(),
        "commit_to": hashlib.sha1(f"{h}b".encode(), usedforsecurity=False).hexdigest(),
        "ref": ref,
        "commit_title": title,
        "ref_count": None,
    }


def seed_contrib(state: DrillState, clock: Clock) -> None:
    def ev(
        uid: int,
        pid: int | None,
        action: str,
        days: float,
        ref: str = "main",
        title: str = "Update",
        push_action: str = "pushed",
        target: tuple[str, str] | None = None,
    ) -> None:
        eid = state.next_id("contrib")
        push = None
        if action in ("pushed to", "pushed new", "deleted"):
            push = push_data(ref, title, eid, push_action)
        state.contrib.setdefault(uid, []).append(
            ContribEvent(
                eid,
                uid,
                pid,
                action,
                target[0] if target else None,
                target[1] if target else None,
                clock.at(days),
                push,
            )
        )

    for uid in range(1, SEEDED_MAX + 1):
        state.contrib.setdefault(uid, [])
    for d in (40, 33, 25, 18, 12, 9.5):
        ev(7, 2, "pushed to", d, title="Tune connection pool")
    ev(7, 3, "pushed to", 0.8, title="ci: use internal package mirror")
    ev(7, 3, "deleted", 0.78, ref="protect-main", push_action="removed")
    ev(7, 5, "pushed to", 0.7, ref="main", title="Add debug sidecar")
    ev(9, 3, "joined", 1.95)
    for d in (20, 6, 2, 0.5):
        ev(10, 6, "pushed to", d, title="Storefront fixes")
    ev(8, 4, "pushed to", 1.5, title="Rotate inventory")
