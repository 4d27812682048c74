"""Personal, impersonation, service-account and bot tokens: the cast's and one in seven staff's."""

from __future__ import annotations

from datetime import datetime

from console.drill.model import Token
from console.drill.seed.clock import Clock
from console.drill.seed.formula import mix, secret
from console.drill.seed.names import ADMIN_TOKEN, ATTACKER_IP, SEEDED_MAX, USER_TOKEN
from console.drill.state import DrillState


def seed_tokens(state: DrillState, clock: Clock, seed: int, total: int) -> None:
    def tok(
        user_id: int,
        name: str,
        scopes: list[str],
        created_days: float,
        expires_days: int | None,
        *,
        value: str | None = None,
        revoked: bool = False,
        used_days: float | None = None,
        ips: tuple[str, ...] = (),
        impersonation: bool = False,
        resource: tuple[str, int, int] | None = None,
        description: str = "",
    ) -> Token:
        tid = state.next_id("token")
        token = Token(
            id=tid,
            user_id=user_id,
            name=name,
            value=value or secret(seed, "pat", tid, "glpat-"),
            scopes=scopes,
            created_at=clock.at(created_days),
            expires_at=(clock.future_date(expires_days) if expires_days is not None else None),
            revoked=revoked,
            last_used_at=clock.at(used_days) if used_days is not None else None,
            last_used_ips=list(ips),
            impersonation=impersonation,
            description=description,
        )
        if resource is not None:
            token.resource_type, token.resource_id, token.access_level = resource
        return state.add_token(token)

    tok(
        1,
        "incident-response",
        ["api"],
        0.02,
        30,
        value=ADMIN_TOKEN,
        used_days=0.01,
        ips=("127.0.0.1",),
        description="Drill responder token",
    )
    tok(10, "cli", ["api"], 20, 60, value=USER_TOKEN, used_days=0.2, ips=("10.20.7.31",))
    tok(1, "ops-automation", ["api", "sudo"], 300, 65, used_days=0.5, ips=("10.20.0.5",))
    tok(4, "review-tool", ["read_api"], 200, 165, used_days=2, ips=("10.20.3.14",))
    tok(5, "sre-scripts", ["api"], 100, 265, used_days=1.1, ips=("10.20.3.27",))
    tok(6, "release", ["api"], 380, -15, used_days=20, ips=("198.51.100.61",))  # expired
    tok(
        7,
        "laptop-cli",
        ["read_api", "read_repository"],
        240,
        125,
        used_days=9.5,
        ips=("10.40.12.23",),
    )
    # The attacker's token: api scope, never expires, used only from the attacker's IP.
    tok(7, "ci-sync", ["api"], 2.95, None, used_days=0.15, ips=(ATTACKER_IP,))
    tok(
        9,
        "automation",
        ["api", "read_repository", "write_repository"],
        1.9,
        None,
        used_days=0.4,
        ips=(ATTACKER_IP,),
    )
    tok(8, "k8s-debug", ["read_api"], 90, 275, used_days=1, ips=("10.40.12.88",))
    tok(15, "old-laptop", ["api"], 600, 120, revoked=True, used_days=210, ips=("10.20.2.40",))
    tok(19, "dormant", ["read_api"], 500, 200, used_days=260, ips=("10.20.2.50",))
    tok(31, "scanner", ["read_api"], 150, 215, used_days=0.7, ips=("10.20.5.2",))
    tok(33, "notebook", ["read_api", "read_repository"], 80, 285, used_days=3, ips=("10.20.5.4",))
    tok(
        1,
        "impersonate-lnguyen",
        ["api"],
        140,
        20,
        impersonation=True,
        revoked=True,
        used_days=139,
        ips=("10.20.0.5",),
    )
    tok(
        14,
        "impersonation-check",
        ["read_api"],
        18,
        30,
        impersonation=True,
        used_days=17,
        ips=("10.20.0.5",),
    )
    # Service accounts holding tokens that never expire.
    tok(
        28,
        "nightly-backup",
        ["read_api", "read_repository"],
        480,
        None,
        used_days=0.3,
        ips=("10.20.8.2",),
    )
    tok(29, "terraform-apply", ["api"], 390, None, used_days=0.9, ips=("10.20.8.3",))
    tok(30, "metrics", ["read_api"], 240, 120, used_days=0.1, ips=("10.20.8.4",))
    # Bot users: group / project access tokens.
    tok(
        25,
        "argo-deployer",
        ["read_repository", "read_registry"],
        200,
        160,
        used_days=0.2,
        ips=("10.20.8.10",),
        resource=("project", 5, 40),
    )
    tok(
        26,
        "release-bot",
        ["api"],
        150,
        215,
        used_days=3,
        ips=("10.20.8.11",),
        resource=("project", 8, 40),
    )
    tok(
        27,
        "renovate",
        ["api", "write_repository"],
        330,
        35,
        used_days=0.5,
        ips=("10.20.8.12",),
        resource=("group", 3, 40),
    )
    for uid in range(SEEDED_MAX + 1, total + 1, 7):
        u = state.users[uid]
        if u.current_sign_in_at is None:
            continue
        h = mix(uid, seed + 3)
        age_days = clock.now - datetime.fromisoformat(u.created_at.replace("Z", "+00:00"))
        # a token is created after its owner's account, and used after it was created
        created_days = max(1.0, min(5 + h % 300, age_days.total_seconds() / 86400 - 0.5))
        tid = state.next_id("token")
        state.add_token(
            Token(
                id=tid,
                user_id=uid,
                name=("laptop", "ci", "scripts", "ide")[h % 4],
                value=secret(seed, "pat", tid, "glpat-"),
                scopes=["read_api"] if h % 3 else ["api"],
                created_at=clock.at(created_days),
                expires_at=clock.future_date(int(365 - created_days) - (h >> 9) % 40),
                revoked=(h >> 5) % 13 == 0,
                last_used_at=(
                    clock.at(min(1 + (h >> 12) % 30, created_days - 0.5)) if (h >> 7) % 3 else None
                ),
                last_used_ips=[u.current_sign_in_ip or "10.20.0.1"] if (h >> 7) % 3 else [],
            )
        )
