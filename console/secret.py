"""A wrapper that keeps the API token out of reprs, tracebacks and logs.

Rich tracebacks (Textual's crash report) print local variables; a bare ``str`` token in any frame
would be shown. Holding it in :class:`Secret` means every repr says ``Secret('***')`` instead.
"""

from __future__ import annotations

from typing import Final

_MASK: Final = "***"


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
