"""The drill's cache of filtered, ordered user lists: same answers, and never stale."""

from __future__ import annotations

import re
from typing import Any

import requests

from console.drill.model import User


def _get(server: Any, path: str, **params: Any) -> requests.Response:
    headers = {"PRIVATE-TOKEN": server.ADMIN_TOKEN}
    r = requests.get(f"{server.url}/api/v4{path}", headers=headers, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r


def _next(server: Any, response: requests.Response) -> requests.Response | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    if found is None:
        return None
    r = requests.get(found.group(1), headers={"PRIVATE-TOKEN": server.ADMIN_TOKEN}, timeout=10)
    assert r.status_code == 200, r.text
    return r


def _all_ids(server: Any, **params: Any) -> list[int]:
    page: requests.Response | None = _get(
        server, "/users", pagination="keyset", order_by="id", sort="asc", per_page=100, **params
    )
    ids: list[int] = []
    while page is not None:
        ids += [u["id"] for u in page.json()]
        page = _next(server, page)
    return ids


def test_a_user_blocked_between_pages_shows_the_new_state(fresh_drill: Any) -> None:
    state = fresh_drill.state
    active = [
        u.id for u in state.user_order if u.state == "active" and not u.internal and not u.is_admin
    ]
    first = _get(
        fresh_drill,
        "/users",
        active="true",
        pagination="keyset",
        order_by="id",
        sort="asc",
        per_page=20,
    )
    on_first = [u["id"] for u in first.json()]
    later = next(uid for uid in active if uid > on_first[-1])  # would be on the next page
    victim = next(uid for uid in on_first if uid in active)
    for uid in (later, victim):
        r = requests.post(
            f"{fresh_drill.url}/api/v4/users/{uid}/block",
            headers={"PRIVATE-TOKEN": fresh_drill.ADMIN_TOKEN},
            timeout=10,
        )
        assert r.status_code == 201
    second = _next(fresh_drill, first)
    assert second is not None
    assert later not in [u["id"] for u in second.json()]
    again = _get(
        fresh_drill,
        "/users",
        active="true",
        pagination="keyset",
        order_by="id",
        sort="asc",
        per_page=20,
    )
    assert victim not in [u["id"] for u in again.json()]
    blocked = {
        u["id"]: u["state"]
        for u in _get(fresh_drill, "/users", blocked="true", per_page=100).json()
    }
    assert blocked[later] == blocked[victim] == "blocked"


def test_cached_lists_match_a_fresh_filter(fresh_drill: Any) -> None:
    state = fresh_drill.state

    def expect(pred: Any) -> list[int]:
        return [u.id for u in state.user_order if pred(u)]

    cases: list[tuple[dict[str, str], Any]] = [
        ({}, lambda u: True),
        ({"blocked": "true"}, lambda u: u.state in ("blocked", "ldap_blocked")),
        (
            {"two_factor": "disabled", "humans": "true"},
            lambda u: not u.two_factor and u.user_type == "human",
        ),
        (
            {"search": "an"},
            lambda u: (
                "an" in u.username.lower()
                or "an" in u.name.lower()
                or u.email.lower() == "an"
                or (u.public_email or "").lower() == "an"
            ),
        ),
    ]
    for _ in range(2):  # the second round is served from the cache
        for params, pred in cases:
            assert _all_ids(fresh_drill, **params) == expect(pred), params


def test_creation_bounds_are_inclusive_and_exact(fresh_drill: Any) -> None:
    state = fresh_drill.state
    users: list[User] = sorted(state.user_order, key=lambda u: u.created_at)
    lo, hi = users[50].created_at, users[120].created_at
    expected = [u.id for u in state.user_order if lo <= u.created_at <= hi]
    got = _all_ids(fresh_drill, created_after=lo, created_before=hi)
    assert got == expected and users[50].id in got and users[120].id in got
    assert _all_ids(fresh_drill, created_before=lo) == [
        u.id for u in state.user_order if u.created_at <= lo
    ]


def test_direct_state_changes_need_a_touch(fresh_drill: Any) -> None:
    state = fresh_drill.state
    before = _all_ids(fresh_drill, blocked="true")
    target = next(u for u in state.user_order if u.state == "active" and u.id > 40)
    with state.lock:
        target.state = "blocked"
        state.touch()
    after = _all_ids(fresh_drill, blocked="true")
    assert after == sorted([*before, target.id])
    with state.lock:
        state.remove_user(target)  # add_user/remove_user invalidate by themselves
    assert target.id not in _all_ids(fresh_drill, blocked="true")
