"""Risk scoring: local signals that order the review queue (never trigger an action).

``signals`` computes scores from data already held; ``sign_ins`` derives each user's earlier
sign-in IPs from audit events; ``scoring`` gathers the cached inputs and stores the scores.
"""

from __future__ import annotations

from console.risk.scoring import (
    AUDIT_EVENTS_CACHE_KEY,
    TOKENS_CACHE_KEY,
    RiskCancelled,
    compute_and_store_risk,
)
from console.risk.sign_ins import sign_in_history
from console.risk.signals import DORMANT_DAYS, SHARED_IP_MAX, WEIGHTS, compute_risk

__all__ = [
    "AUDIT_EVENTS_CACHE_KEY",
    "DORMANT_DAYS",
    "SHARED_IP_MAX",
    "TOKENS_CACHE_KEY",
    "WEIGHTS",
    "RiskCancelled",
    "compute_and_store_risk",
    "compute_risk",
    "sign_in_history",
]
