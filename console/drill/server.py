"""The drill server: a simulated GitLab REST API v4 on 127.0.0.1, its knobs and its pipeline.

``DrillServer`` owns the seeded state, the options (latency, errors, throttle, faults), the
request log and the lifecycle; ``httpd`` is the HTTP loop that feeds it, ``auth`` the token
checks. Request pipeline, in GitLab's order:

1. latency knob (sleep in the handler thread);
2. Rack::Attack-style throttle (``rate_limit_per_minute``): 429 ``Retry later`` + headers;
3. injected failures (``error_rate``, deterministic RNG from ``seed``): 500;
4. routing (unknown path → 404 ``{"error": "404 Not Found"}``, wrong verb → 405);
5. authentication (PRIVATE-TOKEN, Bearer, ``private_token``) and token scope;
6. licence tier (Premium-only endpoints are 404 on Free);
7. the route handler, under the state lock.

The server never logs requests: query strings may carry ``private_token``.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import deque
from email.utils import formatdate
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from console.drill import (
    routes_admin,
    routes_audit,
    routes_deploy_keys,
    routes_deploy_tokens,
    routes_hooks,
    routes_instance,
    routes_namespaces,
    routes_runners,
    routes_tokens,
    routes_user_keys,
    routes_user_moderation,
    routes_user_tokens,
    routes_users,
    routes_variables,
    seed,
)
from console.drill.auth import authenticate, extract_token, touch_token
from console.drill.httpd import DrillHTTPServer, RequestHandler
from console.drill.options import DrillOptions
from console.drill.state import DrillState
from console.drill.web import ApiError, Ctx, Response, Route

_TIER_RANK = {"free": 0, "premium": 1, "ultimate": 2}

__all__ = ["ROUTES", "DrillOptions", "DrillServer"]  # DrillOptions: console.drill.options

ROUTES: list[Route] = [
    *routes_users.routes.routes,
    *routes_user_moderation.routes.routes,
    *routes_user_keys.routes.routes,
    *routes_user_tokens.routes.routes,
    *routes_tokens.routes.routes,
    *routes_runners.routes.routes,
    *routes_variables.routes.routes,
    *routes_hooks.routes.routes,
    *routes_deploy_tokens.routes.routes,
    *routes_deploy_keys.routes.routes,
    *routes_namespaces.routes.routes,
    *routes_instance.routes.routes,
    *routes_audit.routes.routes,
    *routes_admin.routes.routes,
]

REQUEST_LOG_SIZE = 100_000


class _Throttle:
    """Fixed one-minute windows per key, like Rack::Attack's period throttles."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.window = 0
        self.counts: dict[str, int] = {}

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one request; returns (allowed, observed, window_end_epoch)."""
        now = int(time.time())
        window = now - now % 60
        with self.lock:
            if window != self.window:
                self.window = window
                self.counts = {}
            observed = self.counts.get(key, 0) + 1
            self.counts[key] = observed
        return observed <= self.limit, observed, window + 60


class DrillServer:
    """A seeded, simulated GitLab instance served over HTTP on a loopback port."""

    ADMIN_TOKEN: ClassVar[str] = seed.ADMIN_TOKEN
    USER_TOKEN: ClassVar[str] = seed.USER_TOKEN
    ADMIN_TOKEN_NAME: ClassVar[str] = seed.ADMIN_TOKEN_NAME
    USER_TOKEN_NAME: ClassVar[str] = seed.USER_TOKEN_NAME

    def __init__(self, options: DrillOptions | None = None, *, seed_later: bool = False) -> None:
        """``seed_later``: build the seeded state in the serving thread, after :meth:`start`
        has bound the port and :meth:`release_seeding` was called (the URL is known at once;
        requests wait in the listen queue until the state is built). Reading :attr:`state`
        waits for it either way."""
        self.options = options or DrillOptions()
        if self.options.tier not in _TIER_RANK:
            raise ValueError(f"unknown tier {self.options.tier!r}")
        if not 0.0 <= self.options.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        self.url = ""
        self._state: DrillState | None = None
        self._seeded = threading.Event()
        self._may_seed = threading.Event()
        if not seed_later:
            self._may_seed.set()
            self._seed()
        self._httpd: DrillHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rng = random.Random(self.options.seed)
        self._rng_lock = threading.Lock()
        limit = self.options.rate_limit_per_minute
        self._throttle = _Throttle(limit) if limit else None
        self._log_lock = threading.Lock()
        # (method, path, status) of recent requests, never the query string (it may carry a
        # token); bounded so a long demo or benchmark cannot grow it without limit.
        self.request_log: deque[tuple[str, str, int]] = deque(maxlen=REQUEST_LOG_SIZE)

    def _seed(self) -> None:
        if self._state is not None:
            return
        try:
            state = seed.build_state(
                users=self.options.users, seed=self.options.seed, tier=self.options.tier
            )
            state.url = self.url
            self._state = state
        finally:
            self._seeded.set()  # a failure is raised by `state`, never a wait forever

    def release_seeding(self) -> None:
        """Let a ``seed_later`` drill build its state now (the console calls it once its first
        screen is up: the simulated instance must not take the CPU the real one would not)."""
        self._may_seed.set()

    @property
    def state(self) -> DrillState:
        """The simulated instance (waits until it is seeded)."""
        self._may_seed.set()  # whoever needs the state wants it built
        self._seeded.wait()
        if self._state is None:
            raise RuntimeError("the drill could not be seeded")
        return self._state

    def requests_to(self, method: str, path: str) -> int:
        """How many ``method`` requests reached ``path`` (``/api/v4`` stripped): a test proves
        with it that each mutation was sent exactly once."""
        with self._log_lock:
            return sum(1 for m, p, _ in self.request_log if m == method and p == path)

    def writes(self) -> list[tuple[str, str, int]]:
        """Every non-GET request so far, in order."""
        with self._log_lock:
            return [entry for entry in self.request_log if entry[0] not in ("GET", "HEAD")]

    def injected_fault(self, method: str, path: str) -> int | str | None:
        """``options.fault``'s verdict on a request (None: serve it normally)."""
        fault = self.options.fault
        return fault(method, path) if fault is not None else None

    def __repr__(self) -> str:
        return f"DrillServer(url={self.url!r}, users={len(self.state.users)})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        if self._httpd is not None:
            return self.url
        httpd = DrillHTTPServer((self.options.host, self.options.port), RequestHandler)
        httpd.endpoint = self
        host = str(self.options.host)
        port = int(httpd.server_address[1])
        self.url = f"http://{host}:{port}"
        if self._state is not None:
            self._state.url = self.url
        self._httpd = httpd
        self._thread = threading.Thread(
            target=self._serve, args=(httpd,), name="drill-http", daemon=True
        )
        self._thread.start()
        return self.url

    def serve_on(self, listener: socket.socket) -> None:
        """Serve on an already bound, listening socket until the process ends (the drill's
        child process, ``console.drill.child``)."""
        host, port = listener.getsockname()[:2]
        httpd = DrillHTTPServer((host, port), RequestHandler, bind_and_activate=False)
        httpd.socket.close()
        httpd.socket = listener
        httpd.server_name, httpd.server_port = str(host), int(port)
        httpd.endpoint = self
        self.url = f"http://{host}:{port}"
        self.state.url = self.url
        self._httpd = httpd
        httpd.serve_forever(poll_interval=0.2)

    def _serve(self, httpd: DrillHTTPServer) -> None:
        try:
            self._may_seed.wait()
            self._seed()  # when seeded later: the port is bound, requests queue meanwhile
        finally:
            httpd.serve_forever(poll_interval=0.2)  # stop() waits for it, even after a failure

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._may_seed.set()
        httpd.shutdown()  # also when still seeding: serve_forever then returns at once
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DrillServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ pipeline

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, ip: str
    ) -> Response:
        """Run one request through the pipeline (usable without the socket, for tests)."""
        response = self._handle(method, raw_path, headers, body, ip)
        path = urlsplit(raw_path).path.removeprefix("/api/v4").rstrip("/") or "/"
        with self._log_lock:
            self.request_log.append((method, path, response.status))
        return response

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, ip: str
    ) -> Response:
        opts = self.options
        if opts.latency_ms > 0:
            time.sleep(opts.latency_ms / 1000.0)
        lower = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(raw_path)
        query = _parse_query(parts.query)
        token_value = extract_token(lower, query)
        if self._throttle is not None:
            limited = self._throttled(token_value, ip)
            if limited is not None:
                return limited
        if opts.error_rate > 0:
            with self._rng_lock:
                fail = self._rng.random() < opts.error_rate
            if fail:
                return Response(500, {"message": "500 Internal Server Error"})
        path = parts.path
        if not path.startswith("/api/v4/"):
            return Response(404, {"error": "404 Not Found"})
        path = path[len("/api/v4") :].rstrip("/") or "/"
        method_for_match = "GET" if method == "HEAD" else method
        route, match = _match(method_for_match, path)
        if route is None:
            if match is not None:
                return Response(405, {"error": "405 Not Allowed"})
            return Response(404, {"error": "404 Not Found"})
        try:
            params = dict(query)
            params.update(_parse_body(body, lower.get("content-type", "")))
            caller, token = authenticate(self.state, token_value, method_for_match, path)
            if _TIER_RANK[opts.tier] < _TIER_RANK[route.tier]:
                raise ApiError(404, {"message": "404 Not Found"})
            assert match is not None
            ctx = Ctx(
                state=self.state,
                method=method_for_match,
                path=path,
                params=params,
                match={k: unquote(v) for k, v in match.items() if v is not None},
                base_url=self.url,
                caller=caller,
                token=token,
                ip=ip,
            )
            with self.state.lock:
                touch_token(self.state, token, ip)
                try:
                    return route.handler(ctx)
                finally:
                    if method_for_match != "GET":
                        # Any write may change what a list shows (even one that then failed
                        # half-way): drop the cached filtered lists.
                        self.state.touch()
        except ApiError as err:
            return Response(err.status, err.body, headers=dict(err.headers))

    def _throttled(self, token_value: str | None, ip: str) -> Response | None:
        assert self._throttle is not None
        key = f"token:{hash(token_value)}" if token_value else f"ip:{ip}"
        allowed, observed, reset = self._throttle.hit(key)
        if allowed:
            return None
        limit = self._throttle.limit
        retry_after = max(1, reset - int(time.time()))
        name = "throttle_authenticated_api" if token_value else "throttle_unauthenticated_api"
        return Response(
            429,
            raw=b"Retry later\n",
            content_type="text/plain",
            headers={
                "RateLimit-Name": name,
                "RateLimit-Limit": str(limit),
                "RateLimit-Observed": str(observed),
                "RateLimit-Remaining": str(max(0, limit - observed)),
                "RateLimit-Reset": str(reset),
                "RateLimit-ResetTime": formatdate(reset, usegmt=True),
                "Retry-After": str(retry_after),
            },
        )


def _match(method: str, path: str) -> tuple[Route | None, dict[str, str] | None]:
    """(route, groups) for a path; (None, groups) when only the verb differs."""
    path_matched: dict[str, str] | None = None
    for route in ROUTES:
        m = route.pattern.match(path)
        if m is None:
            continue
        if route.method == method:
            return route, m.groupdict()
        path_matched = m.groupdict()
    return None, path_matched


def _parse_query(query: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.endswith("[]"):
            key = key[:-2]
            existing = params.get(key)
            if isinstance(existing, list):
                existing.append(value)
            else:
                params[key] = [value]
        elif key in params:
            existing = params[key]
            params[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            params[key] = value
    return params


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ApiError(
                400,
                {
                    "error": "The provided content-type 'application/json' "
                    "does not match the request body"
                },
            ) from exc
        return data if isinstance(data, dict) else {}
    if "x-www-form-urlencoded" in content_type or not content_type:
        return _parse_query(body.decode("utf-8", "replace"))
    return {}
