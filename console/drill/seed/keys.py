"""The cast's SSH and GPG keys and extra emails (the attacker's ``build-07`` key among them)."""

from __future__ import annotations

from console.drill.model import Email, GpgKey, SshKey
from console.drill.seed.clock import Clock
from console.drill.seed.formula import secret, ssh_key_text
from console.drill.seed.names import SEEDED_MAX
from console.drill.state import DrillState


def seed_keys(state: DrillState, clock: Clock, seed: int) -> None:
    plan = {
        1: ("admin-desktop",),
        4: ("laptop", "yubikey"),
        5: ("laptop",),
        6: ("release-box",),
        7: ("macbook",),
        8: ("laptop",),
        10: ("laptop",),
        15: ("old laptop",),
        31: ("laptop",),
        32: ("laptop",),
        35: ("desktop", "laptop"),
    }
    for uid in range(1, SEEDED_MAX + 1):
        u = state.users[uid]
        keys = []
        for n, title in enumerate(plan.get(uid, ())):
            kid = state.next_id("ssh_key")
            keys.append(
                SshKey(
                    kid,
                    uid,
                    title,
                    ssh_key_text(seed, kid, f"{u.username}@corp"),
                    clock.at(400 - n * 100 - uid),
                    None,
                    "auth_and_signing",
                    clock.at(1 + uid % 5),
                )
            )
        state.ssh_keys[uid] = keys
        state.gpg_keys[uid] = []
        state.emails[uid] = []
    attacker_key = state.next_id("ssh_key")
    state.ssh_keys[7].append(
        SshKey(
            attacker_key,
            7,
            "build-07",
            ssh_key_text(seed, attacker_key, "root@build-07"),
            clock.at(2.93),
            None,
            "auth_and_signing",
            clock.at(0.6),
        )
    )
    gid = state.next_id("gpg_key")
    state.gpg_keys[4].append(
        GpgKey(
            gid,
            4,
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
            "mDMEZdrill"
            + secret(seed, "gpg", gid, "", 40)
            + "\n-----END PGP PUBLIC KEY BLOCK-----",
            clock.at(800),
        )
    )
    state.emails[7].append(
        Email(state.next_id("email"), 7, "michael.chen@corp.example.com", clock.at(800))
    )
    state.emails[9].append(Email(state.next_id("email"), 9, "opshelper2@mailbox.example.org", None))
    for uid in range(SEEDED_MAX + 1):
        state._detailed.add(uid)
