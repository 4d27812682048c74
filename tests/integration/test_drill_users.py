"""Drill users API: pagination (offset and keyset), filters, admin-only fields, moderation."""

from __future__ import annotations

import re
from typing import Any

import gitlab
import pytest
import requests

from console.drill.server import DrillOptions, DrillServer


def _get(server: Any, path: str, token: str | None = None, **params: Any) -> requests.Response:
    headers = {"PRIVATE-TOKEN": token or server.ADMIN_TOKEN}
    return requests.get(f"{server.url}/api/v4{path}", headers=headers, params=params, timeout=10)


def _post(server: Any, path: str, token: str | None = None) -> requests.Response:
    headers = {"PRIVATE-TOKEN": token or server.ADMIN_TOKEN}
    return requests.post(f"{server.url}/api/v4{path}", headers=headers, timeout=10)


def _links(response: requests.Response) -> dict[str, str]:
    return {
        rel: url
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
    }


# --------------------------------------------------------------------------- offset pagination


def test_offset_headers_on_a_middle_page(drill: Any) -> None:
    r = _get(drill, "/users", page=3, per_page=50)
    assert r.status_code == 200
    h = r.headers
    assert (h["x-page"], h["x-per-page"], h["x-next-page"], h["x-prev-page"]) == (
        "3",
        "50",
        "4",
        "2",
    )
    assert h["x-total"] == "2000" and h["x-total-pages"] == "40"
    links = _links(r)
    assert set(links) == {"prev", "next", "first", "last"}
    assert "page=2" in links["prev"] and "page=4" in links["next"]
    assert "page=1" in links["first"] and "page=40" in links["last"]
    assert links["next"].startswith(drill.url + "/api/v4/users?")
    # Default order is id descending.
    ids = [u["id"] for u in r.json()]
    assert ids == sorted(ids, reverse=True) and ids[0] == 2000 - 100


def test_offset_last_page_has_no_next_and_first_page_no_prev(drill: Any) -> None:
    last = _get(drill, "/users", page=20, per_page=100)
    assert last.headers["x-next-page"] == "" and "next" not in _links(last)
    first = _get(drill, "/users", per_page=100)
    assert first.headers["x-prev-page"] == "" and "prev" not in _links(first)


def test_per_page_is_capped_at_100(drill: Any) -> None:
    r = _get(drill, "/users", per_page=500)
    assert r.headers["x-per-page"] == "100" and len(r.json()) == 100


def test_offset_past_50000_is_405_with_error_body(drill: Any) -> None:
    ok = _get(drill, "/users", page=500, per_page=100)  # 500 * 100 == 50,000: allowed
    assert ok.status_code == 200
    r = _get(drill, "/users", page=501, per_page=100)
    assert r.status_code == 405
    assert "maximum allowed offset of 50000" in r.json()["error"]
    assert "keyset pagination" in r.json()["error"]


def test_totals_and_last_link_omitted_above_10000_rows() -> None:
    with DrillServer(DrillOptions(users=10_050)) as big:
        r = _get(big, "/users", per_page=100)
        assert r.status_code == 200
        assert "x-total" not in r.headers and "x-total-pages" not in r.headers
        assert set(_links(r)) == {"next", "first"}
        assert r.headers["x-next-page"] == "2"
        # A filter that brings the count under 10,000 restores the totals.
        admins = _get(big, "/users", admins="true")
        assert admins.headers["x-total"] == str(len(admins.json()))


def test_invalid_page_parameter_is_a_grape_400(drill: Any) -> None:
    r = _get(drill, "/users", page="abc")
    assert r.status_code == 400 and r.json() == {"error": "page is invalid"}


# --------------------------------------------------------------------------- keyset pagination


