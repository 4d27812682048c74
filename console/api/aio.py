"""The one async GET: httpx reads under :class:`~console.api.retry.RetryPolicy`, links pinned.

Used by every asyncio reader (the users load, enrichment, the PAT fetch). A GET is retried on
transient answers (5xx from :func:`~console.api.retry.is_transient_status`, timeouts, resets)
and waits on 429 as the policy says; a ``Retry-After`` longer than the policy's cap raises
:class:`~console.api.retry.WaitTooLong` at once instead of sleeping. Waits are plain
:func:`asyncio.sleep`: the thread bridge (:mod:`console.api.bridge`) cancels the task when the
person cancels, so a wait ends at once. Next-page links go through
:func:`~console.api.links.pin_next_link`: a link to another scheme, host, port or API prefix is
refused with a problem, never rewritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import httpx

from console.api.links import pin_next_link
from console.api.retry import DEFAULT_POLICY, RetryPolicy, is_transient_status
from console.problem import Problem, ProblemError

__all__ = [
    "AsyncGet",
    "ExplainFn",
    "ReadCancelled",
    "ReadFailed",
    "WaitFn",
    "WaitReason",
    "bad_response",
    "json_list",
    "status_error",
]

WaitReason = Literal["rate_limited", "retry"]
#: ``on_wait(seconds, reason)``: called (in the event loop's thread) before every wait.
WaitFn = Callable[[float, WaitReason], None]
#: Turns a failed request's exception into a Problem: ``console.errors.describe_error``, passed
#: in by the caller because the explainer sits above this package (it uses the retry parser).
ExplainFn = Callable[[BaseException], Problem]

#: Transport failures worth asking again; a bad URL, proxy or protocol never gets better.
_TRANSIENT_ERRORS: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class ReadFailed(ProblemError):
    """A GET that failed for good; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, problem: Problem, status: int | None = None) -> None:
        super().__init__(problem)
        self.status = status


class ReadCancelled(Exception):
    """The caller's ``cancelled()`` said stop (checked before each request and after waits)."""


def _never() -> bool:
    return False


def status_error(response: httpx.Response) -> httpx.HTTPStatusError:
    """The httpx exception for an error answer (``describe_error`` explains it)."""
    return httpx.HTTPStatusError(
        f"HTTP {response.status_code} for {response.request.method} {response.request.url.path}",
        request=response.request,
        response=response,
    )


def bad_response(what: str) -> Problem:
    return Problem(
        "Unreadable answer",
        f"While paging, GitLab sent {what}; the list is incomplete.",
        "Check that the URL points at a GitLab instance, then load again.",
        "bad_response",
    )


def json_list(response: httpx.Response) -> tuple[list[dict[str, Any]], list[object]]:
    """A page's JSON objects, and the entries that are not objects (for the caller to count).

    A body that is not JSON or not a list is fatal (:class:`ReadFailed`): the whole page is
    unreadable. One odd entry inside a good page is not.
    """
    try:
        body = response.json()
    except ValueError as exc:
        raise ReadFailed(bad_response("a page that is not JSON")) from exc
    if not isinstance(body, list):
        raise ReadFailed(bad_response("a page that is not a list"))
    items = [item for item in body if isinstance(item, dict)]
    return items, [item for item in body if not isinstance(item, dict)]


class AsyncGet:
    """GET with the one read policy over an :class:`httpx.AsyncClient` rooted at the API.

    ``explain`` turns a final failure into the problem shown (``describe_error``);
    ``retries`` and ``rate_limited_seconds`` count what this reader retried and waited;
    ``on_wait`` sees every wait before it starts (for a countdown on screen).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        explain: ExplainFn,
        policy: RetryPolicy = DEFAULT_POLICY,
        cancelled: Callable[[], bool] = _never,
        on_wait: WaitFn | None = None,
    ) -> None:
        self.client = client
        self.explain = explain
        self.policy = policy
        self.cancelled = cancelled
        self.on_wait = on_wait
        self.base_api_url = str(client.base_url)
        self.retries = 0
        self.rate_limited_seconds = 0.0

    async def _wait(self, seconds: float, reason: WaitReason) -> None:
        if self.on_wait is not None:
            self.on_wait(seconds, reason)
        if reason == "rate_limited":
            self.rate_limited_seconds += seconds
        await asyncio.sleep(seconds)

    def next_url(self, response: httpx.Response) -> str | None:
        """The pinned ``rel="next"`` URL, None at the end; raises ``UnsafeLinkError``."""
        link = response.links.get("next")
        raw = link.get("url") if link else None
        return pin_next_link(
            raw, base_api_url=self.base_api_url, request_url=str(response.request.url)
        )

    async def get(self, url: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        """A 2xx answer, or :class:`ReadFailed`, ``WaitTooLong`` or :class:`ReadCancelled`."""
        transient = 0
        limited = 0
        while True:
            if self.cancelled():
                raise ReadCancelled
            try:
                response = await self.client.get(url, params=params)
            except _TRANSIENT_ERRORS as exc:
                transient += 1
                wait = self.policy.transient_wait(transient)
                if wait is None:
                    raise ReadFailed(self.explain(exc)) from exc
                self.retries += 1
                await self._wait(wait, "retry")
                continue
            except httpx.HTTPError as exc:
                raise ReadFailed(self.explain(exc)) from exc
            status = response.status_code
            if status < 300:
                return response
            if status == 429:
                limited += 1
                wait = self.policy.rate_limit_wait(limited, response.headers)  # may raise
                if wait is None:
                    raise ReadFailed(self.explain(status_error(response)), status)
                await self._wait(wait, "rate_limited")
                continue
            if is_transient_status(status):
                transient += 1
                wait = self.policy.transient_wait(transient)
                if wait is not None:
                    self.retries += 1
                    await self._wait(wait, "retry")
                    continue
            raise ReadFailed(self.explain(status_error(response)), status)
