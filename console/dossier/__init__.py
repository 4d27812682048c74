"""Per-user dossier: everything the runbook asks a responder to look at for one account.

``fetch_dossier`` is synchronous and meant for a Textual thread worker. It never raises for a
server failure: each :class:`Section` carries its own :class:`Problem`, so a 403 on one endpoint
(not admin, Free tier, …) leaves the rest of the dossier intact. ``model`` holds the records and
the secret-dropping converters, ``reads`` the per-section reads, ``blast`` the blast radius.
"""

from __future__ import annotations

from console.dossier.fetch import fetch_dossier
from console.dossier.model import (
    AUTHOR_SCAN_LIMIT,
    BLAST_MAX_NAMESPACES,
    BLAST_MIN_ACCESS,
    EVENTS_LIMIT,
    Dossier,
    Section,
    free_tier_problem,
)

__all__ = [
    "AUTHOR_SCAN_LIMIT",
    "BLAST_MAX_NAMESPACES",
    "BLAST_MIN_ACCESS",
    "EVENTS_LIMIT",
    "Dossier",
    "Section",
    "fetch_dossier",
    "free_tier_problem",
]
