"""python-gitlab's and requests' errors explained; imported only once those libraries are.

An exception can only be an instance of a class whose module is loaded, so
:mod:`console.errors` consults this module only when ``requests`` is in ``sys.modules``. That
keeps both libraries (about 60 ms to import) off the console's start-up: python-gitlab's
client is built after the first rows, the start-up reads through httpx.
"""

from __future__ import annotations

import re

import gitlab.exceptions
import requests

from console.errors.http import _host_of, _http_problem, _server_text, body_problem_fields
from console.errors.network import _network_problem
from console.problem import Problem
from console.secret import Secret

__all__ = ["requests_problem"]


def requests_problem(
    exc: BaseException, *, url: str | None, ca_bundle: str | None, secret: Secret | None
) -> Problem | None:
    """A python-gitlab or requests error as a :class:`Problem`; ``None`` for anything else."""
    if isinstance(exc, gitlab.exceptions.GitlabError):
        return _gitlab_problem(exc, url=url, ca_bundle=ca_bundle, secret=secret)
    if isinstance(exc, requests.TooManyRedirects | requests.HTTPError) and exc.response is not None:
        return _status_problem(exc.response, url=url, secret=secret)
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return Problem(
            "Invalid URL",
            "The URL scheme is not supported.",
            "Use an https:// URL for the GitLab instance.",
            "config",
        )
    if isinstance(exc, requests.exceptions.InvalidURL):
        return Problem("Invalid URL", "The GitLab URL is malformed.", "Check the URL.", "config")
    return None


def _status_problem(resp: requests.Response, *, url: str | None, secret: Secret | None) -> Problem:
    """A requests error that carries the answer (``HTTPError``, ``TooManyRedirects``)."""
    message = body_problem_fields(resp.content if not resp.is_redirect else b"")
    return _http_problem(
        resp.status_code, message, b"", resp.headers, url=url or resp.url, secret=secret
    )


def _gitlab_problem(
    exc: gitlab.exceptions.GitlabError,
    *,
    url: str | None,
    ca_bundle: str | None,
    secret: Secret | None,
) -> Problem:
    """python-gitlab's errors: redirects, non-JSON answers, HTTP statuses, network failures."""
    if isinstance(exc, gitlab.exceptions.RedirectError):
        target = ""
        found = re.findall(r"\bto:? (https?://\S+)", str(exc.error_message))
        if found:
            target = _server_text(found[-1].rstrip(".,"), secret)
        return Problem(
            "Redirected",
            f"{_host_of(url)} redirected the request{f' to {target}' if target else ''}; the "
            "console does not follow redirects with the token.",
            "Use the final address as the GitLab URL (usually https:// instead of http://).",
            "redirect",
            exc.response_code,
        )
    if isinstance(exc, gitlab.exceptions.GitlabParsingError):
        return Problem(
            "Unreadable answer",
            f"{_host_of(url)} did not answer with GitLab API JSON.",
            "Check that the URL points at a GitLab instance (without /api/v4).",
            "bad_response",
            exc.response_code,
        )
    code = exc.response_code
    if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError):
        code = code or 401
    if code is not None:
        return _http_problem(
            code, exc.error_message, exc.response_body, None, url=url, secret=secret
        )
    net = _network_problem(exc, url=url, ca_bundle=ca_bundle)
    if net is not None:
        return net
    return Problem(
        "GitLab client error",
        _server_text(exc.error_message, secret) or type(exc).__name__,
        "Retry; if it persists, run `incident-console diagnose`.",
        "client",
    )
