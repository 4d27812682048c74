"""The console's own error types and :class:`Problem`: a leaf module every layer may import.

Kept apart from :mod:`console.errors` (which explains foreign exceptions) so the HTTP policy in
:mod:`console.api` can raise problems without importing the explainer, and the explainer can use
the policy's header parser, with no import cycle between them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "ConsoleError", "Problem", "ProblemError", "TokenStorageUnavailable"]


class ConsoleError(Exception):
    """Base class for errors the console raises on purpose (their text is user-facing)."""


class ConfigError(ConsoleError, ValueError):
    """Invalid connection settings or profile data. ``str(exc)`` is one clear sentence."""


class TokenStorageUnavailable(ConsoleError):
    """No acceptable OS keyring can store the token; keep it in memory for this session."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One failure, explained: what happened, why, and what to do next."""

    title: str
    detail: str
    next_step: str
    kind: str
    status: int | None = None
    retry_after: float | None = None

    def one_line(self) -> str:
        """The whole problem on one line (for stderr and logs)."""
        parts = [f"{self.title}: {self.detail}".rstrip()]
        if self.next_step:
            parts.append(self.next_step)
        return " ".join(parts)


class ProblemError(ConsoleError):
    """An exception that already carries its explanation; ``describe_error`` returns it as is."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.one_line())
        self.problem = problem
