"""The console's own token after a rotation (issue 10.8): kept where the old one lived.

``POST /personal_access_tokens/self/rotate`` revokes the token the console is using and answers
with a new value. That value goes exactly where the old one was: the OS keyring entry of the
profile when the token came from the keyring, process memory otherwise (an environment variable,
a typed token, a headless host without a keyring). It is registered with the log redaction
first, never shown, never written anywhere else, and the caller rebuilds its client with it.
When the keyring refuses the write, the value stays in memory and the note says plainly that
the next start needs a new token (the old one in the keyring no longer works).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from console.redact import register_secret
from console.secret import Secret
from console.tokens.policy import token_key

__all__ = ["KEYRING", "MEMORY", "KeptToken", "keep_rotated_token"]

KEYRING: Final = "keyring"
MEMORY: Final = "memory"


class _Config(Protocol):
    @property
    def url(self) -> str: ...


class _Connection(Protocol):
    """What :class:`console.session.Connection` offers (no import: session imports tokens)."""

    @property
    def config(self) -> _Config: ...

    @property
    def token(self) -> Secret: ...

    @property
    def token_source(self) -> str: ...

    @property
    def profile_name(self) -> str: ...


class _Keyring(Protocol):
    @property
    def available(self) -> bool: ...

    def set(self, profile_key: str, token: Secret) -> None: ...


C = TypeVar("C", bound=_Connection)


@dataclass(frozen=True)
class KeptToken(Generic[C]):
    """The connection to use from now on, where its token lives, and what to tell the
    responder (never the value)."""

    connection: C
    where: str  # KEYRING | MEMORY
    note: str


def keep_rotated_token(connection: C, new: Secret, keyring: _Keyring | None) -> KeptToken[C]:
    """Store ``new`` where ``connection``'s token lived and return the connection using it.

    ``connection`` must be a dataclass (it is: :class:`console.session.Connection`).
    """
    if not new.reveal().strip():
        raise ValueError("the rotated token is empty")
    register_secret(new)  # before anything could log it
    fresh = dataclasses.replace(connection, token=new)  # type: ignore[type-var]
    if connection.token_source != KEYRING:
        return KeptToken(
            fresh,
            MEMORY,
            "The console's token was rotated; the new one is held in memory for "
            "this session only (the old one no longer works: the next start needs "
            "a new token).",
        )
    if keyring is None or not keyring.available:
        return KeptToken(fresh, MEMORY, _KEYRING_LOST)
    try:
        keyring.set(token_key(connection.config.url, connection.profile_name), new)
    except Exception:  # the message of a keyring error may quote what it was given
        return KeptToken(fresh, MEMORY, _KEYRING_LOST)
    return KeptToken(
        fresh,
        KEYRING,
        "The console's token was rotated and the keyring entry of this profile "
        "now holds the new one; the console reconnected with it.",
    )


_KEYRING_LOST: Final = (
    "The console's token was rotated but the keyring could not store the new one: it is held "
    "in memory for this session only, and the old one in the keyring no longer works (the next "
    "start needs a new token)."
)
