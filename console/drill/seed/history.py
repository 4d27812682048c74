"""The seed's audit log: events collected out of time order, then written sorted by time.

The benign history, the intrusion and the footholds each add events; :meth:`History.write`
sorts them (stable, so ties keep the order they were added in) and stores them, so id order is
time order as in GitLab.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.drill.seed.clock import Clock
from console.drill.seed.names import HISTORY_DAYS, SEEDED_MAX
from console.drill.state import DrillState


@dataclass
class _Spec:
    at: str
    kw: dict[str, Any]


class History:
    """Collects ``DrillState.add_audit`` keyword sets, each at a moment relative to ``clock``."""

    def __init__(self, state: DrillState, clock: Clock) -> None:
        self.state = state
        self.clock = clock
        self.specs: list[_Spec] = []

    def add(self, days: float, **kw: Any) -> None:
        """An event ``days`` before the anchor (the keywords of ``add_audit``)."""
        self.specs.append(_Spec(self.clock.at(days), kw))

    def signin_at(self, at: str, uid: int, ip: str) -> None:
        """A sign-in event as GitLab records it: two-factor or password, from ``ip``."""
        u = self.state.users[uid]
        two = u.two_factor
        name = "authenticated_with_two_factor" if two else "authenticated_with_password"
        method = "two-factor" if two else "standard"
        self.specs.append(
            _Spec(
                at,
                dict(
                    author=u,
                    entity_type="User",
                    entity_id=uid,
                    event_name=name,
                    message=f"Signed in with {method.upper() if method == 'standard' else method} "
                    "authentication",
                    target=(uid, "User", u.name),
                    ip=ip,
                    extra={"with": method, "authentication_event": True},
                ),
            )
        )

    def signin(self, days: float, uid: int, ip: str) -> None:
        self.signin_at(self.clock.at(days), uid, ip)

    def add_recorded_sign_ins(self) -> None:
        """Every sign-in GitLab recorded on a user leaves an audit event: the current one
        (from ``current_sign_in_ip``) and the previous one (from ``last_sign_in_ip``), when
        inside the seeded history and not before the account existed. Explicit story events
        already at that moment (mchen's sign-in from the attacker's IP) are not doubled.

        A formula-generated (bulk) user whose two addresses differ is someone who works from
        two places: the first sign-in of the seeded history is from the current address too,
        so the risk engine does not call an ordinary address "never seen". The named cast
        keeps its story: their address changes are deliberate signals."""
        oldest = self.clock.at(HISTORY_DAYS)
        oldest_epoch = self.clock.now_epoch - HISTORY_DAYS * 86400
        written = {
            (spec.kw["entity_id"], spec.at)
            for spec in self.specs
            if spec.kw.get("extra", {}).get("authentication_event")
        }
        for u in self.state.user_order:
            moments = [
                (u.last_sign_in_at, u.last_sign_in_ip),
                (u.current_sign_in_at, u.current_sign_in_ip),
            ]
            if (
                u.id > SEEDED_MAX
                and u.last_sign_in_at is not None
                and u.current_sign_in_ip not in (None, u.last_sign_in_ip)
            ):
                start = max(oldest_epoch, int(datetime.fromisoformat(u.created_at).timestamp()))
                room = int(datetime.fromisoformat(u.last_sign_in_at).timestamp()) - start
                if room >= 2:
                    early = self.clock.fmt(start + min(3600 + u.id % 86400, room // 2))
                    moments.insert(0, (early, u.current_sign_in_ip))
            for at, ip in moments:
                if at is None or ip is None or at < oldest or at < u.created_at:
                    continue
                if (u.id, at) not in written:
                    written.add((u.id, at))
                    self.signin_at(at, u.id, ip)

    def write(self) -> None:
        """Store every collected event in time order."""
        self.specs.sort(key=lambda s: s.at)
        for spec in self.specs:
            self.state.add_audit(created_at=spec.at, **spec.kw)
