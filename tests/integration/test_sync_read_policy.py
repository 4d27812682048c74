"""Every synchronous read path under one policy: pinned next links and one fault matrix.

The paths are the audit fetch (instance, group and project scope), each inventory source, the
dossier's lists and the start-up capability check; each runs through python-gitlab and through a
synchronous httpx client against a scripted GitLab over real HTTP.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab.exceptions
import pytest

from console.api import pages
from console.api.links import UnsafeLinkError
from console.api.pages import Wait, iter_pages
from console.audit import fetch_audit_events
from console.capabilities import check_capabilities
from console.config import ConnectionConfig, build_gitlab, build_httpx_sync
from console.dossier import fetch_dossier
from console.errors import Problem
from console.inventory import BASE_SOURCES, NAMESPACE_SOURCES, fetch_inventory
from console.secret import Secret
from tests.sync_read_fakes import (
    TOKEN,
    USER_ID,
    Fault,
    Scripted,
    scripted_gitlab,
)

BRANCHES = ("python-gitlab", "httpx")
UNSAFE = "Unsafe pagination link"


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(hours=1)


def _iso_window() -> tuple[str, str]:
    lo, hi = _window()
    return lo.strftime("%Y-%m-%dT%H:%M:%SZ"), hi.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def server() -> Iterator[Scripted]:
    with scripted_gitlab() as scripted:
        yield scripted


@pytest.fixture
def trap() -> Iterator[Scripted]:
    """A second server on another port of the same host: a refused link must never reach it."""
    with scripted_gitlab() as scripted:
        yield scripted


def _client(server: Scripted, branch: str) -> Any:
    cfg = ConnectionConfig(url=server.url, timeout=5.0)
    if branch == "python-gitlab":
        return build_gitlab(cfg, Secret(TOKEN))
    return build_httpx_sync(cfg, Secret(TOKEN))


@pytest.fixture(params=BRANCHES)
def branch(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ------------------------------------------------------------------------- foreign next links

Linker = Callable[[Scripted, Scripted], Callable[[str, int], str | None]]

FOREIGN: dict[str, Linker] = {
    "other host": lambda s, t: (
        lambda path, page: f"http://gitlab.attacker.invalid/api/v4{path}?page=2"
    ),
    "same host, other port": lambda s, t: (
        lambda path, page: f"http://127.0.0.1:{t.port}/api/v4{path}?page=2"
    ),
    "other scheme": lambda s, t: (
        lambda path, page: f"https://127.0.0.1:{s.port}/api/v4{path}?page=2"
    ),
    "other API prefix": lambda s, t: (
        lambda path, page: f"http://127.0.0.1:{s.port}/evil/api/v4{path}?page=2"
    ),
}
SAME_ORIGIN: Linker = lambda s, t: lambda path, page: f"{s.url}/api/v4{path}?page=2"  # noqa: E731


def _assert_not_followed(server: Scripted, trap: Scripted) -> None:
    assert trap.requests == []
    assert not any("page=2" in raw for raw in server.requests), server.requests
    assert not any(raw.startswith("/evil") for raw in server.requests)


@pytest.mark.parametrize("variant", sorted(FOREIGN))
@pytest.mark.parametrize(
    "scope", [("instance", None), ("group", 7), ("project", 8)], ids=lambda s: s[0]
)
def test_audit_refuses_foreign_next_link(
    server: Scripted, trap: Scripted, branch: str, variant: str, scope: Any
) -> None:
    server.next_link = FOREIGN[variant](server, trap)
    result = fetch_audit_events(_client(server, branch), scope, _window())
    assert result.problem is not None and result.problem.title == UNSAFE
    assert not result.complete and [e.id for e in result.events] == [101]
    _assert_not_followed(server, trap)


@pytest.mark.parametrize(
    "scope", [("instance", None), ("group", 7), ("project", 8)], ids=lambda s: s[0]
)
def test_audit_follows_a_same_origin_next_link(
    server: Scripted, trap: Scripted, branch: str, scope: Any
) -> None:
    server.next_link = SAME_ORIGIN(server, trap)
    result = fetch_audit_events(_client(server, branch), scope, _window())
    assert result.problem is None and result.complete
    assert sorted(e.id for e in result.events) == [101, 202]


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        ("/api/v4{path}?page=2", True),
        ("?page=2", True),
        ("//evil.invalid/api/v4{path}?page=2", False),
        ("/evil{path}?page=2", False),
    ],
    ids=["absolute path", "query only", "scheme-relative host", "path outside the API"],
)
def test_relative_next_links_are_resolved_then_pinned(
    server: Scripted, branch: str, link: str, followed: bool
) -> None:
    server.next_link = lambda path, page: link.format(path=path)
    client = _client(server, branch)
    if followed:
        assert len(list(iter_pages(client, "/deploy_keys"))) == 2
    else:
        with pytest.raises(UnsafeLinkError):
            list(iter_pages(client, "/deploy_keys"))
        assert not any("page=2" in raw for raw in server.requests)


def test_an_absolute_first_url_is_pinned_as_well(server: Scripted, branch: str) -> None:
    with pytest.raises(UnsafeLinkError):
        next(iter_pages(_client(server, branch), "https://evil.invalid/api/v4/deploy_keys"))
    assert server.requests == []
    pages_read = list(iter_pages(_client(server, branch), f"{server.url}/api/v4/deploy_keys"))
    assert len(pages_read) == 1


@pytest.mark.parametrize("variant", sorted(FOREIGN))
def test_inventory_refuses_foreign_next_link_on_every_source(
    server: Scripted, trap: Scripted, branch: str, variant: str
) -> None:
    server.next_link = FOREIGN[variant](server, trap)
    inv = fetch_inventory(_client(server, branch), _window(), resolve_users=False)
    refused = {sp.source for sp in inv.problems if UNSAFE in sp.problem.title}
    assert refused == set(BASE_SOURCES) | set(NAMESPACE_SOURCES)
    summary = inv.partial_summary()
    assert summary is not None and summary.startswith("partial: 12 of 12 sources failed (")
    assert "never-kept-value" not in repr(inv.rows)
    _assert_not_followed(server, trap)


def test_inventory_follows_same_origin_links_and_is_not_partial(
    server: Scripted, trap: Scripted, branch: str
) -> None:
    server.next_link = SAME_ORIGIN(server, trap)
    inv = fetch_inventory(_client(server, branch), _window(), resolve_users=False)
    assert inv.problems == [] and inv.partial_summary() is None and not inv.partial
    assert {r.kind for r in inv.rows} >= {"pat", "deploy_key", "group_hook", "project_variable"}
    assert any(str(r.id) == "202" for r in inv.rows)  # the second page was read


def _no_memberships_paging(linker: Linker) -> Linker:
    """The dossier's blast radius needs the memberships: page those normally."""

    def build(s: Scripted, t: Scripted) -> Callable[[str, int], str | None]:
        inner = linker(s, t)
        return lambda path, page: None if path.endswith("/memberships") else inner(path, page)

    return build


