"""Builds the seeded instance: every part in a fixed order, so ids and values never move.

Each step takes the next ids of its kinds; the footholds are planted after the rest so every
older id stays where it was. The audit history is written last, sorted by time.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from console.drill import footholds
from console.drill.seed.attack import seed_attack
from console.drill.seed.benign import seed_benign
from console.drill.seed.bulk import bulk_detail, seed_bulk
from console.drill.seed.cast import seed_cast
from console.drill.seed.ci import seed_ci
from console.drill.seed.clock import Clock
from console.drill.seed.contrib import seed_contrib
from console.drill.seed.formula import secret
from console.drill.seed.history import History
from console.drill.seed.keys import seed_keys
from console.drill.seed.names import API_ID_BASE, ATTACKER_IP, COMPROMISED_USERNAME, SEEDED_MAX
from console.drill.seed.namespaces import seed_namespaces
from console.drill.seed.settings import seed_settings
from console.drill.seed.tokens import seed_tokens
from console.drill.state import DrillState


def build_state(*, users: int, seed: int, tier: str, now: datetime | None = None) -> DrillState:
    """The scenario for ``seed`` with at least ``users`` users, anchored at ``now`` (default:
    the wall clock): every timestamp is relative to the anchor."""
    state = DrillState(seed=seed, tier=tier, now=now)
    clock = Clock(state.now)
    rng = random.Random(seed)
    total = max(users, SEEDED_MAX)
    seed_cast(state, clock)
    seed_bulk(state, clock, seed, total)
    state.seeded_max_id = SEEDED_MAX
    state.detail_factory = bulk_detail
    seed_namespaces(state, clock, total)
    seed_tokens(state, clock, seed, total)
    seed_keys(state, clock, seed)
    seed_ci(state, clock, seed)
    footholds.plant(
        state, clock, lambda kind, ident, prefix, length: secret(seed, kind, ident, prefix, length)
    )
    seed_settings(state)
    _seed_audit(state, clock, rng)
    seed_contrib(state, clock)
    state.reserve_ids("ssh_key", API_ID_BASE)
    state.reserve_ids("gpg_key", API_ID_BASE)
    state.reserve_ids("email", API_ID_BASE)
    state.reserve_ids("contrib", API_ID_BASE)
    state.reserve_ids("user", total + 1)
    return state


def _seed_audit(state: DrillState, clock: Clock, rng: random.Random) -> None:
    log = History(state, clock)
    seed_benign(log, rng)
    seed_attack(log)
    footholds.audit(state, log.add, state.users[7])
    log.add_recorded_sign_ins()
    log.write()


def summary(state: DrillState) -> dict[str, Any]:
    """A short description of the scenario for the CLI banner."""
    return {
        "users": len(state.users),
        "compromised": COMPROMISED_USERNAME,
        "attacker_ip": ATTACKER_IP,
        "tier": state.tier,
    }