def _keyset_walk(server: Any, sort: str, per_page: int = 100, **extra: Any) -> list[int]:
    url: str | None = f"{server.url}/api/v4/users"
    params: dict[str, Any] | None = {
        "pagination": "keyset",
        "order_by": "id",
        "sort": sort,
        "per_page": per_page,
        **extra,
    }
    seen: list[int] = []
    session = requests.Session()
    session.headers["PRIVATE-TOKEN"] = server.ADMIN_TOKEN
    while url:
        r = session.get(url, params=params, timeout=10)
        assert r.status_code == 200
        assert "x-total" not in r.headers and "x-total-pages" not in r.headers
        links = _links(r)
        assert set(links) <= {"next"}
        seen.extend(u["id"] for u in r.json())
        url, params = links.get("next"), None
    return seen


def test_keyset_ascending_and_descending_cover_every_user_once(drill: Any) -> None:
    asc = _keyset_walk(drill, "asc")
    assert asc == list(range(1, 2001))
    desc = _keyset_walk(drill, "desc", per_page=70)
    assert desc == list(range(2000, 0, -1))


def test_keyset_with_filters_and_other_order(drill: Any) -> None:
    blocked = _keyset_walk(drill, "asc", per_page=5, blocked="true")
    offset = _get(drill, "/users", blocked="true", per_page=100, sort="asc")
    assert blocked == [u["id"] for u in offset.json()] and blocked
    r = _get(drill, "/users", pagination="keyset", order_by="username", sort="asc", per_page=7)
    names = [u["username"] for u in r.json()]
    assert names == sorted(names)


def test_keyset_on_unsupported_endpoint_is_405(drill: Any) -> None:
    r = _get(drill, "/personal_access_tokens", pagination="keyset", order_by="id", sort="asc")
    assert r.status_code == 405
    assert r.json() == {"error": "Keyset pagination is not yet available for this type of request"}


def test_python_gitlab_pages_every_user_offset_and_keyset(drill: Any) -> None:
    gl = gitlab.Gitlab(drill.url, private_token=drill.ADMIN_TOKEN, timeout=10)
    offset_ids = [u.id for u in gl.users.list(iterator=True, per_page=100)]
    assert sorted(offset_ids) == list(range(1, 2001)) and len(offset_ids) == 2000
    keyset = gl.users.list(
        iterator=True, pagination="keyset", order_by="id", sort="asc", per_page=100
    )
    keyset_ids = [u.id for u in keyset]
    assert keyset_ids == list(range(1, 2001))
    assert keyset.total is None  # no totals in keyset mode


# --------------------------------------------------------------------------- filters and shapes


def test_admin_list_shape_has_admin_fields_but_no_sign_in_ips(drill: Any) -> None:
    root = _get(drill, "/users", username="ROOT").json()
    assert len(root) == 1
    user = root[0]
    assert user["is_admin"] is True and user["two_factor_enabled"] is True
    assert "current_sign_in_ip" not in user and "sign_in_count" not in user
    detail = _get(drill, "/users/1").json()
    assert detail["current_sign_in_ip"] and detail["last_sign_in_ip"]
    assert isinstance(detail["sign_in_count"], int)


def test_non_admin_gets_basic_shape_and_admin_filters_are_silently_dropped(drill: Any) -> None:
    everyone = _get(drill, "/users", token=drill.USER_TOKEN)
    dropped = _get(
        drill,
        "/users",
        token=drill.USER_TOKEN,
        admins="true",
        two_factor="disabled",
        created_after="2099-01-01T00:00:00Z",
    )
    assert dropped.status_code == 200
    assert dropped.headers["x-total"] == everyone.headers["x-total"]
    row = dropped.json()[0]
    assert set(row) == {"id", "username", "name", "state", "locked", "avatar_url", "web_url"}
    admin_view = _get(drill, "/users", admins="true")
    assert 3 <= int(admin_view.headers["x-total"]) < 20
    assert all(u["is_admin"] for u in admin_view.json())
    # Non-admin GET /users/:id has no private fields.
    profile = _get(drill, "/users/7", token=drill.USER_TOKEN).json()
    assert "email" not in profile and "current_sign_in_ip" not in profile


