"""The startup flow's blocking steps: each runs in a thread worker while a screen says what it does.

Headless (no Textual): ``screens/startup.py`` drives the screens and calls these in order:
settings → profile/token → (capability check, :func:`console.session.check_connection`) → save
the profile → open the store → open incidents → resume or start one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from console.config import normalize_url
from console.errors import ConfigError
from console.profiles import Profile, ProfileBook, import_python_gitlab_cfg
from console.session import Connection, Launch, StartPlan, db_path, plan_start
from console.store.lock import claim_writer

if TYPE_CHECKING:
    from console.store import Incident, Store

__all__ = [
    "UNREACHABLE_KINDS",
    "import_profiles",
    "new_incident",
    "open_incidents",
    "open_store",
    "plan_launch",
    "resume_incident",
    "save_new_profile",
]


UNREACHABLE_KINDS = frozenset(
    {"refused", "timeout", "unreachable", "network", "dns", "server_down"}
)
"""``Problem.kind`` values meaning "GitLab cannot be reached": ``--resume`` then opens the
incident read-only from the local cache instead of stopping at the error."""


def plan_launch(launch: Launch) -> StartPlan:
    """``plan_start``, except that several profiles and no choice on the command line means
    "ask": the responder picks (the default is listed first) instead of silently getting it."""
    book: ProfileBook | None = None
    if not launch.demo:
        with contextlib.suppress(ConfigError):  # plan_start reports it if it needs the book
            book = ProfileBook.load()
    default = book.default if book is not None else None
    if book is not None and len(book.profiles) > 1 and not (launch.profile or launch.url):
        book.default = None
    plan = plan_start(launch, book=book)
    plan.profiles.sort(key=lambda p: p.name != default)
    return plan


def import_profiles() -> tuple[int, list[str], list[Profile]]:
    """Import ``~/.python-gitlab.cfg`` (never its tokens): (added, plaintext sections, profiles)."""
    book = ProfileBook.load()
    imported = import_python_gitlab_cfg(existing=book.names())
    for item in imported.profiles:
        book.add(item.profile)
    book.save()
    profiles = [book.profiles[name] for name in book.names()]
    return len(imported.profiles), imported.plaintext_sections, profiles


def save_new_profile(profile: Profile | None) -> None:
    """After a successful check, remember a profile typed into the form (never its token)."""
    if profile is None:
        return
    book = ProfileBook.load()
    book.add(profile, replace=True)
    book.save()


def open_store(is_drill: bool) -> Store:
    from console.store import Store

    return Store.open(db_path(is_drill))


def open_incidents(store: Store, conn: Connection) -> list[Incident]:
    """Open incidents for this instance, most recently active first."""
    # The drill gets a new port every run, and has its own database: match any drill incident.
    url = normalize_url(conn.config.url)
    return [
        i
        for i in store.list_incidents("open")
        if conn.is_drill or normalize_url(i.instance_url) == url
    ]


def new_incident(
    store: Store, conn: Connection, fields: Mapping[str, str], write: bool = True
) -> Incident:
    """Start an incident with ``fields`` (title, kind, window_start, window_end)."""
    incident = store.create_incident(
        title=fields["title"],
        kind=fields["kind"],
        profile=conn.profile_name,
        instance_url=conn.config.url,
        window_start=fields["window_start"],
        window_end=fields["window_end"],
    )
    if write:
        claim_writer(store.path, incident.id)
    return incident


def resume_incident(
    store: Store, conn: Connection, incident: Incident, write: bool = True
) -> Incident:
    """Touch ``incident``; follow the instance if its URL changed (e.g. the drill's port).

    Also holds it for writing unless another console does (then this one is read-only for
    response actions: :func:`console.store.lock.other_writer` says who has it). A console
    started ``--read-only`` (``write=False``) never takes the lock.
    """
    if write:
        claim_writer(store.path, incident.id)
    if incident.instance_url != conn.config.url:
        return store.update_incident(incident.id, instance_url=conn.config.url)
    store.touch_incident(incident.id)
    return incident
