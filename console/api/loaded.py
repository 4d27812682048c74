"""Client libraries' exception types, asked for only once the library is loaded.

An object of a class can only exist once its module is imported; so a check for requests' or
python-gitlab's errors can skip the import (about 60 ms at start-up, where the console reads
through httpx) and answer "not one of those" while they are not loaded.
"""

from __future__ import annotations

import sys

__all__ = ["gitlab_http_error", "is_client_error", "requests_failures"]


def requests_failures(kind: str) -> tuple[type[BaseException], ...]:
    """requests' exception types of ``kind`` (see :mod:`console.api.requests_types`); none
    while requests is not loaded."""
    if "requests" not in sys.modules:
        return ()
    from console.api.requests_types import FAILURES

    return FAILURES[kind]


def gitlab_http_error(exc: BaseException) -> tuple[int | None, str] | None:
    """(status, message) of python-gitlab's ``GitlabHttpError``; ``None`` for anything else."""
    if "gitlab" not in sys.modules:
        return None
    from gitlab.exceptions import GitlabHttpError

    if not isinstance(exc, GitlabHttpError):
        return None
    message = exc.error_message
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return exc.response_code, str(message)


def is_client_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of python-gitlab's or requests' own errors."""
    if "gitlab" in sys.modules:
        from gitlab.exceptions import GitlabError

        if isinstance(exc, GitlabError):
            return True
    return isinstance(exc, requests_failures("any"))