def test_user_filters(drill: Any) -> None:
    def total(**params: Any) -> int:
        r = _get(drill, "/users", **params)
        assert r.status_code == 200, r.text
        return int(r.headers["x-total"])

    all_users = total()
    assert total(two_factor="disabled") + total(two_factor="enabled") == all_users
    assert total(humans="true") + total(exclude_humans="true") == all_users
    bots = _get(drill, "/users", exclude_humans="true", per_page=100).json()
    assert all(u["bot"] for u in bots if u["username"] != "ghost")
    assert total(without_project_bots="true") == all_users - sum(
        1 for u in bots if u["username"].startswith(("project_", "group_"))
    )
    assert total(exclude_internal="true") == all_users - 2  # alert-bot and support-bot
    assert total(blocked="true") > 0 and total(active="true") < all_users
    assert total(external="true") == total() - total(exclude_external="true")
    assert total(search="mchen") == 1
    assert total(created_after="2000-01-01T00:00:00Z") == all_users
    assert total(created_before="2000-01-01T00:00:00Z") == 0
    assert _get(drill, "/users", two_factor="maybe").status_code == 400


def test_seeded_population(drill: Any) -> None:
    users = {u["username"]: u for u in _keyset_users(drill)}
    assert users["root"]["id"] == 1 and users["root"]["is_admin"]
    admins = [u for u in users.values() if u["is_admin"]]
    assert any(not u["two_factor_enabled"] for u in admins if u["username"] != "ops-helper")
    states = {u["state"] for u in users.values()}
    assert {"active", "blocked", "banned", "deactivated", "blocked_pending_approval"} <= states
    assert any(u["external"] for u in users.values())
    names = [u["name"] for u in users.values()]
    assert "[@click=app.quit]Support[/]" in names
    assert any("\x1b]52;" in n and "\u202e" in n for n in names)
    assert any("\u0410" in n for n in names)  # Cyrillic capital A look-alike
    assert "r00t" in users
    mchen = _get(drill, f"/users/{users['mchen']['id']}").json()
    assert mchen["current_sign_in_ip"] != mchen["last_sign_in_ip"]


def _keyset_users(server: Any) -> list[dict[str, Any]]:
    gl = gitlab.Gitlab(server.url, private_token=server.ADMIN_TOKEN, timeout=10)
    return list(
        gl.http_list(
            "/users", iterator=True, pagination="keyset", order_by="id", sort="asc", per_page=100
        )
    )


def test_unknown_user_is_404_message(drill: Any) -> None:
    r = _get(drill, "/users/999999")
    assert r.status_code == 404 and r.json() == {"message": "404 User Not Found"}


def test_current_user(drill: Any) -> None:
    assert _get(drill, "/user").json()["username"] == "root"
    me = _get(drill, "/user", token=drill.USER_TOKEN).json()
    assert me["username"] == "jlee" and "is_admin" not in me


# --------------------------------------------------------------------------- moderation


def test_block_semantics(fresh_drill: Any) -> None:
    s = fresh_drill
    r = _post(s, "/users/32/block")
    assert (r.status_code, r.json()) == (201, True)
    again = _post(s, "/users/32/block")
    assert again.status_code == 201 and again.text == "null"
    own = _post(s, "/users/1/block")
    assert own.status_code == 403
    assert _post(s, "/users/2/block").status_code == 403  # internal user
    assert _post(s, "/users/999999/block").status_code == 404
    assert _post(s, "/users/32/block", token=s.USER_TOKEN).json() == {"message": "403 Forbidden"}
    assert _post(s, "/users/32/unblock").json() is True
    assert _post(s, "/users/32/unblock").json() is False
    deactivated = _post(s, "/users/19/unblock")  # akhan is deactivated
    assert deactivated.status_code == 403
    assert "Deactivated" in deactivated.json()["message"]
    # python-gitlab sees the same: True on change, None when already blocked.
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    user = gl.users.get(33, lazy=True)
    assert user.block() is True
    assert user.block() is None


