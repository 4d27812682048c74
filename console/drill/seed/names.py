"""The scenario's well-known names: drill credentials, the attacker's traces, id ranges.

Tests and the demo refer to these; the seed modules build the scenario around them.
"""

from __future__ import annotations

# Well-known drill credentials: they only open this local simulation, never a real GitLab.
from console.drill.credentials import ADMIN_TOKEN as ADMIN_TOKEN
from console.drill.credentials import ADMIN_TOKEN_NAME as ADMIN_TOKEN_NAME
from console.drill.credentials import USER_TOKEN as USER_TOKEN
from console.drill.credentials import USER_TOKEN_NAME as USER_TOKEN_NAME

ATTACKER_IP = "203.0.113.66"
ATTACKER_HOOK_URL = "https://webhook-relay.example.net/c/7f3e9a1b"
ATTACKER_PYPI = "https://pypi-mirror.example.net/simple"
COMPROMISED_USERNAME = "mchen"
HELPER_USERNAME = "ops-helper"

SEEDED_MAX = 40  # ids 1 … SEEDED_MAX are the named cast; above are formula-generated staff
BULK_KEY_ID_BASE = 10_000_000
API_ID_BASE = 50_000_000  # ids for keys/emails created through the API

#: Days of audit history the seed writes (the benign loop starts this far back).
HISTORY_DAYS = 182
