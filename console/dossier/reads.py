"""The dossier's per-section reads, all through :mod:`console.api.pages`.

Pinned next links, bounded and cancellable waits, retries of transient failures: the same policy
as every other read. Each method returns one :class:`~console.dossier.model.Section`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import gitlab
import gitlab.exceptions

from console import audit
from console.api.pages import CancelledFn, HttpStatusError, WaitCallback, get_json, iter_pages
from console.dossier.model import (
    AUTHOR_SCAN_LIMIT,
    EVENTS_LIMIT,
    Section,
    Window,
    access_level,
    free_tier_problem,
    listed,
    plain,
)
from console.timeutil import parse_ts

__all__ = ["Reader"]


def _bound(text: str) -> datetime:
    moment = parse_ts(text)
    if moment is None:
        raise ValueError(f"the incident window bound {text!r} is not an ISO-8601 time")
    return moment


class Reader:
    """The dossier's reads, all through :mod:`console.api.pages` (pinned links, bounded waits)."""

    def __init__(
        self,
        gl: gitlab.Gitlab,
        user_id: int,
        window: Window,
        cancelled: CancelledFn | None = None,
        on_wait: WaitCallback | None = None,
    ) -> None:
        self.gl = gl
        self.user_id = int(user_id)
        self.window = window
        self.cancelled = cancelled
        self.on_wait = on_wait
        self.base = f"/users/{self.user_id}"

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterable[Any]:
        """Every item of a listing, page by page."""
        query = {"per_page": 100, **(params or {})}
        for page in iter_pages(
            self.gl, path, query, cancelled=self.cancelled, on_wait=self.on_wait
        ):
            yield from (item for item in page if isinstance(item, Mapping))

    def listing(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return list(self.pages(path, params))

    def get(self, path: str) -> dict[str, Any]:
        body = get_json(self.gl, path, cancelled=self.cancelled, on_wait=self.on_wait)
        if not isinstance(body, Mapping):
            raise gitlab.exceptions.GitlabParsingError(f"{path} did not answer with an object")
        return dict(body)

    def profile(self) -> Section:
        data = plain(self.get(self.base))
        note = None
        if "current_sign_in_ip" not in data:
            note = "sign-in IPs are shown to administrators only"
        return Section("profile", data, None, note)

    def emails(self) -> Section:
        return Section("emails", listed(self.listing(f"{self.base}/emails")))

    def memberships(self) -> Section:
        items = listed(self.listing(f"{self.base}/memberships"))
        for item in items:
            item["access_level"] = access_level(item.get("access_level"))
        items.sort(
            key=lambda m: (-m["access_level"], str(m.get("source_type")), str(m.get("source_id")))
        )
        return Section("memberships", items, None, "direct memberships only")

    def tokens(self) -> Section:
        tokens = listed(self.listing("/personal_access_tokens", {"user_id": self.user_id}))
        missing = 0
        for item in tokens:
            if "last_used_ips" in item or item.get("id") is None:
                continue
            try:
                detail = plain(self.get(f"/personal_access_tokens/{int(item['id'])}"))
            except (HttpStatusError, gitlab.exceptions.GitlabError):
                missing += 1
                continue
            item["last_used_ips"] = detail.get("last_used_ips")
        note = None
        if missing:
            note = f"last-used IPs unavailable for {missing} token(s)"
        return Section("tokens", tokens, None, note)

    def impersonation_tokens(self) -> Section:
        items = listed(self.listing(f"{self.base}/impersonation_tokens", {"state": "all"}))
        return Section("impersonation_tokens", items)

    def ssh_keys(self) -> Section:
        return Section("ssh_keys", listed(self.listing(f"{self.base}/keys")))

    def gpg_keys(self) -> Section:
        return Section("gpg_keys", listed(self.listing(f"{self.base}/gpg_keys")))

    def events(self) -> Section:
        start, end = _bound(self.window[0]), _bound(self.window[1])
        # after/before are exclusive dates
        after = (start.date() - timedelta(days=1)).isoformat()
        before = (end.date() + timedelta(days=1)).isoformat()
        items: list[dict[str, Any]] = []
        truncated = False
        for event in self.pages(f"{self.base}/events", {"after": after, "before": before}):
            if len(items) >= EVENTS_LIMIT:
                truncated = True
                break
            items.append(plain(event))
        note = f"newest {EVENTS_LIMIT} contribution events only" if truncated else None
        return Section("events", items, None, note)

    def audit_events(self, admin_view: Callable[[], bool]) -> Section:
        """Instance audit events about the user (entity filter) and by the user (author scan).

        The API has no author filter, so actions *by* the user come from scanning the window's
        instance events (newest first, at most ``AUTHOR_SCAN_LIMIT``) and keeping those whose
        ``author_id`` is the user. Group/project audit logs are not scanned here.
        """
        about = audit.fetch_audit_events(
            self.gl,
            ("instance", None),
            self.window,
            entity_type="User",
            entity_id=self.user_id,
            cancelled=self.cancelled,
            on_wait=self.on_wait,
        )
        if about.coverage_gap:
            if admin_view():
                return Section("audit_events", None, free_tier_problem(about.problem))
            return Section("audit_events", None, about.problem)
        merged: dict[int, dict[str, Any]] = {}
        for event in about.events:
            merged[event.id] = {**event.to_dict(), "relation": "about"}
        scanned = 0

        def count(progress: audit.AuditProgress) -> None:
            nonlocal scanned
            scanned = progress.events

        def enough() -> bool:
            return scanned >= AUTHOR_SCAN_LIMIT or (self.cancelled is not None and self.cancelled())

        scan = audit.fetch_audit_events(
            self.gl,
            ("instance", None),
            self.window,
            on_progress=count,
            cancelled=enough,
            on_wait=self.on_wait,
        )
        for event in scan.events:
            if event.author_id != self.user_id:
                continue
            existing = merged.get(event.id)
            if existing is not None:
                existing["relation"] = "about+by"
            else:
                merged[event.id] = {**event.to_dict(), "relation": "by"}
        items = sorted(merged.values(), key=lambda e: (str(e["created_at"]), e["id"]), reverse=True)
        note = (
            "GitLab's API cannot filter audit events by author: events about this user are "
            f"listed in full; actions by this user come from a scan of {len(scan.events)} "
            "instance events"
        )
        if not scan.complete and scan.problem is None:
            note += f" (capped near {AUTHOR_SCAN_LIMIT}; older actions by the user may be missing)"
        note += "."
        problem = about.problem or scan.problem
        return Section("audit_events", items, problem, note)
