"""requests' exception types, grouped by what the read policy and the error messages ask.

Import it only when ``requests`` is loaded already (:func:`requests_failures`): an exception
of requests' cannot exist before, and the start-up, which reads through httpx, never loads it.
"""

from __future__ import annotations

from typing import Final

import requests

__all__ = ["FAILURES"]

FAILURES: Final[dict[str, tuple[type[BaseException], ...]]] = {
    "tls": (requests.exceptions.SSLError,),
    "proxy": (requests.exceptions.ProxyError,),
    "timeout": (requests.Timeout,),
    "connect": (requests.ConnectionError,),
    "invalid_schema": (requests.exceptions.InvalidSchema,),
    "invalid_url": (requests.exceptions.InvalidURL,),
    "any": (requests.RequestException,),
    #: what the read policy retries: dropped, refused or timed-out connections, cut bodies
    "transient": (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ),
}
