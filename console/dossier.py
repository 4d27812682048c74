"""Per-user dossier: everything the runbook asks a responder to look at for one account.

``fetch_dossier`` is synchronous (python-gitlab) and is meant for a Textual thread worker. It
never raises for a server failure: each :class:`Section` carries its own :class:`Problem`, so a
403 on one endpoint (not admin, Free tier, …) leaves the rest of the dossier intact.

The blast radius lists, for every group and project where the user is Maintainer or Owner, the
credentials an attacker holding that account could have read or replaced: CI/CD variables
(metadata only), runners, webhooks, deploy tokens and group/project access tokens.

Secret values never enter a dossier: variable values, token values, hook secrets and URL
credentials are dropped or masked at the point they are read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import gitlab
import gitlab.exceptions

from console import audit
from console.api.pages import CancelledFn, WaitCallback, get_json, iter_pages
from console.errors import Problem, describe_error
from console.secret import redact_url

__all__ = [
    "BLAST_MIN_ACCESS",
    "Dossier",
    "Section",
    "fetch_dossier",
    "free_tier_problem",
]

#: Maintainer (40) and Owner (50) can read CI/CD variables and manage hooks, tokens, runners.
BLAST_MIN_ACCESS: Final = 40
#: The API cannot filter audit events by author: we scan at most this many instance events.
AUTHOR_SCAN_LIMIT: Final = 5000
#: Contribution events kept per dossier (newest first).
EVENTS_LIMIT: Final = 2000
MAX_WORKERS: Final = 6
#: Namespaces whose credentials are listed, at most (direct ones first, then inherited).
BLAST_MAX_NAMESPACES: Final = 60

_SECRET_KEYS: Final = frozenset(
    {"token", "value", "secret", "password", "runners_token", "signing_token", "private_token"}
)
_VARIABLE_KEYS: Final = ("key", "protected", "masked", "hidden", "environment_scope")
_FREE_TIER_PROBLEM_DETAIL: Final = "audit events need Premium; showing contribution events instead"

Window = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    items: list[dict[str, Any]] | dict[str, Any] | None
    problem: Problem | None = None
    note: str | None = None

    @property
    def count(self) -> int | None:
        if isinstance(self.items, list):
            return len(self.items)
        return None


def _empty(name: str) -> Section:
    return Section(name, None, None, "not fetched")


@dataclass(frozen=True, slots=True)
class Dossier:
    user_id: int
    window: Window
    fetched_at: str
    seconds: float
    profile: Section = field(default_factory=lambda: _empty("profile"))
    emails: Section = field(default_factory=lambda: _empty("emails"))
    memberships: Section = field(default_factory=lambda: _empty("memberships"))
    tokens: Section = field(default_factory=lambda: _empty("tokens"))
    impersonation_tokens: Section = field(default_factory=lambda: _empty("impersonation_tokens"))
    ssh_keys: Section = field(default_factory=lambda: _empty("ssh_keys"))
    gpg_keys: Section = field(default_factory=lambda: _empty("gpg_keys"))
    events: Section = field(default_factory=lambda: _empty("events"))
    audit_events: Section = field(default_factory=lambda: _empty("audit_events"))
    blast_radius: Section = field(default_factory=lambda: _empty("blast_radius"))

    @property
    def sections(self) -> list[Section]:
        """All sections in display order."""
        return [
            getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Section)
        ]

    def section(self, name: str) -> Section:
        value = getattr(self, name, None)
        if not isinstance(value, Section):
            raise KeyError(name)
        return value

    @property
    def problems(self) -> list[Section]:
        return [s for s in self.sections if s.problem is not None]


# --------------------------------------------------------------------------- helpers


def _parse_moment(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        data = dict(obj)
    else:
        data = dict(obj.asdict())
    for key in _SECRET_KEYS.intersection(data):
        del data[key]
    return data


def _variable(obj: Any) -> dict[str, Any]:
    data = obj if isinstance(obj, Mapping) else obj.asdict()
    return {key: data.get(key) for key in _VARIABLE_KEYS}


def _hook(obj: Any) -> dict[str, Any]:
    data = _plain(obj)
    data["url"] = redact_url(str(data.get("url") or ""))[0]
    for key in ("url_variables", "custom_headers"):
        if isinstance(data.get(key), list):
            data[key] = [{"key": v.get("key")} for v in data[key] if isinstance(v, Mapping)]
    return data


def _access_level(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Mapping):  # some entities nest {"integer_value": 40}
        return _access_level(value.get("integer_value") or value.get("access_level"))
    return 0


def free_tier_problem(original: Problem | None) -> Problem:
    """The audit-events section's problem on Free tier (no audit API): not an error."""
    return Problem(
        "Audit events unavailable",
        _FREE_TIER_PROBLEM_DETAIL,
        "The contribution events section lists pushes, comments and other activity; audit "
        "events need GitLab Premium or Ultimate on a self-managed instance.",
        "coverage",
        original.status if original is not None else None,
    )


