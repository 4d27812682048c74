"""The drill's in-memory GitLab instance: the records of ``model`` plus one lock.

Route handlers take ``state.lock`` for every read-modify-write. Every mutation bumps
``state.mutations`` (the server does it after each non-GET request; ``add_user`` and
``remove_user`` do it themselves; code that edits records directly calls ``touch()``), which
invalidates the small cache of filtered, ordered lists (``cached_list``) that makes list paging
cheap. Timestamps are stored as the exact strings GitLab would send (``iso()``), so they
serialise and compare cheaply: every stored timestamp is UTC with the same width, so string
order is time order.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from console.drill.model import (
    AuditEvent,
    ContribEvent,
    DeployKey,
    DeployToken,
    Email,
    GpgKey,
    Group,
    Hook,
    Member,
    OAuthApp,
    Project,
    Runner,
    SshKey,
    Token,
    User,
    Variable,
)
from console.drill.timefmt import iso


class DrillState:
    """The whole simulated instance. Mutate only while holding ``lock``."""

    def __init__(self, *, seed: int, tier: str, now: datetime | None = None) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.tier = tier
        self.now = now or datetime.now(UTC)
        self.url = "http://127.0.0.1"
        self.users: dict[int, User] = {}
        self.user_order: list[User] = []  # sorted by id
        self.by_username: dict[str, User] = {}
        self.tokens: dict[int, Token] = {}
        self.token_index: dict[str, int] = {}
        self.ssh_keys: dict[int, list[SshKey]] = {}
        self.gpg_keys: dict[int, list[GpgKey]] = {}
        self.emails: dict[int, list[Email]] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self.members: list[Member] = []
        self.runners: dict[int, Runner] = {}
        self.variables: list[Variable] = []
        self.hooks: dict[int, Hook] = {}
        self.deploy_tokens: dict[int, DeployToken] = {}
        self.deploy_keys: dict[int, DeployKey] = {}
        self.oauth_apps: dict[int, OAuthApp] = {}
        self.audit: list[AuditEvent] = []  # id order == time order
        self.contrib: dict[int, list[ContribEvent]] = {}
        self.settings: dict[str, Any] = {}
        self.version = "18.4.1-ee"
        self.revision = "5f1c2a7e3b9"
        self.seeded_max_id = 0  # users above this id are formula-generated bulk users
        # Lazily generated per-user detail for bulk users (keys, emails, events).
        self.detail_factory: Callable[[DrillState, User], None] | None = None
        self._detailed: set[int] = set()
        self._counters: dict[str, Iterator[int]] = {}
        self.mutations = 0
        self._lists: OrderedDict[Hashable, Sequence[Any]] = OrderedDict()
        self._lists_at = 0  # ``mutations`` when ``_lists`` was filled

    # ------------------------------------------------------------------ list cache

    #: Filtered/ordered lists kept (least recently used dropped first). A partitioned user load
    #: pages 16 creation-time slices at once, each its own list.
    LIST_CACHE_SIZE = 48

    def touch(self) -> None:
        """Record a mutation: every cached list is stale from now on."""
        self.mutations += 1

    def cached_list(self, key: Hashable, build: Callable[[], Sequence[Any]]) -> Sequence[Any]:
        """``build()``'s result for ``key`` as of the current state (call under ``lock``).

        The records in the list are the live objects, so an unchanged membership still shows
        their current fields; any mutation (``touch``) rebuilds on the next request.
        """
        if self._lists_at != self.mutations:
            self._lists.clear()
            self._lists_at = self.mutations
        found = self._lists.get(key)
        if found is not None:
            self._lists.move_to_end(key)
            return found
        built = build()
        self._lists[key] = built
        while len(self._lists) > self.LIST_CACHE_SIZE:
            self._lists.popitem(last=False)
        return built

    # ------------------------------------------------------------------ ids and time

    def next_id(self, kind: str, start: int = 1) -> int:
        counter = self._counters.get(kind)
        if counter is None:
            counter = itertools.count(start)
            self._counters[kind] = counter
        return next(counter)

    def reserve_ids(self, kind: str, start: int) -> None:
        """Make the next ``next_id(kind)`` at least ``start``."""
        self._counters[kind] = itertools.count(start)

    def current_time(self) -> datetime:
        """Wall clock for new records (the seed is anchored at ``self.now``)."""
        return datetime.now(UTC)

    def now_iso(self) -> str:
        stamp = iso(self.current_time())
        assert stamp is not None
        return stamp

    def today(self) -> date:
        return self.current_time().date()

    # ------------------------------------------------------------------ users

    def add_user(self, user: User) -> User:
        self.mutations += 1
        self.users[user.id] = user
        if self.user_order and self.user_order[-1].id > user.id:
            self.user_order.append(user)
            self.user_order.sort(key=lambda u: u.id)
        else:
            self.user_order.append(user)
        self.by_username[user.username.lower()] = user
        return user

    def remove_user(self, user: User) -> None:
        self.mutations += 1
        self.users.pop(user.id, None)
        self.by_username.pop(user.username.lower(), None)
        self.user_order = [u for u in self.user_order if u.id != user.id]

    def find_user(self, ref: str | int) -> User | None:
        text = str(ref)
        if text.isdigit():
            return self.users.get(int(text))
        return self.by_username.get(text.lower())

    def ensure_detail(self, user: User) -> None:
        """Generate keys/emails/events for a bulk user on first access."""
        if user.id in self._detailed:
            return
        self._detailed.add(user.id)
        if user.id > self.seeded_max_id and self.detail_factory is not None:
            self.detail_factory(self, user)

    # ------------------------------------------------------------------ tokens

    def add_token(self, token: Token) -> Token:
        self.tokens[token.id] = token
        self.token_index[token_digest(token.value)] = token.id
        return token

    def token_by_value(self, value: str) -> Token | None:
        tid = self.token_index.get(token_digest(value))
        return self.tokens.get(tid) if tid is not None else None

    # ------------------------------------------------------------------ namespaces

    def member(self, source_type: str, source_id: int, user_id: int) -> Member | None:
        for m in self.members:
            if m.source_type == source_type and m.source_id == source_id and m.user_id == user_id:
                return m
        return None

    def group_access(self, group_id: int, user_id: int) -> int:
        """Effective access in a group, including inherited access from ancestors."""
        best = 0
        gid: int | None = group_id
        while gid is not None:
            m = self.member("Namespace", gid, user_id)
            if m is not None:
                best = max(best, m.access_level)
            parent = self.groups.get(gid)
            gid = parent.parent_id if parent is not None else None
        return best

    def project_access(self, project_id: int, user_id: int) -> int:
        project = self.projects.get(project_id)
        if project is None:
            return 0
        m = self.member("Project", project_id, user_id)
        direct = m.access_level if m is not None else 0
        return max(direct, self.group_access(project.group_id, user_id))

    def group_path(self, group_id: int) -> str:
        group = self.groups.get(group_id)
        return group.full_path if group is not None else ""

    def project_path(self, project_id: int) -> str:
        project = self.projects.get(project_id)
        if project is None:
            return ""
        return f"{self.group_path(project.group_id)}/{project.path}"

    # ------------------------------------------------------------------ audit

    def add_audit(
        self,
        *,
        author: User | None,
        entity_type: str,
        entity_id: int,
        event_name: str | None,
        message: str | None = None,
        target: tuple[int | str, str, str] | None = None,
        ip: str | None = "127.0.0.1",
        created_at: str | None = None,
        entity_path: str | None = None,
        extra: dict[str, Any] | None = None,
        author_name: str | None = None,
    ) -> AuditEvent:
        """Record an audit event shaped like GitLab's ``API::Entities::AuditEvent``.

        ``target`` is ``(target_id, target_type, target_details)``. New events get the
        current time and the next id, so id order stays time order.
        """
        details: dict[str, Any] = {}
        if event_name is not None:
            details["event_name"] = event_name
        if message is not None:
            details["custom_message"] = message
        if extra:
            details.update(extra)
        details["author_name"] = (
            author_name
            if author_name is not None
            else (author.name if author is not None else "An unauthenticated user")
        )
        if author is not None:
            details["author_email"] = author.email
            details["author_class"] = "User"
        if target is not None:
            details["target_id"] = target[0]
            details["target_type"] = target[1]
            details["target_details"] = target[2]
        details["ip_address"] = ip
        if entity_path is None:
            entity_path = self._entity_path(entity_type, entity_id)
        details["entity_path"] = entity_path
        event = AuditEvent(
            id=self.next_id("audit"),
            author_id=author.id if author is not None else -1,
            entity_id=entity_id,
            entity_type=entity_type,
            event_name=event_name,
            details=details,
            created_at=created_at or self.now_iso(),
        )
        self.audit.append(event)
        return event

    def _entity_path(self, entity_type: str, entity_id: int) -> str:
        if entity_type == "User":
            user = self.users.get(entity_id)
            return user.username if user is not None else ""
        if entity_type == "Group":
            return self.group_path(entity_id)
        if entity_type == "Project":
            return self.project_path(entity_id)
        return "gitlab_instance"


def token_digest(value: str) -> str:
    """Tokens are indexed by digest, as GitLab stores them, never by plain value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def find_group(state: DrillState, ref: str) -> Group | None:
    if ref.isdigit():
        return state.groups.get(int(ref))
    for g in state.groups.values():
        if g.full_path.lower() == ref.lower():
            return g
    return None


def find_project(state: DrillState, ref: str) -> Project | None:
    if ref.isdigit():
        return state.projects.get(int(ref))
    for p in state.projects.values():
        if state.project_path(p.id).lower() == ref.lower():
            return p
    return None
