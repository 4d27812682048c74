"""What every pane needs to know about the running session, handed down from the app.

The app resolves the connection, the capability check and the incident once at startup; panes
get this object instead of reaching up into the app. It stays headless (no Textual) so actions
and tests can build one without a UI.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gitlab

    from console.capabilities import Coverage
    from console.clock import ServerClock
    from console.session import Connection
    from console.store import Incident, Store

__all__ = ["AppContext"]


@dataclass(eq=False)
class AppContext:
    """The session a pane works in: local store, current incident, server and what we may do.

    ``incident`` is replaced (not mutated) when the responder edits it, so panes that cached
    fields should read it again when told the incident changed.
    """

    store: Store
    incident: Incident
    connection: Connection
    coverage: Coverage | None
    read_only: bool = False
    dry_run: bool = False
    #: The incident was created by this start: its users cache is known to be empty, so the
    #: users load starts with the pane instead of after a first query has said so.
    new_incident: bool = False
    _gitlab: gitlab.Gitlab | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def incident_id(self) -> int:
        return int(self.incident.id)

    @property
    def instance_url(self) -> str:
        return str(self.connection.config.url)

    @property
    def is_drill(self) -> bool:
        return bool(self.connection.is_drill)

    @property
    def clock(self) -> ServerClock:
        """GitLab's clock as this session's replies taught it (every client shares the config's).

        "Now" for the incident window, token expiry and "created in the window" is
        ``ctx.clock.now()``, passed as ``now=`` to the headless core.
        """
        return self.connection.config.clock

    @property
    def can_write(self) -> bool:
        """Whether response actions may change the server (dry-run still plans them)."""
        return not self.read_only

    def gitlab(self) -> gitlab.Gitlab:
        """A shared python-gitlab client, built on first use (call from a thread worker).

        Building it is cheap but not free (session, adapters); one per session is enough, and
        the lock keeps two workers that start together from building two.
        """
        with self._lock:
            if self._gitlab is None:
                from console.config import build_gitlab

                self._gitlab = build_gitlab(self.connection.config, self.connection.token)
            return self._gitlab

    def replace_connection(self, connection: Connection) -> None:
        """Use ``connection`` from now on (the console's own token was rotated): the next
        :meth:`gitlab` call builds a client with its token."""
        with self._lock:
            self.connection = connection
            self._gitlab = None
