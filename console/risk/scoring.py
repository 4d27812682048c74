"""Score every cached user of an incident and store the result (blocking: SQLite).

Gathers the inputs :func:`console.risk.signals.compute_risk` needs from what the panes fetched
(audit events in the store's events table, else an older cached list; the PAT list) and writes
scores and reasons to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, Final

from console.audit import events_cache_key
from console.risk.crowd import Crowd
from console.risk.sign_ins import SignIns
from console.risk.signals import ADMIN_EVENT, SENSITIVE_CATEGORIES, EventFacts, compute_risk

if TYPE_CHECKING:
    from console.store import Store, UserRow

__all__ = ["AUDIT_EVENTS_CACHE_KEY", "TOKENS_CACHE_KEY", "RiskCancelled", "compute_and_store_risk"]

#: Cache keys (store.cache_get) compute_and_store_risk reads when not given events / tokens:
#: audit events as a list or ``{"events": [...]}``; PAT JSON as a list or ``{"tokens": [...]}``.
AUDIT_EVENTS_CACHE_KEY: Final = "audit_events"
TOKENS_CACHE_KEY: Final = "tokens"
#: What risk reads of the stored events: sign-ins (IP history), the sensitive categories and
#: admin changes (a million stored events never become one list).
_RISK_CATEGORIES: Final = frozenset({"SIGNIN", *SENSITIVE_CATEGORIES})
_RISK_NAMES: Final = frozenset({ADMIN_EVENT})
#: Users scored (and written) at a time.
_BATCH: Final = 5_000
#: Events or users between two looks at ``cancelled()``.
_CHECK_EVERY: Final = 2_000


def _stored_events(
    store: Store, incident_id: int, window: tuple[str | None, str | None]
) -> Iterator[dict[str, Any]] | None:
    """The window's instance audit events risk needs, streamed from the store's events table
    (where the audit pane keeps them) a batch at a time; None when nothing is stored for the
    instance yet."""
    from console.store import EventQuery

    if "instance" not in store.audit_scopes(incident_id):
        return None
    q = EventQuery(scope="instance", since=window[0], until=window[1], categories=_RISK_CATEGORIES)
    return store.iter_events(incident_id, q, or_event_names=_RISK_NAMES)


def _cached_events(store: Store, incident_id: int, window: tuple[str | None, str | None]) -> Any:
    """Audit events the audit pane stored for this window, else an old cached list."""
    stored = _stored_events(store, incident_id, window)
    if stored is not None:
        return stored
    for key in (events_cache_key(*window), AUDIT_EVENTS_CACHE_KEY):
        cached = store.cache_get(incident_id, key)
        if cached is not None:
            return cached[0]
    return None


def _records(value: Any, field_name: str) -> Iterator[Mapping[str, Any]]:
    """The mappings of a list, ``{field_name: [...]}`` or a stream, one at a time."""
    if isinstance(value, Mapping):
        value = value.get(field_name)
    if value is None or isinstance(value, str | bytes | Mapping):
        return iter(())
    return (item for item in value if isinstance(item, Mapping))


def _as_records(value: Any, field_name: str) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        value = value.get(field_name)
    if value is None or isinstance(value, str | bytes | Mapping):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _given_or_cached(
    store: Store,
    incident_id: int,
    given: Iterable[Mapping[str, Any]] | None,
    key: str,
    field_name: str,
) -> list[Mapping[str, Any]]:
    value: Any = given
    if value is None:
        cached = store.cache_get(incident_id, key)
        value = cached[0] if cached is not None else None
    return _as_records(value, field_name)


def compute_and_store_risk(
    store: Store,
    incident_id: int,
    window: tuple[str | None, str | None] | None = None,
    *,
    tokens: Iterable[Mapping[str, Any]] | None = None,
    events: Iterable[Mapping[str, Any]] | None = None,
    known_ips: Mapping[int, set[str]] | None = None,
    now: datetime | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[int, tuple[int, list[str]]]:
    """Score every cached user of the incident with ``compute_risk`` and store it.

    ``window`` defaults to the incident's window. ``events`` are audit events (raw GitLab JSON or
    ``AuditEvent.to_dict()``) and ``tokens`` PAT JSON (``users_load.fetch_tokens_blocking``); when
    None, what the audit pane cached for the window (or ``AUDIT_EVENTS_CACHE_KEY``) and
    ``TOKENS_CACHE_KEY`` hold is used.
    Sign-in events give each user's earlier IPs (:func:`sign_in_history`, unless ``known_ips`` is
    passed), so a sign-in from an address never seen before stands out. Blocking (SQLite):
    call it from a worker thread. ``cancelled()`` is asked every few thousand events and users
    (a scoring the UI superseded stops instead of running on for seconds); it raises
    :class:`RiskCancelled`, leaving the batches already stored.
    """
    stop = _checker(cancelled)
    if window is None:
        incident = store.get_incident(incident_id)
        window = incident.window if incident is not None else (None, None)
    if events is None:
        events = _records(_cached_events(store, incident_id, window), "events")
    # The events are read once, as a stream, and folded: what risk needs of them is a few
    # entries per user named (sign-in IPs, admin changes, sensitive categories), never a list.
    facts = EventFacts(window, now)
    sign_ins = SignIns()
    for n, event in enumerate(events):
        if n % _CHECK_EVERY == 0:
            stop()
        facts.add(event)
        if known_ips is None:
            sign_ins.add(event)
    token_list = _given_or_cached(store, incident_id, tokens, TOKENS_CACHE_KEY, "tokens")
    # One pass for what compares users with each other (shared IPs, confusable usernames, names
    # like an admin's), then the users a batch at a time: 100,000 user rows never sit in memory
    # together, and every batch is compared with the whole instance.
    current_ips: dict[int, str | None] = {}
    crowd = Crowd()
    for n, user in enumerate(store.iter_users(incident_id)):
        if n % _CHECK_EVERY == 0:
            stop()
        current_ips[user.id] = user.current_sign_in_ip
        crowd.add(user.id, user.username, user.name, user.is_admin, user.current_sign_in_ip)
    crowd.finish()
    if known_ips is None:
        known_ips = sign_ins.history(current_ips)
    del current_ips
    risks: dict[int, tuple[int, list[str]]] = {}
    batch: list[UserRow] = []
    users = store.iter_users(incident_id)
    while True:
        stop()
        batch = list(islice(users, _BATCH))
        if not batch:
            break
        scored = compute_risk(
            batch,
            window,
            known_ips=known_ips,
            tokens=token_list or None,
            event_facts=facts,
            now=now,
            crowd=crowd,
        )
        store.set_risk(incident_id, scored, replace=False)  # every user of the batch is scored
        risks.update(scored)
    return risks


class RiskCancelled(Exception):
    """The caller's ``cancelled()`` said stop (:func:`compute_and_store_risk`)."""


def _checker(cancelled: Callable[[], bool] | None) -> Callable[[], None]:
    def check() -> None:
        if cancelled is not None and cancelled():
            raise RiskCancelled

    return check
