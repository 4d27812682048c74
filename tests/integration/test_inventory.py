"""console.inventory: rows, flags, per-source problems, no secret values — fake and drill."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from console.inventory import (
    Credential,
    Inventory,
    credential_flags,
    fetch_inventory,
)
from console.secret import redact_url

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
WINDOW = (NOW - timedelta(days=5), NOW)
SECRETS = ("s3cr3t-value-DO-NOT-KEEP", "hunter2-group", "pypi-token-project", "hookpass")


def _days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Resp:
    def __init__(self, body: Any, next_url: str | None = None, status: int = 200) -> None:
        self._body, self.status_code = body, status
        self.links = {"next": {"url": next_url}} if next_url else {}

    def json(self) -> Any:
        return self._body


class FakeServer:
    """A sync httpx-style client over fixed routes, with offset pages of ``per_page``."""

    base_url = "http://fake.invalid/api/v4"  # where next links must stay

    def __init__(self, routes: dict[str, Any], statuses: dict[str, int] | None = None) -> None:
        self.routes, self.statuses, self.paths = routes, statuses or {}, []

    def get(self, url: str, *, params: Any = None, timeout: Any = None) -> _Resp:
        assert timeout, "every request needs a timeout"
        parts = urlsplit(url)
        path = parts.path.removeprefix("/api/v4")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query.update({k: str(v) for k, v in (params or {}).items()})
        self.paths.append(path)
        if path in self.statuses:
            return _Resp(
                {"message": f"{self.statuses[path]} Forbidden"}, status=self.statuses[path]
            )
        body = self.routes.get(path)
        if body is None:
            return _Resp({"message": "404 Not Found"}, status=404)
        if isinstance(body, dict):
            return _Resp(body)
        per_page, page = int(query.get("per_page", 20)), int(query.get("page", 1))
        chunk = body[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(body)
        nxt = f"http://fake.invalid/api/v4{path}?page={page + 1}&per_page={per_page}"
        return _Resp(chunk, nxt if more else None)


def _routes() -> dict[str, Any]:
    tokens = [
        {
            "id": 1,
            "name": "ci-sync",
            "user_id": 7,
            "scopes": ["api"],
            "revoked": False,
            "active": True,
            "created_at": _days_ago(2.9),
            "last_used_at": _days_ago(0.5),
            "expires_at": None,
        },
        {
            "id": 2,
            "name": "old",
            "user_id": 3,
            "scopes": ["read_api"],
            "revoked": False,
            "active": True,
            "created_at": _days_ago(400),
            "last_used_at": _days_ago(200),
            "expires_at": "2026-01-01",
        },
        {
            "id": 3,
            "name": "support",
            "user_id": 3,
            "scopes": ["api", "sudo"],
            "revoked": False,
            "active": True,
            "impersonation": True,
            "created_at": _days_ago(30),
            "last_used_at": None,
            "expires_at": "2026-01-01",
        },
        {
            "id": 4,
            "name": "bot",
            "user_id": 50,
            "scopes": ["read_repository"],
            "revoked": True,
            "active": False,
            "created_at": _days_ago(30),
            "last_used_at": None,
            "expires_at": "2026-01-01",
        },
    ] + [
        {
            "id": 100 + i,
            "name": f"t{i}",
            "user_id": 3,
            "scopes": ["read_user"],
            "revoked": False,
            "active": True,
            "created_at": _days_ago(50),
            "last_used_at": _days_ago(1),
            "expires_at": "2026-01-01",
        }
        for i in range(150)
    ]
    return {
        "/personal_access_tokens": tokens,
        "/users/7": {"id": 7, "username": "mchen"},
        "/users/3": {"id": 3, "username": "lnguyen"},
        "/users/50": {"id": 50, "username": "project_3_bot_x", "bot": True},
        "/deploy_keys": [
            {
                "id": 11,
                "title": "deployer",
                "created_at": _days_ago(1),
                "expires_at": None,
                "key": "ssh-ed25519 AAAA-KEY-MATERIAL",
                "projects_with_write_access": [{"id": 3, "path_with_namespace": "acme/infra"}],
                "projects_with_readonly_access": [],
            }
        ],
        "/deploy_tokens": [
            {
                "id": 21,
                "name": "registry",
                "username": "gitlab+deploy-token-21",
                "expires_at": None,
                "scopes": ["read_registry", "write_registry"],
                "revoked": False,
                "expired": False,
            }
        ],
        "/runners/all": [
            {
                "id": 31,
                "description": "build-07",
                "runner_type": "project_type",
                "paused": False,
                "status": "online",
                "created_at": _days_ago(1.1),
                "is_shared": False,
            }
        ],
        "/admin/ci/variables": [
            {
                "key": "AWS_SECRET",
                "value": SECRETS[0],
                "protected": True,
                "masked": True,
                "variable_type": "env_var",
                "raw": False,
            }
        ],
        "/hooks": [
            {
                "id": 41,
                "url": "https://user:hookpass@siem.example.com/in?token=abc",
                "created_at": _days_ago(100),
                "push_events": True,
                "enable_ssl_verification": False,
            }
        ],
        "/groups": [{"id": 2, "full_path": "acme"}],
        "/projects": [{"id": 3, "path_with_namespace": "acme/infra"}],
        "/groups/2/variables": [
            {
                "key": "GROUP_PASS",
                "value": SECRETS[1],
                "protected": False,
                "masked": False,
                "environment_scope": "*",
            }
        ],
        "/projects/3/variables": [
            {
                "key": "PIP_INDEX_URL",
                "value": SECRETS[2],
                "protected": True,
                "masked": False,
                "hidden": False,
                "environment_scope": "production",
            },
            {
                "key": "HIDDEN",
                "value": None,
                "hidden": True,
                "masked": True,
                "environment_scope": "*",
            },
        ],
        "/projects/3/hooks": [
            {
                "id": 51,
                "url": "https://webhook-relay.example.net/c/7f3e",
                "created_at": _days_ago(1.05),
                "push_events": True,
                "job_events": True,
                "project_id": 3,
            }
        ],
    }


def _by_key(inv: Inventory) -> dict[str, Credential]:
    return {r.key: r for r in inv.rows}


def test_rows_and_flags_from_every_source() -> None:
    server = FakeServer(_routes())
    progress: list[str] = []
    inv = fetch_inventory(
        server, WINDOW, now=NOW, on_progress=lambda p: progress.append(p.source), is_admin=True
    )
    rows = _by_key(inv)
    assert inv.complete
    # all 154 tokens across two pages (pagination followed)
    assert sum(1 for r in inv.rows if r.owner_type == "user") == 154
    ci = rows["pat:1"]
    assert ci.owner == "mchen" and ci.scopes == ("api",)
    assert {
        "api scope",
        "created in incident window",
        "used in incident window",
        "never expires",
    } <= set(ci.flags)
    assert "unused 90+ days" in rows["pat:2"].flags
    imp = rows["impersonation:3"]
    assert {"admin scope", "impersonation", "never used"} <= set(imp.flags)
    bot = rows["bot_token:4"]
    assert bot.state == "revoked" and "never used" not in bot.flags  # revoked: no live flags
    dk = rows["deploy_key:11"]
    assert dk.owner == "acme/infra" and "write access" in dk.flags and "never expires" in dk.flags
    dt = rows["deploy_token:21"]
    assert "write scope" in dt.flags and dt.owner == ""
    runner = rows["runner:31"]
    assert "created in incident window" in runner.flags
    var = rows["instance_variable:AWS_SECRET"]
    assert var.protected and "protected variable" in var.flags
    assert rows["group_variable:2:GROUP_PASS:*"].flags == ("not masked",)
    pip = rows["project_variable:3:PIP_INDEX_URL:production"]
    assert pip.owner == "acme/infra" and {"protected variable", "not masked"} <= set(pip.flags)
    assert "hidden" in rows["project_variable:3:HIDDEN:*"].flags
    sys_hook = rows["system_hook:41"]
    assert {"TLS verification off", "credentials in URL"} <= set(sys_hook.flags)
    assert "hookpass" not in sys_hook.name and "abc" not in sys_hook.extra["url"]
    hook = rows["project_hook:51"]
    assert "created in incident window" in hook.flags and set(hook.scopes) == {"push", "job"}
    assert {"personal access tokens", "group and project settings"} <= set(progress)
    # group webhooks are Premium: a 404 there is a coverage note, not a failure of the rest
    assert any(p.source == "group webhooks" for p in inv.problems)


def test_no_secret_value_anywhere_in_the_inventory() -> None:
    inv = fetch_inventory(FakeServer(_routes()), WINDOW, now=NOW)
    dump = json.dumps([r.to_dict() for r in inv.rows]) + repr(inv)
    for secret in (*SECRETS, "AAAA-KEY-MATERIAL"):
        assert secret not in dump
    assert all("value" not in r.extra for r in inv.rows)


def test_one_failing_source_becomes_a_problem_not_an_empty_inventory() -> None:
    server = FakeServer(_routes(), statuses={"/deploy_keys": 403, "/admin/ci/variables": 403})
    inv = fetch_inventory(server, WINDOW, now=NOW, is_admin=False)
    sources = {p.source for p in inv.problems}
    assert {"deploy keys", "instance CI/CD variables", "personal access tokens"} <= sources
    deploy = next(p for p in inv.problems if p.source == "deploy keys")
    assert deploy.problem.status == 403 and deploy.problem.kind == "coverage"
    kinds = {r.kind for r in inv.rows}
    assert "deploy_key" not in kinds and "instance_variable" not in kinds
    assert {"pat", "deploy_token", "runner", "system_hook", "project_hook"} <= kinds


def test_a_partly_failed_inventory_names_the_failed_sources() -> None:
    server = FakeServer(_routes(), statuses={"/deploy_keys": 403, "/runners/all": 500})
    inv = fetch_inventory(server, WINDOW, now=NOW, namespaces=False)
    assert inv.partial and inv.failed_sources == ["deploy keys", "runners"]
    assert inv.partial_summary() == "partial: 2 of 6 sources failed (deploy keys, runners)"
    assert inv.rows  # the other sources still count


def test_a_complete_inventory_is_not_partial_and_a_cancelled_one_says_so() -> None:
    inv = fetch_inventory(FakeServer(_routes()), WINDOW, now=NOW, namespaces=False, is_admin=True)
    assert inv.problems == [] and not inv.partial and inv.partial_summary() is None
    stopped = Inventory(inv.rows, [], complete=False, sources=inv.sources)
    assert stopped.partial_summary() == "partial: stopped before every source was read"


def test_user_lookup_avoids_user_requests_and_names_bots() -> None:
    server = FakeServer(_routes())
    looked: list[list[int]] = []

    def lookup(ids: Any) -> dict[int, dict[str, Any]]:
        looked.append(list(ids))
        return {
            7: {"username": "mchen"},
            3: {"username": "lnguyen"},
            50: {"username": "project_3_bot_x", "user_type": "project_bot"},
        }

    inv = fetch_inventory(server, WINDOW, now=NOW, user_lookup=lookup, namespaces=False)
    assert looked == [[3, 7, 50]]
    assert not any(p.startswith("/users/") for p in server.paths)
    assert _by_key(inv)["bot_token:4"].owner == "project_3_bot_x"
    assert not any(p.startswith("/groups/") or p.startswith("/projects/") for p in server.paths)


def test_cancel_returns_a_partial_inventory() -> None:
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    inv = fetch_inventory(FakeServer(_routes()), WINDOW, now=NOW, cancelled=cancelled)
    assert not inv.complete


def test_flags_and_url_redaction_helpers() -> None:
    flags = credential_flags(
        kind="pat",
        created_at=None,
        last_used_at=None,
        expires_at=None,
        scopes=["admin_mode"],
        state="active",
        window=None,
        now=NOW,
        expiry_applies=True,
        tracks_use=True,
    )
    assert flags == ["admin scope", "never expires", "never used"]
    assert redact_url("https://a:b@h.example/p?x=1&y") == ("https://***@h.example/p?x=***&y", True)
    assert redact_url("https://h.example/p") == ("https://h.example/p", False)
    row = Credential.from_dict(
        _by_key(fetch_inventory(FakeServer(_routes()), WINDOW, now=NOW, namespaces=False))[
            "pat:1"
        ].to_dict()
    )
    assert row.key == "pat:1" and row.owner == "mchen"


# ------------------------------------------------------------------------------- the drill


def _gitlab(server: Any, token: str | None = None) -> Any:
    from console.config import ConnectionConfig, build_gitlab
    from console.secret import Secret

    return build_gitlab(ConnectionConfig(url=server.url), Secret(token or server.ADMIN_TOKEN))


def test_drill_inventory_rows_flags_and_no_values(drill: Any) -> None:
    from console.drill.seed import ATTACKER_HOOK_URL, ATTACKER_IP

    now = drill.state.current_time()
    window = (now - timedelta(days=4), now)
    inv = fetch_inventory(_gitlab(drill), window, is_admin=True)
    assert inv.complete
    rows = inv.rows
    by_name = {(r.kind, r.name): r for r in rows}
    # every PAT of the instance (the admin list), impersonation and bot tokens classified
    pats = [r for r in rows if r.owner_type == "user"]
    assert len(pats) == len(drill.state.tokens)
    ci = by_name[("pat", "ci-sync")]
    assert ci.owner == "mchen"
    assert {
        "api scope",
        "created in incident window",
        "used in incident window",
        "never expires",
    } <= set(ci.flags)
    assert ATTACKER_IP in ci.extra["last_used_ips"]
    assert "created in incident window" in by_name[("pat", "automation")].flags
    assert "impersonation" in by_name[("impersonation", "impersonation-check")].flags
    assert by_name[("bot_token", "renovate")].owner.startswith("group_3_bot_")
    assert "never expires" in by_name[("service_token", "terraform-apply")].flags
    assert "unused 90+ days" in by_name[("pat", "dormant")].flags
    runner = by_name[("runner", "build-07")]
    assert "created in incident window" in runner.flags
    hook = next(r for r in rows if r.kind == "project_hook" and r.extra["url"] == ATTACKER_HOOK_URL)
    assert {"created in incident window", "TLS verification off"} <= set(hook.flags)
    assert hook.owner.startswith("acme/infrastructure/")
    pip = next(r for r in rows if r.kind == "project_variable" and r.name == "PIP_INDEX_URL")
    assert "not masked" in pip.flags
    aws = next(r for r in rows if r.name == "AWS_SECRET_ACCESS_KEY")
    assert aws.protected and "protected variable" in aws.flags and "hidden" in aws.flags
    assert {r.kind for r in rows} >= {
        "deploy_key",
        "deploy_token",
        "instance_variable",
        "group_variable",
        "system_hook",
        "group_hook",
    }
    # not one variable value, token value or key body anywhere in the inventory
    dump = json.dumps([r.to_dict() for r in rows]) + repr(inv)
    scopes = {v.environment_scope for v in drill.state.variables}  # "production" is both
    secrets = [
        v.value for v in drill.state.variables if len(v.value) >= 8 and v.value not in scopes
    ]
    assert len(secrets) >= 10
    secrets += [t.value for t in drill.state.tokens.values()]
    secrets += [k.key for k in drill.state.deploy_keys.values()]
    secrets += [h.token for h in drill.state.hooks.values() if h.token]
    secrets += [t.token for t in drill.state.deploy_tokens.values()]
    leaked = [s for s in secrets if s in dump]
    assert leaked == []


def test_drill_inventory_as_non_admin_reports_problems_per_source(drill: Any) -> None:
    inv = fetch_inventory(_gitlab(drill, drill.USER_TOKEN), None, is_admin=False, namespaces=False)
    sources = {p.source for p in inv.problems}
    assert {
        "deploy keys",
        "deploy tokens",
        "runners",
        "instance CI/CD variables",
        "system hooks",
        "personal access tokens",
    } <= sources
    assert all(p.problem.kind == "coverage" for p in inv.problems)
    assert {r.owner for r in inv.rows} <= {"jlee"}  # only the caller's own tokens
