"""Which IPs each user signed in from before their current one (for the "new IP" signal).

Read from audit events the console already holds; nothing here calls the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from console.timeutil import normalize_ts

__all__ = ["SignIns", "sign_in_history"]

_SIGN_IN_EVENTS: Final = frozenset(
    {
        "authenticated_with_password",
        "authenticated_with_two_factor",
        "authenticated_with_webauthn",
        "authenticated_with_ldap",
        "authenticated_with_oauth",
        "authenticated_with_group_saml",
    }
)


def _is_sign_in(event: Mapping[str, Any]) -> bool:
    details = event.get("details")
    details = details if isinstance(details, Mapping) else {}
    name = event.get("event_name") or details.get("event_name")
    if isinstance(name, str) and name in _SIGN_IN_EVENTS:
        return True
    # before 18.3 a web sign-in is a legacy event with only details.with ("standard", "two-factor"…)
    return name is None and isinstance(details.get("with"), str) and "failed_login" not in details


class SignIns:
    """Sign-in events folded one at a time: the earliest sign-in of each user from each IP.

    Holds one entry per (user, IP), never the events, so a million stored events can stream
    through it (``console.risk.scoring``)."""

    __slots__ = ("_first",)

    def __init__(self) -> None:
        self._first: dict[int, dict[str, str]] = {}

    def add(self, event: Mapping[str, Any]) -> None:
        if not isinstance(event, Mapping) or not _is_sign_in(event):
            return
        author = event.get("author_id")
        details = event.get("details")
        details = details if isinstance(details, Mapping) else {}
        ip = event.get("ip_address") or details.get("ip_address")
        when = normalize_ts(event.get("created_at"))
        if isinstance(author, int) and author > 0 and isinstance(ip, str) and ip and when:
            ips = self._first.setdefault(author, {})
            if ip not in ips or when < ips[ip]:
                ips[ip] = when

    def history(self, current_ips: Mapping[int, str | None]) -> dict[int, set[str]]:
        """What :func:`sign_in_history` returns for the events added so far."""
        out: dict[int, set[str]] = {}
        for uid, first in self._first.items():
            current = current_ips.get(uid)
            first_current = first.get(current) if current is not None else None
            out[uid] = {
                ip for ip, when in first.items() if first_current is None or when < first_current
            }
        return out


def sign_in_history(
    events: Iterable[Mapping[str, Any]], current_ips: Mapping[int, str | None]
) -> dict[int, set[str]]:
    """IPs each user signed in from *before* first using the IP they are signed in from now.

    The audit pane fetches only the incident window, so "seen before the window" would be empty
    for everyone; "seen before this address first appeared" works inside the window too. A user
    whose current IP never appears in the events gets every IP the events show.
    """
    fold = SignIns()
    for event in events:
        fold.add(event)
    return fold.history(current_ips)
