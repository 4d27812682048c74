"""Deterministic values from (seed, kind, id): bulk-user hashes, token secrets, SSH key text.

The same seed gives the same instance, so a drill can be replayed and a test can name a value.
"""

from __future__ import annotations

import hashlib


def mix(value: int, seed: int) -> int:
    """A cheap 64-bit integer hash (splitmix64) — the formula behind bulk users."""
    z = (value * 0x9E3779B97F4A7C15 + seed * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def secret(seed: int, kind: str, ident: int, prefix: str, length: int = 20) -> str:
    digest = hashlib.blake2b(f"{seed}:{kind}:{ident}".encode(), digest_size=24).hexdigest()
    return prefix + digest[:length]


def ssh_key_text(seed: int, ident: int, comment: str) -> str:
    body = hashlib.sha512(f"{seed}:ssh:{ident}".encode()).hexdigest()[:43]
    return f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{body} {comment}"
