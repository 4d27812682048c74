"""The read fault matrix: what a misbehaving GitLab answers, and what every read path must do.

Transport-neutral on purpose: ``FAULTS`` says which answers come first and what the caller must
end up with; :class:`HttpxFaults` plays them through an ``httpx.MockTransport`` handler for the
async paths. A sync path (python-gitlab or ``httpx.Client``) can reuse the same table with its
own player (a ``requests`` adapter or a sync MockTransport): map ``Answer.reset`` to the
library's connection error and ``Answer.status``/``headers()`` to a response.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["FAULTS", "Answer", "Fault", "HttpxFaults", "fault_ids"]


@dataclass(frozen=True)
class Answer:
    """One injected answer: an HTTP status with headers, or a dropped connection."""

    status: int = 200
    retry_after: str | None = None
    #: Retry-After as an HTTP date this many seconds from the moment of answering
    retry_after_date_in: float | None = None
    reset: bool = False

    def headers(self) -> dict[str, str]:
        if self.retry_after is not None:
            return {"Retry-After": self.retry_after}
        if self.retry_after_date_in is not None:
            when = time.time() + self.retry_after_date_in
            return {"Retry-After": email.utils.formatdate(when, usegmt=True)}
        return {}


@dataclass(frozen=True)
class Fault:
    """Answers the server gives to one request before behaving, and the expected outcome."""

    name: str
    answers: tuple[Answer, ...]
    #: the read completes (after retrying) instead of ending with a problem
    succeeds: bool
    #: requests the client sends for the faulted request in all (1: not retried)
    attempts: int
    #: the client must have waited at least this long before asking again
    min_wait_s: float = 0.0
    #: the outcome must be known within this long: far below the waits a fault asks for (an
    #: hour, 30 s), far above a loaded CI machine's noise
    max_elapsed_s: float = 10.0
    #: for failures: the problem's kind and status
    problem_kind: str | None = None
    status: int | None = None


FAULTS: tuple[Fault, ...] = (
    Fault("502 then success", (Answer(502),), succeeds=True, attempts=2),
    Fault("connection reset then success", (Answer(reset=True),), succeeds=True, attempts=2),
    Fault(
        "429 Retry-After 1 s",
        (Answer(429, retry_after="1"),),
        succeeds=True,
        attempts=2,
        min_wait_s=1.0,
    ),
    Fault(
        "429 Retry-After as an HTTP date",
        (Answer(429, retry_after_date_in=2.0),),
        succeeds=True,
        attempts=2,
        min_wait_s=0.9,
    ),
    Fault(
        "429 Retry-After 3600 s",
        (Answer(429, retry_after="3600"),),
        succeeds=False,
        attempts=1,
        max_elapsed_s=8.0,
        problem_kind="rate_limited",
        status=429,
    ),
    Fault(
        "401 is not retried",
        (Answer(401),),
        succeeds=False,
        attempts=1,
        max_elapsed_s=8.0,
        status=401,
    ),
    Fault(
        "403 is not retried",
        (Answer(403),),
        succeeds=False,
        attempts=1,
        max_elapsed_s=8.0,
        status=403,
    ),
)


def fault_ids(fault: Fault) -> str:
    return fault.name.replace(" ", "-")


class HttpxFaults:
    """Wraps a MockTransport handler: the first requests ``matches`` picks get the answers.

    ``attempts`` counts every request ``matches`` picked (faulted or not), so a test can tell a
    retry from none.
    """

    def __init__(
        self,
        fault: Fault,
        handler: Callable[[httpx.Request], httpx.Response],
        matches: Callable[[httpx.Request], bool],
    ) -> None:
        self.fault = fault
        self.handler = handler
        self.matches = matches
        self.pending = list(fault.answers)
        self.attempts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.matches(request):
            return self.handler(request)
        self.attempts += 1
        if not self.pending:
            return self.handler(request)
        answer = self.pending.pop(0)
        if answer.reset:
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        body = {"message": f"{answer.status} injected"}
        return httpx.Response(answer.status, json=body, headers=answer.headers())
