"""Fetching the inventory: every source on its own, so one refusal never empties the list.

Synchronous (python-gitlab or a sync httpx-style client) for a thread worker; every request goes
through :mod:`console.api.pages` (pinned next links, bounded and cancellable waits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from console.api.pages import ReadCancelled, WaitCallback, iter_pages, status_of
from console.config import server_now
from console.errors import Problem, describe_error
from console.inventory.model import (
    KIND_ORDER,
    Credential,
    Inventory,
    InventoryProgress,
    SourceProblem,
)
from console.inventory.rows import (
    UserInfo,
    deploy_key_row,
    deploy_token_row,
    hook_row,
    parse_window,
    runner_row,
    token_row,
    variable_row,
)

__all__ = [
    "BASE_SOURCES",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_NAMESPACES",
    "NAMESPACE_SOURCES",
    "fetch_inventory",
]

DEFAULT_CONCURRENCY = 6
DEFAULT_MAX_NAMESPACES = 5000


#: the sources every fetch tries, and those of the group/project sweep
BASE_SOURCES: Final = (
    "personal access tokens",
    "deploy keys",
    "deploy tokens",
    "runners",
    "instance CI/CD variables",
    "system hooks",
)
NAMESPACE_SOURCES: Final = (
    "groups",
    "projects",
    "group CI/CD variables",
    "group webhooks",
    "project CI/CD variables",
    "project webhooks",
)

_Cancelled = ReadCancelled  # cancelled between pages or during a wait: same outcome
Pager = Callable[[str, Mapping[str, Any] | None], Iterator[list[Any]]]


def _admin_problem(source: str, exc: BaseException) -> Problem:
    status = status_of(exc)
    if status in (401, 403):
        return Problem(
            title=f"{source}: not visible to this token",
            detail=f"Listing {source} needs an administrator token (GitLab answered {status}).",
            next_step="Use an administrator's token with the api (and admin_mode) scope.",
            kind="coverage",
            status=status,
        )
    if status == 404:
        return Problem(
            title=f"{source}: not available",
            detail=f"This GitLab does not offer {source} to this token (GitLab answered 404).",
            next_step="It may need a newer version, a higher tier or administrator rights.",
            kind="coverage",
            status=status,
        )
    p = describe_error(exc)
    return replace(p, title=f"{source}: {p.title}")


def fetch_inventory(
    gl: Any,
    window: tuple[datetime | str, datetime | str] | None = None,
    *,
    on_progress: Callable[[InventoryProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_wait: WaitCallback | None = None,
    is_admin: bool | None = None,
    user_lookup: Callable[[Iterable[int]], Mapping[int, UserInfo]] | None = None,
    resolve_users: bool = True,
    namespaces: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_namespaces: int = DEFAULT_MAX_NAMESPACES,
    now: datetime | None = None,
) -> Inventory:
    """Rebuild the inventory. Never raises for server errors: they become ``problems``.

    ``user_lookup`` maps user ids to cached user info (username, bot/user_type) — the pane passes
    the store's users cache; ids it cannot resolve are fetched (``GET /users/:id``) when
    ``resolve_users`` is set. ``namespaces`` enables the per-group/per-project variables and hooks
    sweep (up to ``max_namespaces`` of each, ``concurrency`` requests at a time). Waits (429,
    retries) are reported to ``on_wait`` and end when ``cancelled()`` turns true. Expiry and
    "unused" are judged at ``now``, by default the server's time (``config.server_now``).
    """
    win = parse_window(window)
    clock = now or server_now(gl)
    is_cancelled = cancelled or (lambda: False)
    rows: list[Credential] = []
    problems: list[SourceProblem] = []
    lock = threading.Lock()
    sources = [*BASE_SOURCES, *(NAMESPACE_SOURCES if namespaces else ())]

    def pages(path: str, params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        return iter_pages(gl, path, params, cancelled=is_cancelled, on_wait=on_wait)

    def progress(source: str, done: int, total: int | None) -> None:
        if on_progress is not None:
            on_progress(InventoryProgress(source, done, total, len(rows)))

    def check() -> None:
        if is_cancelled():
            raise _Cancelled

    def listing(source: str, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        items: list[Any] = []
        for page in pages(path, {"per_page": 100, **(params or {})}):
            check()
            items.extend(x for x in page if isinstance(x, Mapping))
            progress(source, len(items), None)
        return items

    def guarded(
        source: str,
        path: str,
        build: Callable[[Mapping[str, Any]], Credential],
        params: Mapping[str, Any] | None = None,
    ) -> list[Mapping[str, Any]]:
        try:
            items = listing(source, path, params)
        except _Cancelled:
            raise
        except Exception as exc:
            problems.append(SourceProblem(source, _admin_problem(source, exc)))
            return []
        for item in items:
            try:
                rows.append(build(item))
            except (KeyError, TypeError, ValueError):
                continue  # a row without an id is unusable; skip rather than fail the source
        return items

    try:
        # Personal access tokens (admin: every user's, incl. impersonation, bot, service).
        try:
            tokens = listing("personal access tokens", "/personal_access_tokens")
        except _Cancelled:
            raise
        except Exception as exc:
            tokens = []
            problems.append(
                SourceProblem(
                    "personal access tokens", _admin_problem("personal access tokens", exc)
                )
            )
        check()
        owner_ids = sorted({t["user_id"] for t in tokens if isinstance(t.get("user_id"), int)})
        users = _resolve_users(pages, owner_ids, user_lookup, resolve_users, concurrency, check)
        for t in tokens:
            try:
                rows.append(token_row(t, users.get(t.get("user_id", -1)), win, clock))
            except (KeyError, TypeError, ValueError):
                continue
        if is_admin is False:
            problems.append(
                SourceProblem(
                    "personal access tokens",
                    Problem(
                        title="Only this token's own tokens are listed",
                        detail="A non-administrator sees only their own personal access "
                        "tokens; the instance-wide inventory needs an administrator token.",
                        next_step="Sign in with an administrator's token for the full inventory.",
                        kind="coverage",
                    ),
                )
            )
        progress("personal access tokens", len(tokens), len(tokens))

        guarded("deploy keys", "/deploy_keys", lambda r: deploy_key_row(r, win, clock))
        guarded("deploy tokens", "/deploy_tokens", lambda r: deploy_token_row(r, win, clock))
        guarded("runners", "/runners/all", lambda r: runner_row(r, win, clock))
        guarded(
            "instance CI/CD variables",
            "/admin/ci/variables",
            lambda r: variable_row(r, "instance", "instance", None),
        )
        guarded(
            "system hooks", "/hooks", lambda r: hook_row(r, "system", "instance", None, win, clock)
        )

        if namespaces:
            _sweep_namespaces(
                pages,
                rows,
                problems,
                lock,
                win,
                clock,
                check,
                progress,
                concurrency,
                max_namespaces,
            )
    except _Cancelled:
        return Inventory(_sorted(rows), problems, complete=False, sources=sources)
    return Inventory(_sorted(rows), problems, sources=sources)


def _sorted(rows: list[Credential]) -> list[Credential]:
    def rank(kind: str) -> int:
        return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)

    return sorted(rows, key=lambda r: (rank(r.kind), str(r.owner), str(r.name), str(r.id)))


def _resolve_users(
    pages: Pager,
    ids: Sequence[int],
    lookup: Callable[[Iterable[int]], Mapping[int, UserInfo]] | None,
    fetch_missing: bool,
    concurrency: int,
    check: Callable[[], None],
    cap: int = 500,
) -> dict[int, UserInfo]:
    found: dict[int, UserInfo] = {}
    if lookup is not None and ids:
        try:
            found.update(lookup(ids))
        except Exception:  # the cache is an optimisation; fall back to the server
            found = {}
    missing = [i for i in ids if i not in found][:cap]
    if not fetch_missing or not missing:
        return found

    def get(uid: int) -> tuple[int, UserInfo | None]:
        check()
        try:
            for page in pages(f"/users/{uid}", None):
                if page and isinstance(page[0], Mapping):
                    return uid, page[0]
        except _Cancelled:
            raise
        except Exception:
            return uid, None
        return uid, None

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for fut in as_completed([pool.submit(get, uid) for uid in missing]):
            uid, info = fut.result()
            if info is not None:
                found[uid] = info
    return found


def _sweep_namespaces(
    pages: Pager,
    rows: list[Credential],
    problems: list[SourceProblem],
    lock: threading.Lock,
    win: tuple[datetime, datetime] | None,
    clock: datetime,
    check: Callable[[], None],
    progress: Callable[[str, int, int | None], None],
    concurrency: int,
    max_namespaces: int,
) -> None:
    """Variables and hooks of every group and project, ``concurrency`` requests at a time."""

    def collect(source: str, path: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        try:
            for page in pages(path, params):
                check()
                out.extend(x for x in page if isinstance(x, Mapping))
                progress(source, len(out), None)
                if len(out) >= max_namespaces:
                    problems.append(
                        SourceProblem(
                            source,
                            Problem(
                                title=f"{source}: only the first {max_namespaces} were swept",
                                detail=f"The instance has more {source} than the sweep limit.",
                                next_step="Review the remaining ones per namespace in GitLab.",
                                kind="coverage",
                            ),
                        )
                    )
                    return out[:max_namespaces]
        except _Cancelled:
            raise
        except Exception as exc:
            problems.append(SourceProblem(source, _admin_problem(source, exc)))
        return out

    groups = collect("groups", "/groups", {"per_page": 100, "all_available": "true"})
    check()
    projects = collect(
        "projects",
        "/projects",
        {
            "per_page": 100,
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "simple": "true",
        },
    )
    check()

    jobs: list[tuple[str, str, str, int, str]] = []  # (source, path, scope, owner_id, owner)
    for g in groups:
        gid, gpath = g.get("id"), str(g.get("full_path") or g.get("path") or g.get("id"))
        if isinstance(gid, int):
            jobs.append(("group CI/CD variables", f"/groups/{gid}/variables", "group", gid, gpath))
            jobs.append(("group webhooks", f"/groups/{gid}/hooks", "group", gid, gpath))
    for p in projects:
        pid = p.get("id")
        ppath = str(p.get("path_with_namespace") or p.get("name") or pid)
        if isinstance(pid, int):
            jobs.append(
                ("project CI/CD variables", f"/projects/{pid}/variables", "project", pid, ppath)
            )
            jobs.append(("project webhooks", f"/projects/{pid}/hooks", "project", pid, ppath))

    failures: dict[str, list[BaseException]] = {}

    def run(job: tuple[str, str, str, int, str]) -> None:
        source, path, scope, owner_id, owner = job
        check()
        built: list[Credential] = []
        try:
            for page in pages(path, {"per_page": 100}):
                for item in page:
                    if not isinstance(item, Mapping):
                        continue
                    try:
                        if source.endswith("variables"):
                            built.append(variable_row(item, scope, owner, owner_id))
                        else:
                            built.append(hook_row(item, scope, owner, owner_id, win, clock))
                    except (KeyError, TypeError, ValueError):
                        continue
        except _Cancelled:
            raise
        except Exception as exc:
            with lock:
                failures.setdefault(source, []).append(exc)
            return
        with lock:
            rows.extend(built)

    done = 0
    total = len(jobs)
    progress("group and project settings", 0, total)
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        futures = [pool.submit(run, job) for job in jobs]
        for fut in as_completed(futures):
            try:
                fut.result()
            except _Cancelled:
                for f in futures:
                    f.cancel()
                raise
            done += 1
            if done % 10 == 0 or done == total:
                progress("group and project settings", done, total)
            check()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    for source, errors in sorted(failures.items()):
        statuses = {status_of(e) for e in errors}
        first = _admin_problem(source, errors[0])
        if statuses <= {404} and "webhooks" in source and source.startswith("group"):
            detail = "Group webhooks need GitLab Premium or Ultimate (GitLab answered 404)."
        else:
            detail = f"{len(errors)} namespace(s) could not be read. {first.detail}"
        problems.append(SourceProblem(source, replace(first, detail=detail)))
