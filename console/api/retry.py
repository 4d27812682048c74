"""The one retry policy for reads: which failures are retried, how long to wait, when to stop.

Writes never come through here: a write whose reply was lost is reconciled by the action journal
(read back and verify), never re-sent blindly.

Waits are bounded. A ``Retry-After`` longer than :attr:`RetryPolicy.max_wait_s` (GitLab answers
an hour when a throttle is hit hard) is surfaced to the person as a :class:`WaitTooLong` problem
instead of being slept through, so a pane never freezes behind a sleep the user cannot see.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from console.problem import Problem, ProblemError
from console.timeutil import parse_http_date

__all__ = [
    "DEFAULT_POLICY",
    "RetryPolicy",
    "WaitTooLong",
    "header",
    "is_transient_status",
    "parse_retry_after",
]

#: 5xx answers worth asking again (501 and 505 say the request itself is wrong).
_TRANSIENT_5XX: Final = frozenset({500, 502, 503, 504, 507, 520, 521, 522, 523, 524})


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (plain dicts from tests are case-sensitive)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait per ``Retry-After`` (seconds or an HTTP date) or ``RateLimit-Reset``.

    The one parser for GitLab's throttling headers. None when neither header gives a usable
    answer; never negative. An HTTP date and ``RateLimit-Reset`` are on the server's clock, so
    without an explicit ``now`` they are measured from the reply's own ``Date`` (this host's
    clock only when it has none): a host minutes off neither stretches nor skips the wait.
    """
    if not headers:
        return None
    if now is None:
        stamped = parse_http_date(header(headers, "Date"))
        now = stamped.timestamp() if stamped is not None else time.time()
    value = header(headers, "Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parse_http_date(value)
            if when is not None:
                return max(0.0, when.timestamp() - now)
    reset = header(headers, "RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset.strip()) - now)
        except ValueError:
            return None
    return None


def is_transient_status(status: int) -> bool:
    """A server answer that may succeed when asked again (not 429: that has its own rules)."""
    return status in _TRANSIENT_5XX


class WaitTooLong(ProblemError):
    """GitLab asked for a wait longer than the policy sleeps through."""

    def __init__(self, seconds: float) -> None:
        minutes = max(1, round(seconds / 60))
        super().__init__(
            Problem(
                "Rate limited",
                f"GitLab asks the console to wait about {minutes} min before asking again; "
                "the console does not sleep that long behind your back.",
                "Reload later (r), or ask an administrator to raise the rate limit.",
                "rate_limited",
                status=429,
                retry_after=seconds,
            )
        )
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts and waits for one read (a GET or one page of a listing)."""

    #: retries after the first try for 5xx, timeouts and connection resets
    transient_retries: int = 3
    #: consecutive 429 answers to one request before giving up
    rate_limit_waits: int = 30
    #: the longest single wait slept through; a longer Retry-After raises WaitTooLong
    max_wait_s: float = 60.0
    backoff_base_s: float = 0.25
    backoff_cap_s: float = 8.0

    def backoff(
        self, attempt: int, *, base: float | None = None, cap: float | None = None
    ) -> float:
        """Exponential backoff with full jitter on the upper half."""
        base = self.backoff_base_s if base is None else base
        cap = self.backoff_cap_s if cap is None else cap
        ceiling = min(cap, base * float(2 ** max(0, attempt)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def transient_wait(self, attempt: int) -> float | None:
        """Seconds before retry ``attempt`` (1-based) of a transient failure, None to give up."""
        if attempt > self.transient_retries:
            return None
        return self.backoff(attempt)

    def rate_limit_wait(self, attempt: int, headers: Mapping[str, str] | None) -> float | None:
        """Seconds before asking again after the ``attempt``-th 429, None to give up.

        Raises :class:`WaitTooLong` when the server asks for more than :attr:`max_wait_s`.
        """
        if attempt > self.rate_limit_waits:
            return None
        asked = parse_retry_after(headers)
        if asked is None:
            return self.backoff(attempt, base=1.0, cap=self.max_wait_s)
        if asked > self.max_wait_s:
            raise WaitTooLong(asked)
        return asked + random.uniform(0, 0.25)


DEFAULT_POLICY: Final = RetryPolicy()
