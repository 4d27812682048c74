"""What risk compares across every user of an instance, gathered in one pass.

Risk scores users a batch at a time (a hundred thousand user rows never sit in memory together),
but three signals compare a user with everyone else: a sign-in IP shared with others, a username
confusable with another's, a display name that looks like an admin's. :class:`Crowd` sees every
user once and keeps only what those comparisons need: a count per IP, the usernames (to find
the confusable pairs), and the admins' display names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from console.confusables import find_confusable_pairs, skeleton

__all__ = ["Crowd", "Peer"]


@dataclass(frozen=True, slots=True)
class Peer:
    """Another user a reason names (by username and id)."""

    id: int
    username: str
    is_admin: bool


class Crowd:
    """Fed every user with :meth:`add`, then :meth:`finish`; read by ``compute_risk``."""

    def __init__(self) -> None:
        self.sharers: Counter[str] = Counter()
        """Users signed in from each IP."""
        self.confusable: dict[int, list[Peer]] = {}
        """User id → the users whose username shares its skeleton (lowest ids first)."""
        self.admin_names: dict[str, Peer] = {}
        """Skeleton of an admin's display name → the admin with the lowest id."""
        self._usernames: list[tuple[int, str]] = []
        self._admins: set[int] = set()

    def add(
        self, uid: int, username: str, name: str, is_admin: bool, current_ip: str | None
    ) -> None:
        if current_ip:
            self.sharers[current_ip] += 1
        self._usernames.append((uid, username))
        if is_admin:
            self._admins.add(uid)
            key = skeleton(name) if name else ""
            held = self.admin_names.get(key)
            if key and (held is None or uid < held.id):
                self.admin_names[key] = Peer(uid, username, True)

    def finish(self) -> Crowd:
        """Find the confusable pairs; the usernames of everyone else are dropped."""
        pairs = find_confusable_pairs(self._usernames)
        involved = set(pairs)
        names = {uid: username for uid, username in self._usernames if uid in involved}
        self.confusable = {
            uid: [Peer(o, names[o], o in self._admins) for o in peers]
            for uid, peers in pairs.items()
        }
        self._usernames = []
        return self
