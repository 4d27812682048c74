"""Which IPs each user signed in from before their current one (for the "new IP" signal).

Read from audit events the console already holds; nothing here calls the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from console.timeutil import normalize_ts

__all__ = ["sign_in_history"]

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


def sign_in_history(
    events: Iterable[Mapping[str, Any]], current_ips: Mapping[int, str | None]
) -> dict[int, set[str]]:
    """IPs each user signed in from *before* first using the IP they are signed in from now.

    The audit pane fetches only the incident window, so "seen before the window" would be empty
    for everyone; "seen before this address first appeared" works inside the window too. A user
    whose current IP never appears in the events gets every IP the events show.
    """
    seen: dict[int, list[tuple[str, str]]] = {}
    for event in events:
        if not isinstance(event, Mapping) or not _is_sign_in(event):
            continue
        author = event.get("author_id")
        details = event.get("details")
        details = details if isinstance(details, Mapping) else {}
        ip = event.get("ip_address") or details.get("ip_address")
        when = normalize_ts(event.get("created_at"))
        if isinstance(author, int) and author > 0 and isinstance(ip, str) and ip and when:
            seen.setdefault(author, []).append((when, ip))
    history: dict[int, set[str]] = {}
    for uid, sign_ins in seen.items():
        current = current_ips.get(uid)
        first_current = min((when for when, ip in sign_ins if ip == current), default=None)
        history[uid] = {
            ip for when, ip in sign_ins if first_current is None or when < first_current
        }
    return history
