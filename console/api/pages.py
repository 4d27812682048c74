"""The one synchronous GET and page iterator for every thread-worker read.

Audit, inventory, the dossier and the capability check read GitLab from thread workers through
either a ``gitlab.Gitlab`` (``http_request``) or a synchronous httpx-style client (``get`` with a
path under ``/api/v4``). Both go through :func:`get_response`, which applies the read policy of
:mod:`console.api.retry`: 5xx answers, timeouts and connection resets are retried with jittered
backoff; a 429 waits as ``Retry-After`` says (seconds or HTTP date), and a wait longer than the
policy's cap raises :class:`~console.api.retry.WaitTooLong` at once instead of being slept
through. Every wait is announced through ``on_wait`` (so a pane can count down) and sliced, so
``cancelled()`` ends it within :data:`SLICE_S`. Next-page links are pinned to the configured
instance by :func:`~console.api.links.pin_next_link` on both branches.

Writes never come here: a write whose reply was lost is reconciled by the journal, not re-sent.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx

from console.api.links import UnsafeLinkError, pin_next_link, unsafe_link_problem
from console.api.loaded import gitlab_http_error, requests_failures
from console.api.retry import DEFAULT_POLICY, RetryPolicy, is_transient_status
from console.problem import Problem, ProblemError

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_PAGES_PER_QUERY",
    "SLICE_S",
    "CancelledFn",
    "HttpStatusError",
    "ReadCancelled",
    "Wait",
    "WaitCallback",
    "base_api_url",
    "get_json",
    "get_response",
    "iter_pages",
    "refusal",
    "remember_error_headers",
    "status_of",
]

DEFAULT_TIMEOUT: Final = 30.0
#: a loop guard against a server that keeps sending ``next``
MAX_PAGES_PER_QUERY: Final = 10_000
#: how often a wait looks at ``cancelled()``
SLICE_S: Final = 0.1


class HttpStatusError(Exception):
    """A non-2xx answer from a synchronous httpx-style client, keeping the headers for
    ``Retry-After``. It carries what python-gitlab's ``GitlabHttpError`` carries (status,
    message, body), so ``describe_error`` explains both alike, without being one: reading
    through httpx never loads python-gitlab."""

    def __init__(
        self,
        status: int,
        message: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status)
        self.response_code: int = status
        self.error_message: str = message
        self.response_body: bytes = body if body is not None else message.encode("utf-8", "replace")
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.response_code}: {self.error_message}"


class ReadCancelled(ProblemError):
    """``cancelled()`` turned true while a read was waiting to retry (or between pages)."""

    def __init__(self) -> None:
        super().__init__(
            Problem(
                "Cancelled",
                "The read was stopped while it waited for GitLab; what is shown is incomplete.",
                "Reload (r) to read it again.",
                "cancelled",
            )
        )


@dataclass(frozen=True, slots=True)
class Wait:
    """A pause the policy is about to take, reported before it starts (for a countdown)."""

    seconds: float
    reason: str
    attempt: int


WaitCallback = Callable[[Wait], None]
CancelledFn = Callable[[], bool]


# --------------------------------------------------------------------------- 429 headers

_LAST_ERROR = threading.local()


def remember_error_headers(response: requests.Response, *args: object, **kwargs: object) -> None:
    """A ``requests`` response hook: keep the headers of the last non-2xx answer per thread.

    python-gitlab's ``GitlabHttpError`` drops the response headers, and with them
    ``Retry-After``; :func:`console.config.build_gitlab` installs this hook so the policy can
    still honour the server's wait on the python-gitlab branch.
    """
    if response.status_code >= 300:
        _LAST_ERROR.value = (response.status_code, dict(response.headers))


def _gitlab_error_headers(status: int) -> dict[str, str]:
    remembered = getattr(_LAST_ERROR, "value", None)
    _LAST_ERROR.value = None
    if remembered is not None and remembered[0] == status:
        return dict(remembered[1])
    return {}


# --------------------------------------------------------------------------- classification


def status_of(exc: BaseException) -> int | None:
    """The HTTP status carried by a python-gitlab, httpx or requests error, if any."""
    code = getattr(exc, "response_code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, (ssl.SSLError, *requests_failures("tls"))):
            return True
        stack.extend((cur.__cause__, cur.__context__))
        stack.extend(a for a in cur.args if isinstance(a, BaseException))
    return False


def _is_transient_exception(exc: BaseException) -> bool:
    """Timeouts and dropped or refused connections; never TLS failures or bad URLs."""
    if _tls_failure(exc) or isinstance(exc, requests_failures("proxy")):
        return False
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return True
    return isinstance(exc, (*requests_failures("transient"), ConnectionError, TimeoutError))


# --------------------------------------------------------------------------- waiting


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _wait(
    seconds: float,
    reason: str,
    attempt: int,
    cancelled: CancelledFn | None,
    on_wait: WaitCallback | None,
) -> None:
    """Sleep ``seconds`` in :data:`SLICE_S` slices; raise :class:`ReadCancelled` when asked."""
    if on_wait is not None:
        on_wait(Wait(seconds, reason, attempt))
    remaining = seconds
    while remaining > 0:
        if cancelled is not None and cancelled():
            raise ReadCancelled
        step = min(remaining, SLICE_S)
        _pause(step)
        remaining -= step
    if cancelled is not None and cancelled():
        raise ReadCancelled


# --------------------------------------------------------------------------- one GET


def _is_gitlab(client: object) -> bool:
    return hasattr(client, "http_request") and hasattr(client, "api_url")


def base_api_url(client: object) -> str:
    """The configured ``…/api/v4`` root every next link must stay under."""
    if _is_gitlab(client):
        return str(getattr(client, "api_url", "") or "")
    return str(getattr(client, "base_url", "") or "")


def _error_text(response: Any) -> str:
    try:
        body = response.json()
    except Exception:
        return str(getattr(response, "text", ""))[:200]
    if isinstance(body, Mapping):
        value = body.get("message") or body.get("error") or body
    else:
        value = body
    if isinstance(value, str):
        return value[:200]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)[:200]


def _raw_body(response: Any) -> bytes | None:
    content = getattr(response, "content", None)
    return content if isinstance(content, bytes) else None


def _send_once(client: Any, url: str, params: Mapping[str, Any] | None, timeout: float) -> Any:
    """One request, no retries anywhere below us; non-2xx raises."""
    if _is_gitlab(client):
        return client.http_request(
            "get",
            url,
            query_data=dict(params) if params is not None else None,
            timeout=timeout,
            obey_rate_limit=False,
            retry_transient_errors=False,
            max_retries=0,
        )
    response = client.get(url, params=dict(params) if params is not None else None, timeout=timeout)
    status = int(getattr(response, "status_code", 200))
    if status >= 300:
        headers = getattr(response, "headers", None)
        raise HttpStatusError(
            status,
            _error_text(response),
            _raw_body(response),
            dict(headers) if isinstance(headers, Mapping) else None,
        )
    return response


def refusal(exc: BaseException) -> tuple[int, str] | None:
    """(status, message) of a refused answer, read through httpx or python-gitlab; ``None``
    when no answer came (or one without a status)."""
    if isinstance(exc, HttpStatusError):
        return exc.response_code, exc.error_message
    found = gitlab_http_error(exc)
    if found is None or found[0] is None:
        return None
    return found[0], found[1]


def get_response(
    client: Any,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    cancelled: CancelledFn | None = None,
    on_wait: WaitCallback | None = None,
) -> Any:
    """GET ``url`` (a path under ``/api/v4`` or a pinned absolute URL) under the read policy.

    Returns the 2xx response (``requests.Response`` or httpx's). Raises the last error once the
    policy gives up, :class:`~console.api.retry.WaitTooLong` for a long ``Retry-After``, and
    :class:`ReadCancelled` when ``cancelled()`` turns true during a wait.
    """
    effective = timeout or getattr(client, "timeout", None) or DEFAULT_TIMEOUT
    if not isinstance(effective, int | float):
        effective = DEFAULT_TIMEOUT
    transient = 0
    limited = 0
    while True:
        try:
            return _send_once(client, url, params, float(effective))
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                if not _is_transient_exception(exc):
                    raise
                transient += 1
                delay = policy.transient_wait(transient)
                if delay is None:
                    raise
                _wait(delay, "the connection failed; trying again", transient, cancelled, on_wait)
                continue
            status = refused[0]
            if status == 429:
                limited += 1
                headers = (
                    exc.headers if isinstance(exc, HttpStatusError) else _gitlab_error_headers(429)
                )
                wait = policy.rate_limit_wait(limited, headers)  # may raise WaitTooLong
                if wait is None:
                    raise
                _wait(
                    wait, "GitLab asked the console to slow down (429)", limited, cancelled, on_wait
                )
                continue
            if is_transient_status(status):
                transient += 1
                delay = policy.transient_wait(transient)
                if delay is None:
                    raise
                _wait(
                    delay, f"GitLab answered {status}; asking again", transient, cancelled, on_wait
                )
                continue
            raise


def get_json(
    client: Any,
    url: str,
    params: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`get_response`, decoded as JSON (raises ``ValueError`` for a non-JSON body)."""
    return get_response(client, url, params, **kwargs).json()


# --------------------------------------------------------------------------- paging


def _next_link(response: Any) -> str | None:
    links = getattr(response, "links", None)
    if isinstance(links, Mapping):
        nxt = links.get("next")
        if isinstance(nxt, Mapping):
            url = nxt.get("url")
            if isinstance(url, str) and url:
                return url
    return None


def _response_url(response: Any) -> str | None:
    url = getattr(response, "url", None)
    text = str(url) if url is not None else ""
    return text if text.startswith(("http://", "https://")) else None


def iter_pages(
    client: Any,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    max_pages: int = MAX_PAGES_PER_QUERY,
    policy: RetryPolicy = DEFAULT_POLICY,
    cancelled: CancelledFn | None = None,
    on_wait: WaitCallback | None = None,
) -> Iterator[list[Any]]:
    """Yield the JSON list of each page of ``path`` by following ``Link: rel="next"``.

    Works for keyset and offset pagination alike (both send ``next`` links); a single object
    where a list was expected is yielded as a one-item page. Every next link must keep the
    configured scheme, host, port and API prefix, else
    :class:`~console.api.links.UnsafeLinkError` stops paging (on both client kinds).
    ``cancelled()`` is looked at during waits; callers look at it between pages, so a page that
    has arrived is always handed over before the read stops.
    """
    base = base_api_url(client)
    query: dict[str, Any] | None = dict(params or {})
    url: str | None = path
    if path.startswith(("http://", "https://", "//")):  # an absolute start is checked too
        url = pin_next_link(path, base_api_url=base) if base else None
        if url is None:
            raise UnsafeLinkError(unsafe_link_problem(path))
    pages = 0
    while url is not None and pages < max_pages:
        response = get_response(
            client,
            url,
            query,
            timeout=timeout,
            policy=policy,
            cancelled=cancelled,
            on_wait=on_wait,
        )
        body = response.json()
        if isinstance(body, dict):
            body = [body]
        yield list(body) if isinstance(body, list) else []
        pages += 1
        raw = _next_link(response)
        if raw is None:
            return
        if not base:  # nothing to pin to: refuse rather than send the token anywhere
            raise UnsafeLinkError(unsafe_link_problem(raw))
        url = pin_next_link(raw, base_api_url=base, request_url=_response_url(response))
        query = None  # the next link already carries every parameter
