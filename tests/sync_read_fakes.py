"""A scripted GitLab over real HTTP for the synchronous read-policy tests.

Every list path answers one page of plausible items; a ``next_link`` function decides the
``Link: rel="next"`` of each answer, and ``faults`` inject, per path, a status (with headers and
body) or a reset connection before the normal answer. Requests are recorded, so tests can count
retries and prove that a refused link was never followed.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

USER_ID = 5
GROUP_ID = 7
PROJECT_ID = 8
TOKEN = "glpat-syncreadpolicytest0123456"


def _recent(hours: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


OBJECTS: dict[str, Any] = {
    "/metadata": {"version": "17.8.1-ee", "revision": "abc", "enterprise": True},
    "/user": {"id": USER_ID, "username": "alice", "is_admin": True},
    "/personal_access_tokens/self": {"id": 1, "name": "ir", "scopes": ["api"]},
    f"/users/{USER_ID}": {
        "id": USER_ID,
        "username": "alice",
        "is_admin": True,
        "current_sign_in_ip": "192.0.2.1",
    },
    "/personal_access_tokens/1": {"id": 1, "last_used_ips": ["192.0.2.1"]},
}


def items_for(path: str) -> list[dict[str, Any]]:
    """One page of items shaped like what GitLab lists at ``path``."""
    if path.endswith("/audit_events"):
        return [
            {
                "id": 101,
                "created_at": _recent(),
                "event_name": "add_ssh_key",
                "author_id": USER_ID,
                "entity_type": "User",
                "entity_id": USER_ID,
            }
        ]
    if path.endswith("/memberships"):
        return [
            {
                "source_id": GROUP_ID,
                "source_type": "Namespace",
                "source_name": "g",
                "access_level": 50,
            }
        ]
    if path == "/personal_access_tokens":
        return [
            {
                "id": 1,
                "name": "t",
                "user_id": USER_ID,
                "scopes": ["api"],
                "created_at": _recent(),
                "last_used_ips": [],
            }
        ]
    if path == "/groups":
        return [{"id": GROUP_ID, "full_path": "g"}]
    if path == "/projects":
        return [{"id": PROJECT_ID, "path_with_namespace": "g/p"}]
    if path.endswith("/variables"):
        return [{"key": "K", "value": "never-kept-value", "environment_scope": "*"}]
    if path.endswith("/projects"):
        return [{"id": PROJECT_ID, "path_with_namespace": "g/p"}]
    if path.endswith("/subgroups"):
        return []
    return [
        {
            "id": 11,
            "name": "x",
            "title": "t",
            "url": "https://hooks.example/x",
            "created_at": _recent(),
            "scopes": [],
            "runner_type": "instance_type",
        }
    ]


@dataclass
class Fault:
    """One injected answer: a status with headers and body, or a reset connection."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"message": "injected"}'
    reset: bool = False


@dataclass
class Scripted:
    url: str
    port: int
    requests: list[str] = field(default_factory=list)  # raw request paths, in order
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    next_link: Callable[[str, int], str | None] = lambda path, page: None

    def hits(self, path: str) -> int:
        return sum(1 for raw in self.requests if urlsplit(raw).path == "/api/v4" + path)


_OBJECT_PATH = re.compile(r"^/users/\d+$|^/personal_access_tokens/(\d+|self)$")


@contextmanager
def scripted_gitlab() -> Iterator[Scripted]:
    """A local scripted GitLab; set ``faults`` and ``next_link`` on the yielded object."""
    lock = threading.Lock()
    box: list[Scripted] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state = box[0]
            with lock:
                state.requests.append(self.path)
                parts = urlsplit(self.path)
                path = parts.path.removeprefix("/api/v4")
                queue = state.faults.get(path) or []
                fault = queue.pop(0) if queue else None
            if fault is not None and fault.reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()
                return
            if fault is not None:
                self._send(fault.status, fault.body, fault.headers)
                return
            if not parts.path.startswith("/api/v4/"):
                self._send(404, b'{"message": "404 Not Found"}', {})
                return
            if path in OBJECTS or _OBJECT_PATH.match(path):
                body: Any = OBJECTS.get(path, {"id": 1})
                self._send(200, json.dumps(body).encode(), {})
                return
            page = 2 if "page=2" in parts.query else 1
            headers: dict[str, str] = {}
            if page == 1:
                nxt = state.next_link(path, page)
                if nxt:
                    headers["Link"] = f'<{nxt}>; rel="next"'
            items = items_for(path)
            body = items if page == 1 else [{**item, "id": 202} for item in items[:1]]
            self._send(200, json.dumps(body).encode(), headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (OSError, ValueError):
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = int(srv.server_address[1])
    box.append(Scripted(url=f"http://127.0.0.1:{port}", port=port))
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield box[0]
    finally:
        srv.shutdown()
        srv.server_close()