def test_ban_deactivate_activate_rules(fresh_drill: Any) -> None:
    s = fresh_drill
    assert _post(s, "/users/15/ban").status_code == 403  # blocked users cannot be banned
    assert _post(s, "/users/36/ban").json() is True
    assert _post(s, "/users/36/unban").json() is True
    assert _post(s, "/users/36/unban").status_code == 403
    recent = _post(s, "/users/36/deactivate")  # active in the last 90 days
    assert recent.status_code == 403 and "90 days" in recent.json()["message"]
    assert _post(s, "/users/19/activate").json() is True
    assert _get(s, "/users/19").json()["state"] == "active"
    assert _post(s, "/users/15/activate").status_code == 403


def test_blocked_users_token_is_refused(fresh_drill: Any) -> None:
    s = fresh_drill
    assert _get(s, "/user", token=s.USER_TOKEN).status_code == 200
    assert _post(s, "/users/10/block").json() is True
    r = _get(s, "/user", token=s.USER_TOKEN)
    assert r.status_code == 403
    assert r.json() == {"message": "403 Forbidden - Your account has been blocked."}
    _post(s, "/users/10/unblock")
    assert _get(s, "/user", token=s.USER_TOKEN).status_code == 200


def test_disable_two_factor_rules(fresh_drill: Any) -> None:
    s = fresh_drill
    url = f"{s.url}/api/v4/users/%d/disable_two_factor"
    headers = {"PRIVATE-TOKEN": s.ADMIN_TOKEN}
    assert _get(s, "/users/10").json()["two_factor_enabled"] is True
    ok = requests.patch(url % 10, headers=headers, timeout=10)
    assert ok.status_code == 204 and ok.content == b""
    assert _get(s, "/users/10").json()["two_factor_enabled"] is False
    again = requests.patch(url % 10, headers=headers, timeout=10)
    assert again.status_code == 400
    admin = requests.patch(url % 4, headers=headers, timeout=10)
    assert admin.status_code == 403 and "admins" in admin.json()["message"]
    non_admin = requests.patch(url % 31, headers={"PRIVATE-TOKEN": s.USER_TOKEN}, timeout=10)
    assert non_admin.status_code == 403


def test_update_user_note_and_password(fresh_drill: Any) -> None:
    s = fresh_drill
    gl = gitlab.Gitlab(s.url, private_token=s.ADMIN_TOKEN, timeout=10)
    gl.users.update(7, {"note": "IR-1: blocked by root"})
    assert gl.users.get(7).note == "IR-1: blocked by root"
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as err:
        gl.users.update(7, {"password": "short"})
    assert err.value.response_code == 400
    gl.users.update(7, {"password": "a-long-new-password"})
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as taken:
        gl.users.update(7, {"username": "root"})
    assert taken.value.response_code == 409


def test_per_user_resources(drill: Any) -> None:
    keys = _get(drill, "/users/7/keys").json()
    assert any(k["title"] == "build-07" for k in keys)
    assert _get(drill, "/users/mchen/keys").json() == keys
    memberships = _get(drill, "/users/7/memberships").json()
    assert {"source_id", "source_name", "source_type", "access_level"} == set(memberships[0])
    assert _get(drill, "/users/7/memberships", type="Bogus").status_code == 400
    assert _get(drill, "/users/7/memberships", token=drill.USER_TOKEN).status_code == 403
    events = _get(drill, "/users/7/events").json()
    assert events and all(e["author_id"] == 7 for e in events)
    assert _get(drill, "/users/7/emails").status_code == 200
    assert _get(drill, "/users/14/impersonation_tokens").json()[0]["impersonation"] is True
    # Bulk users get lazily generated detail, identical on every request.
    assert _get(drill, "/users/1500/keys").json() == _get(drill, "/users/1500/keys").json()