@pytest.mark.parametrize("variant", sorted(FOREIGN))
def test_dossier_refuses_foreign_next_link_on_every_list(
    server: Scripted, trap: Scripted, branch: str, variant: str
) -> None:
    server.next_link = _no_memberships_paging(FOREIGN[variant])(server, trap)
    d = fetch_dossier(_client(server, branch), USER_ID, _iso_window())
    for name in (
        "emails",
        "tokens",
        "impersonation_tokens",
        "ssh_keys",
        "gpg_keys",
        "events",
        "audit_events",
    ):
        problem = d.section(name).problem
        assert problem is not None and problem.title == UNSAFE, name
    entries = d.blast_radius.items
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert set(entry["errors"]) == {
            "variables",
            "runners",
            "hooks",
            "deploy_tokens",
            "access_tokens",
        }
        assert all(UNSAFE in text for text in entry["errors"].values())
    assert UNSAFE in (d.blast_radius.note or "")  # the subgroup/project walk was refused too
    _assert_not_followed(server, trap)


def test_dossier_follows_same_origin_links(server: Scripted, trap: Scripted, branch: str) -> None:
    server.next_link = SAME_ORIGIN(server, trap)
    d = fetch_dossier(_client(server, branch), USER_ID, _iso_window())
    assert d.problems == [], [(s.name, s.problem) for s in d.problems]
    assert [k["id"] for k in d.ssh_keys.items or []] == [11, 202]  # type: ignore[index]


# ------------------------------------------------------------------------- the fault matrix


@dataclass
class Outcome:
    ok: bool
    problem: Problem | None


Runner = Callable[[Any, Callable[[], bool] | None], Outcome]


def _audit(client: Any, cancelled: Callable[[], bool] | None) -> Outcome:
    result = fetch_audit_events(client, ("instance", None), _window(), cancelled=cancelled)
    ok = result.problem is None and result.complete and [e.id for e in result.events] == [101]
    return Outcome(ok, result.problem)