def _guard(name: str, fn: Callable[[], Section]) -> Section:
    try:
        return fn()
    except Exception as exc:  # one section failing never sinks the dossier
        return Section(name, None, describe_error(exc))


def _listed(
    objs: Iterable[Any], convert: Callable[[Any], dict[str, Any]] = _plain
) -> list[dict[str, Any]]:
    return [convert(o) for o in objs]


# --------------------------------------------------------------------------- sections


class _Fetch:
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
        data = _plain(self.get(self.base))
        note = None
        if "current_sign_in_ip" not in data:
            note = "sign-in IPs are shown to administrators only"
        return Section("profile", data, None, note)

    def emails(self) -> Section:
        return Section("emails", _listed(self.listing(f"{self.base}/emails")))

    def memberships(self) -> Section:
        items = _listed(self.listing(f"{self.base}/memberships"))
        for item in items:
            item["access_level"] = _access_level(item.get("access_level"))
        items.sort(
            key=lambda m: (-m["access_level"], str(m.get("source_type")), str(m.get("source_id")))
        )
        return Section("memberships", items, None, "direct memberships only")

    def tokens(self) -> Section:
        tokens = _listed(self.listing("/personal_access_tokens", {"user_id": self.user_id}))
        missing = 0
        for item in tokens:
            if "last_used_ips" in item or item.get("id") is None:
                continue
            try:
                detail = _plain(self.get(f"/personal_access_tokens/{int(item['id'])}"))
            except gitlab.exceptions.GitlabError:
                missing += 1
                continue
            item["last_used_ips"] = detail.get("last_used_ips")
        note = None
        if missing:
            note = f"last-used IPs unavailable for {missing} token(s)"
        return Section("tokens", tokens, None, note)

    def impersonation_tokens(self) -> Section:
        items = _listed(self.listing(f"{self.base}/impersonation_tokens", {"state": "all"}))
        return Section("impersonation_tokens", items)

    def ssh_keys(self) -> Section:
        return Section("ssh_keys", _listed(self.listing(f"{self.base}/keys")))

    def gpg_keys(self) -> Section:
        return Section("gpg_keys", _listed(self.listing(f"{self.base}/gpg_keys")))

    def events(self) -> Section:
        start, end = _parse_moment(self.window[0]), _parse_moment(self.window[1])
        # after/before are exclusive dates
        after = (start.date() - timedelta(days=1)).isoformat()
        before = (end.date() + timedelta(days=1)).isoformat()
        items: list[dict[str, Any]] = []
        truncated = False
        for event in self.pages(f"{self.base}/events", {"after": after, "before": before}):
            if len(items) >= EVENTS_LIMIT:
                truncated = True
                break
            items.append(_plain(event))
        note = f"newest {EVENTS_LIMIT} contribution events only" if truncated else None
        return Section("events", items, None, note)

    def audit_events(self, admin_view: Callable[[], bool]) -> Section:
        """Instance audit events about the user (entity filter) and by the user (author scan).

        The API has no author filter, so actions *by* the user come from scanning the window's
        instance events (newest first, at most ``AUTHOR_SCAN_LIMIT``) and keeping those whose
        ``author_id`` is the user. Group/project audit logs are not scanned here.
        """
        about = audit.fetch_audit_events(
            self.gl, ("instance", None), self.window, entity_type="User", entity_id=self.user_id,
            cancelled=self.cancelled, on_wait=self.on_wait,
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
            return scanned >= AUTHOR_SCAN_LIMIT or (
                self.cancelled is not None and self.cancelled()
            )

        scan = audit.fetch_audit_events(
            self.gl, ("instance", None), self.window, on_progress=count, cancelled=enough,
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

    # ------------------------------------------------------------------ blast radius

    def descendants(self, group_id: int) -> tuple[list[tuple[str, int, str]], str | None]:
        """Subgroups and projects under ``group_id`` (breadth first, capped)."""
        found: list[tuple[str, int, str]] = []
        queue = [group_id]
        seen = {group_id}
        error: str | None = None
        while queue and len(found) < BLAST_MAX_NAMESPACES:
            gid = queue.pop(0)
            try:
                for data in self.pages(f"/groups/{gid}/projects", {"with_shared": "false"}):
                    name = data.get("path_with_namespace") or data.get("name")
                    found.append(("Project", int(data["id"]), str(name)))
                for data in self.pages(f"/groups/{gid}/subgroups"):
                    sid = int(data["id"])
                    if sid not in seen:
                        seen.add(sid)
                        queue.append(sid)
                        found.append(("Namespace", sid, str(data.get("full_path") or sid)))
            except gitlab.exceptions.GitlabError as exc:
                error = describe_error(exc).one_line()
        return found, error

    def namespace_credentials(self, membership: Mapping[str, Any]) -> dict[str, Any]:
        kind = "project" if membership.get("source_type") == "Project" else "group"
        sid = int(membership["source_id"])
        entry: dict[str, Any] = {
            "source_type": kind,
            "source_id": sid,
            "source_name": membership.get("source_name"),
            "access_level": membership.get("access_level"),
            "inherited_from": membership.get("inherited_from"),
            "errors": {},
        }
        root = f"/{kind}s/{sid}"
        lists: dict[str, Callable[[Any], dict[str, Any]]] = {
            "variables": _variable,
            "runners": _plain,
            "hooks": _hook,
            "deploy_tokens": _plain,
            "access_tokens": _plain,
        }
        for name, convert in lists.items():
            try:
                entry[name] = [convert(o) for o in self.pages(f"{root}/{name}")]
            except Exception as exc:
                entry[name] = None
                entry["errors"][name] = describe_error(exc).one_line()
        variables = entry.get("variables") or []
        entry["protected_variables"] = sum(1 for v in variables if v.get("protected"))
        return entry


def _summarise_blast(entries: list[dict[str, Any]]) -> str:
    def total(key: str) -> int:
        return sum(len(e.get(key) or []) for e in entries)

    protected = sum(int(e.get("protected_variables") or 0) for e in entries)
    return (
        f"{len(entries)} namespace(s) with Maintainer/Owner access (direct or inherited): "
        f"{total('variables')} CI/CD variables ({protected} protected), {total('runners')} "
        f"runners, {total('hooks')} hooks, {total('deploy_tokens')} deploy tokens, "
        f"{total('access_tokens')} access tokens to review or rotate. Secret values (variable "
        "values, tokens, hook secrets) are dropped as they arrive and never kept."
    )


def fetch_dossier(
    gl: gitlab.Gitlab,
    user_id: int,
    window: Window,
    *,
    cancelled: CancelledFn | None = None,
    on_wait: WaitCallback | None = None,
) -> Dossier:
    """Fetch the dossier for ``user_id`` over the incident ``window`` (ISO start, ISO end).

    Blocking; run it in a thread worker. Per-section failures become ``Section.problem``
    (a long rate-limit wait, an unsafe next link and a cancelled wait included); waits are
    reported to ``on_wait`` and end when ``cancelled()`` turns true.
    """
    started = time.monotonic()
    fetched_at = _iso(datetime.now(UTC))
    fetch = _Fetch(gl, user_id, window, cancelled, on_wait)
    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="dossier") as pool:
        simple = {
            name: pool.submit(_guard, name, getattr(fetch, name))
            for name in (
                "profile",
                "memberships",
                "emails",
                "tokens",
                "impersonation_tokens",
                "ssh_keys",
                "gpg_keys",
                "events",
            )
        }

        def admin_view() -> bool:
            profile = simple["profile"].result()
            return isinstance(profile.items, dict) and "is_admin" in profile.items

        audit = pool.submit(_guard, "audit_events", lambda: fetch.audit_events(admin_view))
        memberships = simple["memberships"].result()
        blast = _blast_radius(pool, fetch, memberships)
        results = {name: future.result() for name, future in simple.items()}
        results["audit_events"] = audit.result()
    results["blast_radius"] = blast
    return Dossier(
        user_id=int(user_id),
        window=window,
        fetched_at=fetched_at,
        seconds=time.monotonic() - started,
        **results,
    )


def _blast_radius(pool: ThreadPoolExecutor, fetch: _Fetch, memberships: Section) -> Section:
    """Credentials reachable with Maintainer/Owner rights: direct memberships ≥ 40, plus the
    subgroups and projects of such groups (GitLab membership is inherited downwards)."""
    if memberships.problem is not None or not isinstance(memberships.items, list):
        return Section(
            "blast_radius",
            None,
            memberships.problem,
            "needs the user's memberships (administrator only)",
        )
    targets: dict[tuple[str, int], dict[str, Any]] = {}
    strong = [
        m for m in memberships.items if _access_level(m.get("access_level")) >= BLAST_MIN_ACCESS
    ]
    for m in strong:
        kind = "Project" if m.get("source_type") == "Project" else "Namespace"
        targets[(kind, int(m["source_id"]))] = {**m, "source_type": kind, "inherited_from": None}
    roots = [m for m in strong if m.get("source_type") != "Project"]
    walks = [pool.submit(fetch.descendants, int(m["source_id"])) for m in roots]
    walk_errors: list[str] = []
    for root, walk in zip(roots, walks, strict=True):
        try:
            found, error = walk.result()
        except Exception as exc:
            found, error = [], describe_error(exc).one_line()
        if error:
            walk_errors.append(error)
        for kind, sid, name in found:
            key = (kind, sid)
            level = _access_level(root.get("access_level"))
            if key in targets and _access_level(targets[key].get("access_level")) >= level:
                continue
            targets[key] = {
                "source_type": kind,
                "source_id": sid,
                "source_name": name,
                "access_level": level,
                "inherited_from": root.get("source_name"),
            }
    chosen = list(targets.values())[:BLAST_MAX_NAMESPACES]
    futures: list[Future[dict[str, Any]]] = [
        pool.submit(fetch.namespace_credentials, m) for m in chosen
    ]
    entries: list[dict[str, Any]] = []
    for membership, future in zip(chosen, futures, strict=True):
        try:
            entries.append(future.result())
        except Exception as exc:
            entries.append(
                {
                    "source_type": membership.get("source_type"),
                    "source_id": membership.get("source_id"),
                    "source_name": membership.get("source_name"),
                    "access_level": membership.get("access_level"),
                    "inherited_from": membership.get("inherited_from"),
                    "errors": {"all": describe_error(exc).one_line()},
                }
            )
    note = _summarise_blast(entries)
    if len(targets) > len(chosen):
        note += (
            f" Only the first {len(chosen)} of {len(targets)} namespaces were inspected; "
            "review the rest in GitLab."
        )
    if walk_errors:
        note += f" Some subgroups/projects could not be listed: {walk_errors[0]}"
    return Section("blast_radius", entries, None, note)
