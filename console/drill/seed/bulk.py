"""Formula-generated staff (ids above ``SEEDED_MAX``): 200,000 users in a couple of seconds.

Each user is a function of (seed, id); their keys, emails and contribution events are made
on first request (``DrillState.ensure_detail`` calls :func:`bulk_detail`).
"""

from __future__ import annotations

from datetime import datetime

from console.drill.model import HUMAN, ContribEvent, Email, SshKey, User
from console.drill.seed.clock import Clock
from console.drill.seed.contrib import push_data
from console.drill.seed.formula import mix, ssh_key_text
from console.drill.seed.names import BULK_KEY_ID_BASE, SEEDED_MAX
from console.drill.state import DrillState

FIRST = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Maya",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Aiden",
    "Bianca",
    "Chidi",
    "Dana",
    "Emil",
    "Fatima",
    "Gabriel",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Leila",
    "Mateo",
    "Nora",
)
LAST = (
    "Schmidt",
    "Okafor",
    "Rossi",
    "Kim",
    "Novak",
    "Haddad",
    "Silva",
    "Tanaka",
    "Murphy",
    "Ivanova",
    "Dubois",
    "Jensen",
    "Mehta",
    "Lopez",
    "Nakamura",
    "Fischer",
    "Moreau",
    "Kaur",
    "Andersson",
    "Costa",
    "Yilmaz",
    "Wright",
    "Petrov",
    "Hughes",
    "Santos",
    "Bauer",
    "Ali",
    "Larsen",
    "Romero",
    "Chen",
    "Park",
    "Weber",
    "Ortiz",
    "Brennan",
    "Sato",
    "Varga",
)


def seed_bulk(state: DrillState, clock: Clock, seed: int, total: int) -> None:
    now_epoch = clock.now_epoch
    span = 6 * 365 * 86400
    n_first, n_last = len(FIRST), len(LAST)
    first_lower = [f.lower() for f in FIRST]
    last_lower = [n.lower() for n in LAST]
    taken = state.by_username
    add = state.add_user
    fmt = clock.fmt
    for uid in range(SEEDED_MAX + 1, total + 1):
        h = mix(uid, seed)
        fi = h % n_first
        li = (h >> 8) % n_last
        username = f"{first_lower[fi]}.{last_lower[li]}"
        if username in taken:
            username = f"{username}{uid}"
        # Older ids are older accounts; the newest bulk account is ~10 days old.
        created = now_epoch - 10 * 86400 - int(span * (1 - uid / (total + 1))) - (h >> 40) % 86400
        r = (h >> 16) % 1000
        state_name = "active"
        if r < 15:
            state_name = "blocked"
        elif r < 22:
            state_name = "deactivated"
        elif r < 25:
            state_name = "banned"
        elif r < 27:
            state_name = "blocked_pending_approval"
        never = (h >> 26) % 100 < 4 or state_name == "blocked_pending_approval"
        if state_name == "deactivated":
            seen = 95 + (h >> 28) % 300
        elif state_name in ("blocked", "banned"):
            seen = 20 + (h >> 28) % 400
        else:
            seen = (h >> 28) % 45
        current_epoch = max(now_epoch - seen * 86400 - (h >> 44) % 86400, created + 3600)
        last_epoch = max(current_epoch - (1 + (h >> 36) % 20) * 86400, created + 60)
        office = (h >> 50) % 10 < 7
        ip = (
            f"10.20.{(h >> 48) & 255}.{(h >> 56) & 255}"
            if office
            else f"198.51.100.{(h >> 52) & 255}"
        )
        prev_ip = ip if (h >> 60) % 4 else f"10.20.{(h >> 41) & 255}.{(h >> 33) & 255}"
        current_s = fmt(current_epoch)
        created_s = fmt(created)
        add(
            User(
                id=uid,
                username=username,
                name=f"{FIRST[fi]} {LAST[li]}",
                email=f"{username}@corp.example.com",
                state=state_name,
                user_type=HUMAN,
                is_admin=False,
                two_factor=(h >> 33) % 100 < 72 and state_name != "blocked_pending_approval",
                external=(h >> 20) % 100 < 3,
                created_at=created_s,
                created_by=None,
                confirmed_at=None if never and state_name != "active" else created_s,
                last_sign_in_at=None if never else fmt(last_epoch),
                current_sign_in_at=None if never else current_s,
                last_activity_on=None if never else current_s[:10],
                current_sign_in_ip=None if never else ip,
                last_sign_in_ip=None if never else prev_ip,
                sign_in_count=0 if never else 1 + (h >> 24) % 400,
                identities=(
                    [{"provider": "google_oauth2", "extern_uid": str(h % 10**20)}]
                    if (h >> 18) % 10 == 0
                    else []
                ),
                organization="ACME Corp",
                namespace_id=uid,
                updated_at=current_s,
            )
        )


def bulk_detail(state: DrillState, user: User) -> None:
    """Keys, emails and contribution events for a formula-generated user."""
    h = mix(user.id, state.seed + 7)
    now = state.now
    clock = Clock(now)
    created_days = max((now - datetime.fromisoformat(user.created_at)).total_seconds() / 86400, 1.0)
    keys = []
    for k in range(h % 3):
        kid = BULK_KEY_ID_BASE + user.id * 3 + k
        age = created_days * (0.3 + 0.3 * k)
        keys.append(
            SshKey(
                kid,
                user.id,
                ("work laptop", "desktop", "yubikey")[k],
                ssh_key_text(state.seed, kid, f"{user.username}@corp"),
                clock.at(age),
                None,
                "auth_and_signing",
                clock.at(min(age, 3 + (h >> 8) % 30)),
            )
        )
    state.ssh_keys[user.id] = keys
    if (h >> 4) % 5 == 0:
        eid = BULK_KEY_ID_BASE + user.id
        state.emails[user.id] = [
            Email(
                eid, user.id, f"{user.username}.alt@corp.example.com", clock.at(created_days * 0.5)
            )
        ]
    events = []
    if user.current_sign_in_at is not None and state.projects:
        pids = sorted(state.projects)
        for n in range((h >> 12) % 4):
            pid = pids[(h >> (16 + n)) % len(pids)]
            events.append(
                ContribEvent(
                    BULK_KEY_ID_BASE + user.id * 4 + n,
                    user.id,
                    pid,
                    "pushed to",
                    None,
                    None,
                    clock.at(2 + n * 5 + (h >> 20) % 20),
                    push_data("main", "feature work", h + n),
                )
            )
    state.contrib[user.id] = events
