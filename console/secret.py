"""A wrapper that keeps the API token out of reprs, tracebacks and logs.

Rich tracebacks (Textual's crash report) print local variables; a bare ``str`` token in any frame
would be shown. Holding it in :class:`Secret` means every repr says ``Secret('***')`` instead.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit, urlunsplit

_MASK: Final = "***"
# A path segment this long, made of token characters with both letters and digits, is a secret
# in practice: Slack's /services/T…/B…/<token>, Discord's /api/webhooks/<id>/<token>, and the
# like. Short segments (/c/7f3e, /hooks/gitlab) stay readable.
_SECRET_SEGMENT: Final = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_\-]{20,}$")


class Secret:
    """An opaque token. Only :meth:`reveal` returns the value, and only HTTP clients call it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ValueError("empty token")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Replace every occurrence of the token in ``text`` with a mask."""
        return text.replace(self._value, _MASK) if self._value in text else text

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret cannot be pickled")


def redact_url(url: str) -> tuple[str, bool]:
    """A URL fit to show or cache: user info, query values and token-like path segments masked.

    Webhook URLs often carry their credential (``user:pass@host``, ``?token=…``, or the path
    itself). The host stays visible: where a hook sends data is what a responder must judge.
    Returns the display URL and whether anything was hidden.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return _MASK, True
    hidden = False
    netloc = parts.netloc
    if "@" in netloc:
        netloc = _MASK + "@" + netloc.rsplit("@", 1)[1]
        hidden = True
    segments = parts.path.split("/")
    for i, segment in enumerate(segments):
        if _SECRET_SEGMENT.match(segment):
            segments[i] = _MASK
            hidden = True
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            name, sep, _value = piece.partition("=")
            pieces.append(f"{name}{sep}{_MASK}" if sep else name)
        query = "&".join(pieces)
        hidden = True
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, "")), hidden
