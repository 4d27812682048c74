"""The drill's well-known credentials, in a module of their own: the console starting the drill's
child process needs the admin token, and nothing of the seeded scenario (``seed.names``
re-exports them)."""

from __future__ import annotations

__all__ = ["ADMIN_TOKEN", "ADMIN_TOKEN_NAME", "USER_TOKEN", "USER_TOKEN_NAME"]

# Well-known drill credentials: they only open this local simulation, never a real GitLab.
ADMIN_TOKEN = "glpat-drill-admin-6xQ2pLk9Vt"  # noqa: S105
USER_TOKEN = "glpat-drill-user-Hm4Rz8Wq2n"  # noqa: S105
ADMIN_TOKEN_NAME = "incident-response (root)"  # noqa: S105
USER_TOKEN_NAME = "cli (jlee, non-admin)"  # noqa: S105
