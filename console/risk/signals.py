"""Local risk signals: each adds a weight and a human-readable reason.

Everything here is computed from data we already hold (the users cache, optionally token lists,
audit events and per-user IP history); nothing calls the server.  Scores only order the review
queue; they never trigger an action.  Reasons may quote other users' names: those are passed
through :func:`console.sanitize.safe` first, so a reason string is always display-safe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from console import timeutil
from console.audit import categorize
from console.confusables import skeleton
from console.risk.crowd import Crowd, Peer
from console.sanitize import clean, safe
from console.store import UserRow, user_kind
from console.timeutil import format_iso, normalize_ts, parse_ts, window_bound

__all__ = ["DORMANT_DAYS", "SHARED_IP_MAX", "WEIGHTS", "EventFacts", "compute_risk"]

WEIGHTS: Final[dict[str, int]] = {
    "admin_no_2fa": 40,
    "admin_created_in_window": 30,
    "admin_status_changed": 50,
    "created_in_window": 20,
    "new_ip": 25,
    "shared_ip": 15,
    "bot_token_never_expires": 20,
    "dormant_token_use": 35,
    "confusable_admin": 40,
    "confusable": 15,
    "name_like_admin": 20,
    "hidden_chars": 30,
    "non_ascii_username": 15,
    "mixed_script": 20,
    "markup": 20,
    "sensitive_changes": 10,  # per distinct category, capped at SENSITIVE_MAX
}
# Categories of audit events whose *author* deserves a look when they happen in the window: the
# persistence and exfiltration moves of GitLab's compromised-account guide. Sign-ins and the
# responder's own block/unblock (USER) are left out.
SENSITIVE_CATEGORIES: Final[dict[str, str]] = {
    "TOKEN": "tokens",
    "KEY": "keys",
    "2FA": "2FA",
    "CONFIG": "settings/membership",
    "RUNNER": "runners",
    "HOOK": "webhooks",
}
SENSITIVE_MAX: Final = 50
DORMANT_DAYS: Final = 90
# An IP shared by more accounts than this is probably an office NAT or VPN, not a signal.
SHARED_IP_MAX: Final = 25
ADMIN_EVENT: Final = "user_admin_status_updated"


@dataclass(slots=True)
class _U:
    id: int
    username: str
    name: str
    is_admin: bool
    two_factor: bool | None
    kind: str
    state: str | None
    created_at: str | None
    last_sign_in_at: str | None
    current_sign_in_at: str | None
    last_activity_on: str | None
    current_sign_in_ip: str | None


def _as_u(user: UserRow | Mapping[str, Any]) -> _U:
    if isinstance(user, UserRow):
        return _U(
            user.id,
            user.username,
            user.name,
            user.is_admin,
            user.two_factor,
            user.kind,
            user.state,
            user.created_at,
            user.last_sign_in_at,
            user.current_sign_in_at,
            user.last_activity_on,
            user.current_sign_in_ip,
        )
    two_factor = user.get("two_factor", user.get("two_factor_enabled"))
    kind = user.get("kind") or user_kind(user)
    return _U(
        int(user["id"]),
        str(user.get("username") or ""),
        str(user.get("name") or ""),
        bool(user.get("is_admin")),
        None if two_factor is None else bool(two_factor),
        str(kind),
        user.get("state"),
        normalize_ts(user.get("created_at")),
        normalize_ts(user.get("last_sign_in_at")),
        normalize_ts(user.get("current_sign_in_at")),
        user.get("last_activity_on"),
        user.get("current_sign_in_ip"),
    )


class EventFacts:
    """What risk reads of audit events, folded one event at a time: the last admin status change
    of each user in the window and the sensitive categories each author changed in it.

    Holds one entry per user named, never the events: a million stored events can stream
    through it (``console.risk.scoring``)."""

    __slots__ = ("_end", "_start", "admin_changes", "authored")

    def __init__(self, window: tuple[str | None, str | None], now: datetime | None = None) -> None:
        self._start = window_bound(window[0], end=False) or ""
        self._end = window_bound(window[1], end=True) or format_iso(now or timeutil.now())
        #: target user id → the last ``user_admin_status_updated`` event naming it (in order given)
        self.admin_changes: dict[int, Mapping[str, Any]] = {}
        #: author id → the sensitive categories of their events in the window
        self.authored: dict[int, set[str]] = defaultdict(set)

    def _in_window(self, ts: str | None) -> bool:
        return bool(ts) and self._start <= str(ts) <= self._end

    def add(self, ev: Mapping[str, Any]) -> None:
        raw_details = ev.get("details")
        details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
        name = details.get("event_name") or ev.get("event_name") or ev.get("event_type")
        if name == ADMIN_EVENT and self._in_window(normalize_ts(ev.get("created_at"))):
            # raw GitLab JSON keeps the target in details; console.audit flattens it to the top
            target = details.get("target_id") or ev.get("target_id")
            if target in (None, "") and ev.get("entity_type") == "User":
                target = ev.get("entity_id")
            target_id = _to_int(target)
            if target_id is not None:
                self.admin_changes[target_id] = ev
        author = _to_int(ev.get("author_id"))
        if author is None or not self._in_window(normalize_ts(ev.get("created_at"))):
            return
        category = ev.get("category") or categorize(ev)
        if category in SENSITIVE_CATEGORIES:
            self.authored[author].add(str(category))


def _label(u: _U | Peer) -> str:
    return f"@{safe(u.username, kind='username', max_cells=32)} (#{u.id})"


def compute_risk(
    users: Iterable[UserRow | Mapping[str, Any]],
    window: tuple[str | None, str | None],
    *,
    known_ips: Mapping[int, set[str]] | None = None,
    tokens: Iterable[Mapping[str, Any]] | None = None,
    events: Iterable[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
    crowd: Crowd | None = None,
    event_facts: EventFacts | None = None,
) -> dict[int, tuple[int, list[str]]]:
    """Score every user; returns ``{user_id: (score, [reason, ...])}`` for all users given.

    ``crowd`` is what compares a user with every other (shared IPs, confusable usernames, names
    like an admin's), gathered over the whole instance by a caller that scores users a batch at
    a time; by default it is gathered from the users given.

    ``window`` is the incident window (ISO-8601; a bare date covers the whole UTC day; a missing
    end means ``now``).  ``known_ips`` maps user id → IPs seen before the incident; ``tokens``
    are personal-access-token JSON objects (``user_id``, ``expires_at``, ``last_used_at``,
    ``active``/``revoked``); ``events`` are audit events (``user_admin_status_updated``, the
    sensitive categories). ``event_facts``: what they tell, folded beforehand (a caller scoring
    users a batch at a time folds the events once instead of passing them to every batch).
    """
    start = window_bound(window[0], end=False) or ""
    end = window_bound(window[1], end=True) or format_iso(now or timeutil.now())
    start_dt = parse_ts(start)

    def in_window(ts: str | None) -> bool:
        return bool(ts) and start <= str(ts) <= end

    people = [_as_u(u) for u in users]
    by_id = {u.id: u for u in people}
    out: dict[int, tuple[int, list[str]]] = {}
    scores: dict[int, int] = defaultdict(int)
    reasons: dict[int, list[str]] = defaultdict(list)

    def add(uid: int, signal: str, reason: str, weight: int | None = None) -> None:
        scores[uid] += WEIGHTS[signal] if weight is None else weight
        reasons[uid].append(reason)

    if event_facts is None:
        event_facts = EventFacts(window, now)
        for ev in events or ():
            event_facts.add(ev)
    admin_changes = event_facts.admin_changes
    authored = {a: c for a, c in event_facts.authored.items() if a in by_id}
    for author_id, categories in authored.items():
        names = ", ".join(SENSITIVE_CATEGORIES[c] for c in SENSITIVE_CATEGORIES if c in categories)
        add(
            author_id,
            "sensitive_changes",
            f"changed security-relevant things in the window ({names})",
            min(WEIGHTS["sensitive_changes"] * len(categories), SENSITIVE_MAX),
        )

    if crowd is None:
        crowd = Crowd()
        for u in people:
            crowd.add(u.id, u.username, u.name, u.is_admin, u.current_sign_in_ip)
        crowd.finish()

    for u in people:
        if u.is_admin and u.two_factor is False:
            add(u.id, "admin_no_2fa", "admin without 2FA")
        created = in_window(u.created_at)
        if created:
            add(u.id, "created_in_window", "account created in the incident window")
            if u.is_admin:
                add(u.id, "admin_created_in_window", "admin account created in the window")
        if u.id in admin_changes:
            ev = admin_changes[u.id]
            what = "promoted to admin" if u.is_admin else "admin status changed"
            ev_id = safe(ev.get("id"), kind="line", max_cells=20)
            add(u.id, "admin_status_changed", f"{what} in the window (audit event #{ev_id})")
        ip = u.current_sign_in_ip
        if ip:
            history = known_ips.get(u.id) if known_ips else None
            if history and ip not in history:
                safe_ip = safe(ip, kind="line", max_cells=45)
                add(u.id, "new_ip", f"sign-in from an IP never seen for this user ({safe_ip})")
            sharers = crowd.sharers.get(ip, 0)
            if 2 <= sharers <= SHARED_IP_MAX and (
                in_window(u.current_sign_in_at) or not u.current_sign_in_at
            ):
                safe_ip = safe(ip, kind="line", max_cells=45)
                others = sharers - 1
                plural = "s" if others != 1 else ""
                add(
                    u.id,
                    "shared_ip",
                    f"sign-in IP {safe_ip} shared with {others} other user{plural}",
                )

    # tokens: bots/service accounts with never-expiring tokens; dormant accounts using tokens
    never: dict[int, list[Any]] = defaultdict(list)
    used_in_window: dict[int, list[Any]] = defaultdict(list)
    for tok in tokens or ():
        uid = _to_int(tok.get("user_id"))
        if uid is None or uid not in by_id:
            continue
        live = tok.get("active", True) and not tok.get("revoked", False)
        if live and tok.get("expires_at") is None:
            never[uid].append(tok.get("id"))
        if in_window(normalize_ts(tok.get("last_used_at"))):
            used_in_window[uid].append(tok.get("id"))
    for uid, ids in never.items():
        u = by_id[uid]
        if u.kind in ("bot", "service"):
            n = len(ids)
            what = "service account" if u.kind == "service" else "bot"
            add(
                uid,
                "bot_token_never_expires",
                f"{what} holds {n} token{'s' if n != 1 else ''} that never expire"
                f"{'s' if n == 1 else ''}",
            )
    if start_dt is not None:
        # Token use bumps last_activity_on, so only web sign-ins tell whether a person was away.
        # Bots and service accounts never sign in: their tokens being used is their normal life.
        cutoff = start_dt - timedelta(days=DORMANT_DAYS)
        for uid in used_in_window:
            u = by_id[uid]
            if u.kind != "human":
                continue
            signed_in = [
                d
                for d in (parse_ts(u.current_sign_in_at), parse_ts(u.last_sign_in_at))
                if d is not None
            ]
            last = max(signed_in) if signed_in else parse_ts(u.created_at)
            if last is not None and last <= cutoff:
                add(
                    uid,
                    "dormant_token_use",
                    f"dormant account (no sign-in for {DORMANT_DAYS}+ days before the window) "
                    "used a token in the window",
                )

    # look-alikes and hidden characters
    for u in people:
        peers = crowd.confusable.get(u.id)
        if not peers:
            continue
        admins = [o for o in peers if o.is_admin]
        if admins and not u.is_admin:
            add(u.id, "confusable_admin", f"username confusable with admin {_label(admins[0])}")
        else:
            add(u.id, "confusable", f"username confusable with {_label(peers[0])}")
    # display names that look like an admin's (names repeat a lot, so only admins count)
    if crowd.admin_names:
        for u in people:
            if u.is_admin or not u.name:
                continue
            hit = crowd.admin_names.get(skeleton(u.name))
            if hit is not None:
                add(u.id, "name_like_admin", f"display name looks like admin {_label(hit)}")

    for u in people:
        uflags = clean(u.username, kind="username").flags if not _plain(u.username) else None
        nflags = clean(u.name, kind="name").flags if not _plain(u.name) else None
        hidden = {"control", "bidi", "invisible", "newline"}
        where = [w for w, f in (("username", uflags), ("name", nflags)) if f and f & hidden]
        if where:
            add(
                u.id,
                "hidden_chars",
                f"{' and '.join(where)}: hidden, bidi or control characters",
            )
        if uflags and "non_ascii" in uflags:
            add(u.id, "non_ascii_username", "non-ASCII characters in the username")
        mixed = [
            w for w, f in (("username", uflags), ("name", nflags)) if f and "mixed_script" in f
        ]
        if mixed:
            add(u.id, "mixed_script", f"mixed scripts in the {' and '.join(mixed)}")
        if any(f and "markup" in f for f in (uflags, nflags)):
            add(u.id, "markup", "markup-like text in the username or name")

    for u in people:
        out[u.id] = (scores.get(u.id, 0), reasons.get(u.id, []))
    return out


def _to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def _plain(s: str) -> bool:
    """Printable ASCII with no ``[`` cannot carry any of the character-level signals."""
    return s.isascii() and s.isprintable() and "[" not in s
