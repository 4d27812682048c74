"""The circuit breaker: stop a run early, with one sentence, when the server will not cooperate.

Trips on the first 401 (our token is gone), on a run of 403s (the token lost admin rights, or
an IP allow-list blocks us), and on a run of connection failures or timeouts (the server is
unreachable or hanging). The sentence names the request that got the last failure and whether
it was the read before the write, the write, or the read-back.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.transport import HttpFailure
from console.sanitize import safe

__all__ = ["Breaker"]

PHASES = {
    "read": "the read before the write",
    "write": "the write",
    "verify": "the read-back after the write",
}


@dataclass
class Breaker:
    forbidden_run: int = 3
    transport_run: int = 2
    _forbidden: int = 0
    _transport: int = 0

    def success(self) -> None:
        self._forbidden = self._transport = 0

    def failure(self, exc: HttpFailure, phase: str) -> str | None:
        """Count one failed request; the halt sentence when the run must stop, else None."""
        where = f"{PHASES.get(phase, phase)} ({safe(exc.request, kind='line', max_cells=80)})"
        if exc.status == 401:
            return (
                f"GitLab rejected the token (401) on {where}: it may have been revoked. "
                "Nothing further was sent; the rest of the plan is left pending."
            )
        if exc.status == 403:
            self._forbidden += 1
            self._transport = 0
            if self._forbidden >= self.forbidden_run:
                return (
                    f"{self._forbidden} requests in a row were refused (403), the last on "
                    f"{where}: the token may have lost admin rights, or an IP allow-list "
                    "blocks this host. The rest of the plan is left pending."
                )
            return None
        if exc.transport:
            self._transport += 1
            self._forbidden = 0
            if self._transport >= self.transport_run:
                return (
                    f"GitLab is unreachable: {self._transport} requests in a row failed "
                    f"or timed out, the last on {where}. The rest of the plan is left "
                    "pending; resume when the server answers."
                )
            return None
        return None
