"""The drill's knobs, apart from the server: starting the drill's child process needs them, and
nothing of the (slower to import) simulated instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["DrillOptions", "Tier"]

Tier = Literal["free", "premium", "ultimate"]


@dataclass
class DrillOptions:
    users: int = 2000
    latency_ms: float = 0
    error_rate: float = 0.0
    tier: Tier = "ultimate"
    rate_limit_per_minute: int | None = None
    seed: int = 1
    host: str = "127.0.0.1"
    port: int = 0
    #: fault injection for tests: (method, path) → None (normal), an HTTP status to answer
    #: without running the request, or "drop" to run it and close the connection unanswered
    fault: Callable[[str, str], int | str | None] | None = None
