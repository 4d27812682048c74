"""python-gitlab's client without its own waiting; built by :func:`console.config.build_gitlab`.

Its own module so that python-gitlab and requests (about 60 ms to import) load only when the
first python-gitlab client is built, after the console's first rows.
"""

from __future__ import annotations

from typing import Any

import gitlab
import requests

__all__ = ["PolicyGitlab"]


class PolicyGitlab(gitlab.Gitlab):
    """python-gitlab without its own waiting: the console's read policy does all of it.

    python-gitlab's defaults sleep through any ``Retry-After`` (an hour, uncancellable, and a
    ``ValueError`` for the HTTP-date form) and retry up to ten times. Here ``obey_rate_limit`` is
    always off and transient retries default to none, so a 429 or 5xx reaches
    :mod:`console.api.pages`, which waits visibly, cancellably and within a cap. A caller that
    passes ``retry_transient_errors``/``max_retries`` explicitly still gets them (the action
    read-backs, until they move onto the same policy).
    """

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["obey_rate_limit"] = False
        kwargs.setdefault("retry_transient_errors", False)
        kwargs.setdefault("max_retries", 0)
        return super().http_request(verb, path, *args, **kwargs)
