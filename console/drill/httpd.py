"""The drill's HTTP loop: a threading HTTP/1.1 server that hands each request to an endpoint.

Standard library only (``ThreadingHTTPServer``, keep-alive, every response framed by
``Content-Length``, headers and body in one segment, no Nagle delay). It never logs requests:
query strings may carry ``private_token``.
"""

from __future__ import annotations

import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from console.drill.web import Response


class Endpoint(Protocol):
    """What the loop serves (``DrillServer``): the request pipeline and the fault knob."""

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, ip: str
    ) -> Response: ...

    def injected_fault(self, method: str, path: str) -> int | str | None: ...


class DrillHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Clients connecting while a drill is still seeding wait in the listen queue; the default
    # of 5 would make the kernel drop the rest (and their SYN retries wait a second).
    request_queue_size = 128
    endpoint: Endpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the kill/resume tests) is not a server error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment (handle_one_request flushes after each
    # response), and no Nagle delay: keep-alive clients otherwise stall on delayed ACKs.
    wbufsize = 256 * 1024
    disable_nagle_algorithm = True
    server: DrillHTTPServer

    def version_string(self) -> str:
        return "nginx"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: request lines can contain ``private_token``."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        endpoint = self.server.endpoint
        injected = endpoint.injected_fault(method, urlsplit(self.path).path)
        if isinstance(injected, int):
            self._send(method, Response(injected, {"message": f"{injected} (injected)"}))
            return
        try:
            response = endpoint.handle(
                method, self.path, dict(self.headers.items()), body, self.client_address[0]
            )
        except Exception:  # a bug in a handler must not kill the connection silently
            response = Response(500, {"message": "500 Internal Server Error"})
        if injected == "drop":  # applied, but the reply is lost
            self.close_connection = True
            return
        self._send(method, response)

    def _send(self, method: str, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        # GitLab tags every response with its correlation id; the journal records it so an
        # action can be matched to the server's own logs.
        self.send_header("X-Request-Id", _request_id())
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header(
                "Content-Type",
                response.content_type
                + ("; charset=utf-8" if response.content_type == "text/plain" else ""),
            )
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD" and response.status != 204 and payload:
            self.wfile.write(payload)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _request_id() -> str:
    """A ULID-shaped id (48-bit millisecond time, 80 random bits), as GitLab's look."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))