def _inventory(client: Any, cancelled: Callable[[], bool] | None) -> Outcome:
    inv = fetch_inventory(
        client, _window(), namespaces=False, resolve_users=False, cancelled=cancelled
    )
    problem = next((sp.problem for sp in inv.problems if sp.source == "deploy keys"), None)
    ok = problem is None and inv.complete and any(r.kind == "deploy_key" for r in inv.rows)
    return Outcome(ok, problem)


def _dossier(client: Any, cancelled: Callable[[], bool] | None) -> Outcome:
    d = fetch_dossier(client, USER_ID, _iso_window(), cancelled=cancelled)
    return Outcome(d.ssh_keys.problem is None and bool(d.ssh_keys.items), d.ssh_keys.problem)


def _capabilities(client: Any, cancelled: Callable[[], bool] | None) -> Outcome:
    cov = check_capabilities(client, cancelled=cancelled)
    return Outcome(cov.ok and cov.username == "alice", cov.fatal)


#: (read path, client kind) -> (the request the fault hits, the runner)
PATHS: dict[tuple[str, str], tuple[str, Runner]] = {
    **{("audit", b): ("/audit_events", _audit) for b in BRANCHES},
    **{("inventory", b): ("/deploy_keys", _inventory) for b in BRANCHES},
    **{("dossier", b): (f"/users/{USER_ID}/keys", _dossier) for b in BRANCHES},
    ("capabilities", "python-gitlab"): ("/user", _capabilities),
}
PATH_IDS = [f"{name}-{kind}" for name, kind in PATHS]

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>"
    b"502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>"
)


