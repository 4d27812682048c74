"""What the user asked for on the command line (:class:`Launch`), light to import.

The command line builds it before the console's heavier modules load: with ``--demo`` it starts
the drill's child process first, so the simulated instance seeds while the console imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Launch", "StartedDrill"]


class StartedDrill(Protocol):
    """A drill the command line started already (``console.drill.child.DrillProcess``)."""

    def start(self) -> str: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Launch:
    """What the user asked for on the command line."""

    demo: bool = False
    drill_users: int = 2000
    drill_latency_ms: float = 0.0
    drill_tier: str = "ultimate"
    #: The drill in a child process (the command line's ``--demo``); in-process otherwise, so
    #: tests can inspect its state and requests.
    drill_process: bool = False
    profile: str | None = None
    url: str | None = None
    resume: bool = False
    read_only: bool = False
    dry_run: bool = False
    ca_bundle: str | None = None
    allow_plain_http: bool = False
    #: The drill's child process when the command line started it before the console's imports
    #: (the start-up then adopts it instead of starting another); not part of what was asked.
    drill: StartedDrill | None = field(default=None, compare=False, repr=False)
