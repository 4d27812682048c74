"""Six months of ordinary audit activity: sign-ins from home addresses, failed logins from
the internet, token and membership changes, a few admin actions, and the lifecycle of the
seeded accounts (blocks, bans, registrations).

Consumes the seed's random stream in a fixed order: anything drawn here shifts every later
value, so new benign events go after the existing ones.
"""

from __future__ import annotations

import random
from datetime import datetime

from console.drill.model import HUMAN
from console.drill.seed.history import History
from console.drill.seed.names import HISTORY_DAYS, SEEDED_MAX


def seed_benign(log: History, rng: random.Random) -> None:
    state, clock, users = log.state, log.clock, log.state.users
    add, signin = log.add, log.signin

    def existed(uid: int, days: float) -> int:
        """``uid`` if that account existed ``days`` ago, else a long-standing colleague.

        The random stream stays the same either way, so every other record keeps its id.
        """
        born = datetime.fromisoformat(users[uid].created_at.replace("Z", "+00:00"))
        return uid if born <= datetime.fromisoformat(clock.at(days).replace("Z", "+00:00")) else 4

    # A pool of benign authors: the ordinary seeded staff plus the first bulk users.
    pool = [
        u.id
        for u in state.user_order
        if u.user_type == HUMAN
        and u.state == "active"
        and u.id not in (7, 9, 13, 14)
        and u.current_sign_in_ip is not None
        and u.id <= SEEDED_MAX + 400
    ]
    home = {uid: users[uid].last_sign_in_ip or "10.20.0.1" for uid in pool}
    home[7] = "10.40.12.23"
    mchen_ips = ("10.40.12.23", "198.51.100.23")
    for day in range(HISTORY_DAYS, 3, -1):
        for _ in range(rng.randint(8, 16)):
            uid = rng.choice(pool)
            when = day - rng.random()
            uid = existed(uid, when)
            signin(when, uid, home.get(uid, "10.20.0.1"))
        if day % 3 == 0:
            signin(day - rng.random(), 7, mchen_ips[day % 2])
        if rng.random() < 0.25:
            add(
                day - rng.random(),
                author=None,
                entity_type="Gitlab::Audit::InstanceScope",
                entity_id=1,
                event_name="login_failed_with_standard_authentication",
                message="Failed to login with STANDARD authentication",
                ip=f"192.0.2.{rng.randint(20, 250)}",
                author_name=rng.choice(("admin", "root", "test", users[rng.choice(pool)].username)),
                extra={"failed_login": "STANDARD"},
                entity_path="gitlab_instance",
            )
        if rng.random() < 0.2:
            uid = rng.choice(pool)
            when = day - rng.random()
            uid = existed(uid, when)
            u = users[uid]
            add(
                when,
                author=u,
                entity_type="User",
                entity_id=uid,
                event_name="personal_access_token_created",
                message=f"Created personal access token with id {rng.randint(100, 9000)}",
                target=(uid, "User", u.name),
                ip=home.get(uid, "10.20.0.1"),
            )
        if rng.random() < 0.12:
            uid = rng.choice(pool)
            gid = rng.choice((2, 4, 5, 7))
            add(
                day - rng.random(),
                author=users[rng.choice((4, 5))],
                entity_type="Group",
                entity_id=gid,
                event_name="member_created",
                message="Membership created",
                target=(uid, "User", users[uid].name),
                ip="10.20.3.14",
                extra={
                    "add": "user_access",
                    "as": "Developer",
                    "member_id": rng.randint(1000, 9999),
                },
            )
        if rng.random() < 0.06:
            pid = rng.choice((1, 2, 6, 7, 11))
            uid = rng.choice(pool)
            when = day - rng.random()
            uid = existed(uid, when)
            add(
                when,
                author=users[uid],
                entity_type="Project",
                entity_id=pid,
                event_name="ci_variable_updated",
                message="Changed variable DEPLOY_TIMEOUT",
                target=(pid * 100, "Ci::Variable", "DEPLOY_TIMEOUT"),
                ip=home.get(uid, "10.20.0.1"),
            )
        if rng.random() < 0.05:
            add(
                day - rng.random(),
                author=users[5],
                entity_type="User",
                entity_id=5,
                event_name="user_enable_admin_mode",
                message="Enabled Admin Mode",
                target=(5, "User", users[5].name),
                ip="10.20.3.27",
            )
    # Lifecycle events of seeded accounts.
    add(
        200.2,
        author=users[1],
        entity_type="User",
        entity_id=15,
        event_name="user_blocked",
        message="Blocked user",
        target=(15, "User", users[15].name),
        ip="10.20.0.5",
    )
    add(
        150.1,
        author=users[4],
        entity_type="User",
        entity_id=16,
        event_name="user_blocked",
        message="Blocked user",
        target=(16, "User", users[16].name),
        ip="10.20.3.14",
    )
    add(
        118.8,
        author=users[1],
        entity_type="User",
        entity_id=17,
        event_name="ban_user",
        message="Banned user",
        target=(17, "User", users[17].name),
        ip="10.20.0.5",
    )
    add(
        88.7,
        author=users[5],
        entity_type="User",
        entity_id=18,
        event_name="ban_user",
        message="Banned user",
        target=(18, "User", users[18].name),
        ip="10.20.3.27",
    )
    add(
        59.9,
        author=users[1],
        entity_type="User",
        entity_id=24,
        event_name="user_created",
        message="User ext-auditor created",
        target=(24, "User", users[24].name),
        ip="10.20.0.5",
    )
    add(
        19.0,
        author=users[6],
        entity_type="User",
        entity_id=14,
        event_name="user_created",
        message="User r00t created",
        target=(14, "User", users[14].name),
        ip="198.51.100.61",
    )
    add(
        45.0,
        author=users[11],
        entity_type="User",
        entity_id=11,
        event_name="registration_created",
        message="Instance access request",
        target=(11, "User", users[11].name),
        ip="10.20.9.4",
    )
    add(
        90.0,
        author=users[1],
        entity_type="Project",
        entity_id=6,
        event_name="webhook_created",
        message="Created project hook",
        target=(5, "ProjectHook", "https://deploy.corp.example.com/storefront"),
        ip="10.20.0.5",
    )
    add(
        35.5,
        author=users[5],
        entity_type="Gitlab::Audit::InstanceScope",
        entity_id=1,
        event_name="ci_runner_token_reset",
        message="Reset runner authentication token",
        target=(1, "Ci::Runner", "shared-runner-01"),
        ip="10.20.3.27",
        entity_path="gitlab_instance",
    )
    add(
        40.0,
        author=users[1],
        entity_type="Gitlab::Audit::InstanceScope",
        entity_id=1,
        event_name="application_setting_updated",
        message="Changed signup_enabled from false to true",
        ip="10.20.0.5",
        extra={"change": "signup_enabled", "from": "false", "to": "true"},
        entity_path="gitlab_instance",
    )