def _http_date(seconds: float) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the policy's sleeps instead of sleeping them.

    Only this test's threads count: a thread an earlier test left waiting (on a loaded machine
    it can outlive its test) keeps sleeping for real and is not recorded here. Threads are told
    apart by their objects, not their idents: once such a thread ends, a thread of this test
    can get its ident (a CI run recorded no pause for a retry that way).
    """
    slept: list[float] = []
    earlier = set(threading.enumerate()) - {threading.current_thread()}

    def pause(seconds: float) -> None:
        if threading.current_thread() in earlier:
            time.sleep(seconds)
        else:
            slept.append(seconds)

    monkeypatch.setattr(pages, "_pause", pause)
    return slept


def _run(
    server: Scripted,
    key: tuple[str, str],
    faults: list[Fault],
    cancelled: Callable[[], bool] | None = None,
) -> tuple[Outcome, int, float]:
    target, runner = PATHS[key]
    server.faults[target] = faults
    client = _client(server, key[1])
    started = time.monotonic()
    outcome = runner(client, cancelled)
    return outcome, server.hits(target), time.monotonic() - started


@pytest.mark.parametrize("key", list(PATHS), ids=PATH_IDS)
@pytest.mark.parametrize(
    "fault",
    [Fault(502, {"Content-Type": "text/html"}, NGINX_502), Fault(reset=True)],
    ids=["502", "connection reset"],
)
def test_transient_failure_then_ok_is_retried(
    server: Scripted, pauses: list[float], key: tuple[str, str], fault: Fault
) -> None:
    outcome, hits, _ = _run(server, key, [fault])
    assert outcome.ok, outcome.problem
    assert hits == 2
    assert len(pauses) >= 1 and 0 < sum(pauses) <= 1.0  # one short jittered backoff


@pytest.mark.parametrize("key", list(PATHS), ids=PATH_IDS)
@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [("1", 1.0, 1.3), (None, 1.5, 3.3)],
    ids=["seconds", "HTTP-date"],
)
def test_short_rate_limit_is_waited_out(
    server: Scripted,
    pauses: list[float],
    key: tuple[str, str],
    retry_after: str | None,
    low: float,
    high: float,
) -> None:
    value = retry_after if retry_after is not None else _http_date(3)
    outcome, hits, _ = _run(server, key, [Fault(429, {"Retry-After": value})])
    assert outcome.ok, outcome.problem
    assert hits == 2
    assert low <= sum(pauses) <= high


@pytest.mark.parametrize("key", list(PATHS), ids=PATH_IDS)
@pytest.mark.parametrize("retry_after", ["3600", "date"])
def test_long_rate_limit_is_a_problem_at_once_never_a_sleep(
    server: Scripted, pauses: list[float], key: tuple[str, str], retry_after: str
) -> None:
    value = retry_after if retry_after != "date" else _http_date(3600)
    outcome, hits, elapsed = _run(server, key, [Fault(429, {"Retry-After": value})])
    assert not outcome.ok
    assert outcome.problem is not None and outcome.problem.kind == "rate_limited"
    assert "about 60 min" in outcome.problem.detail
    assert pauses == [] and hits == 1 and elapsed < 10.0  # not the hour asked for


@pytest.mark.parametrize("key", list(PATHS), ids=PATH_IDS)
@pytest.mark.parametrize("status", [401, 403, 404])
def test_client_errors_are_not_retried(
    server: Scripted, pauses: list[float], key: tuple[str, str], status: int
) -> None:
    outcome, hits, _ = _run(server, key, [Fault(status)])
    assert not outcome.ok
    assert hits == 1 and pauses == []


@pytest.mark.parametrize("key", list(PATHS), ids=PATH_IDS)
def test_cancel_during_a_wait_returns_within_a_second(
    server: Scripted, key: tuple[str, str]
) -> None:
    target = PATHS[key][0]

    def cancelled() -> bool:  # the responder presses x once the 30 s wait has begun
        return server.hits(target) >= 1

    outcome, hits, elapsed = _run(server, key, [Fault(429, {"Retry-After": "30"})], cancelled)
    assert not outcome.ok
    # One request, and the 30 s wait abandoned: the bound is far from 30 s, not a benchmark.
    assert hits == 1 and elapsed < 10.0
    if outcome.problem is not None:
        assert outcome.problem.kind == "cancelled"


# ------------------------------------------------------------------------- start-up and clients


def test_capabilities_at_start_up_survive_one_502(server: Scripted, pauses: list[float]) -> None:
    server.faults["/metadata"] = [Fault(502, {"Content-Type": "text/html"}, NGINX_502)]
    cov = check_capabilities(_client(server, "python-gitlab"))
    assert cov.ok and cov.version == "17.8.1-ee" and cov.is_admin
    assert server.hits("/metadata") == 2


def test_capabilities_summarise_a_proxy_error_page_in_one_line(
    server: Scripted, pauses: list[float]
) -> None:
    server.faults["/user"] = [Fault(502, {"Content-Type": "text/html"}, NGINX_502)] * 4
    cov = check_capabilities(_client(server, "python-gitlab"))
    assert cov.fatal is not None and cov.fatal.status == 502
    assert "an HTML page (502 Bad Gateway)" in cov.fatal.detail
    assert "<" not in cov.fatal.one_line() and "\n" not in cov.fatal.one_line()
    assert server.hits("/user") == 4  # the first try and three retries, then the problem


def test_waits_are_reported_before_they_start(server: Scripted, pauses: list[float]) -> None:
    server.faults["/deploy_keys"] = [Fault(503), Fault(429, {"Retry-After": "2"})]
    waits: list[Wait] = []
    got = list(iter_pages(_client(server, "httpx"), "/deploy_keys", on_wait=waits.append))
    assert got == [
        [
            {
                "id": 11,
                "name": "x",
                "title": "t",
                "url": "https://hooks.example/x",
                "created_at": got[0][0]["created_at"],
                "scopes": [],
                "runner_type": "instance_type",
            }
        ]
    ]
    assert [w.attempt for w in waits] == [1, 1]
    assert "503" in waits[0].reason and "429" in waits[1].reason
    assert 2.0 <= waits[1].seconds <= 2.25
    assert sum(pauses) == pytest.approx(sum(w.seconds for w in waits))


def test_python_gitlab_managers_never_sleep_on_a_long_retry_after(server: Scripted) -> None:
    """build_gitlab's client does not obey a 429 itself: even a manager call fails at once."""
    server.faults[f"/users/{USER_ID}"] = [Fault(429, {"Retry-After": "3600"})]
    gl = build_gitlab(ConnectionConfig(url=server.url, timeout=5.0), Secret(TOKEN))
    started = time.monotonic()
    with pytest.raises(gitlab.exceptions.GitlabGetError) as info:
        gl.users.get(USER_ID)
    assert info.value.response_code == 429
    assert time.monotonic() - started < 10.0 and server.hits(f"/users/{USER_ID}") == 1
    # a caller asking python-gitlab for retries still never gets its rate-limit sleep
    server.faults[f"/users/{USER_ID}"] = [Fault(429, {"Retry-After": "3600"})]
    with pytest.raises(gitlab.exceptions.GitlabHttpError):
        gl.http_get(f"/users/{USER_ID}", max_retries=3)
    assert time.monotonic() - started < 10.0 and server.hits(f"/users/{USER_ID}") == 2
