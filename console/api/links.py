"""Pagination links pinned to the configured instance.

GitLab builds its ``Link`` and ``X-Next-Page`` URLs from ``external_url``; a misconfigured or
compromised instance can point them anywhere. The token rides along with every request, so a
next link is followed only when its scheme, host, port and API prefix are exactly the configured
ones. Anything else stops paging with a :class:`~console.problem.Problem` (the stricter choice:
python-gitlab's ``keep_base_url`` would silently rewrite a foreign host to ours).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urljoin, urlsplit, urlunsplit

from console.problem import Problem, ProblemError
from console.sanitize import safe

__all__ = ["UnsafeLinkError", "pin_next_link", "same_origin"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class UnsafeLinkError(ProblemError):
    """A next-page link (or redirect) that leaves the configured instance."""


def _origin(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    return scheme, (parts.hostname or "").lower(), port, parts.path


def same_origin(url: str, base_api_url: str) -> bool:
    """True when ``url`` has the scheme, host, port and API path prefix of ``base_api_url``."""
    scheme, host, port, path = _origin(url)
    b_scheme, b_host, b_port, b_path = _origin(base_api_url)
    prefix = b_path.rstrip("/") + "/"
    return (
        scheme in _DEFAULT_PORTS
        and (scheme, host, port) == (b_scheme, b_host, b_port)
        and (path + "/").startswith(prefix)
    )


def unsafe_link_problem(raw: str) -> Problem:
    return Problem(
        "Unsafe pagination link",
        "GitLab's next-page link points outside the configured instance "
        f"({safe(raw, kind='line', max_cells=120)}); paging stopped so the token is not sent "
        "there. The list is incomplete.",
        "Check the instance's external_url setting; it must match the URL you connect with.",
        "bad_response",
    )


def pin_next_link(
    raw: str | None, *, base_api_url: str, request_url: str | None = None
) -> str | None:
    """The next-page URL to follow, or None at the end; raises :class:`UnsafeLinkError`.

    ``raw`` is the ``rel="next"`` target as sent; a relative link is resolved against the
    request it came with. The returned URL is the absolute, checked link without a fragment.
    """
    if not raw:
        return None
    absolute = urljoin(request_url or base_api_url, raw)
    if not same_origin(absolute, base_api_url):
        raise UnsafeLinkError(unsafe_link_problem(raw))
    parts = urlsplit(absolute)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
