"""Connection settings and the ONE place that builds HTTP clients.

Both clients (python-gitlab for single calls and actions, httpx for bulk paging) get the same
TLS verification / CA bundle, proxy, timeout and User-Agent from :class:`ConnectionConfig`, and
both ignore the environment (``trust_env=False``: no proxy variables, ``.netrc`` or
``REQUESTS_CA_BUNDLE`` can silently change where the token goes). Neither follows redirects:
a redirect would carry the ``PRIVATE-TOKEN`` header to wherever the server points.

Every client also feeds the :class:`~console.clock.ServerClock` its config owns with the
``Date`` of each reply, so "now" can be GitLab's time rather than this host's (:func:`clock_of`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import ipaddress
import math
import os
import ssl
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MethodType
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import urlsplit, urlunsplit

import httpx

from console import USER_AGENT, timeutil
from console.api.pages import remember_error_headers
from console.clock import ServerClock
from console.errors import ConfigError
from console.sanitize import safe
from console.secret import Secret

if TYPE_CHECKING:  # loaded with the first python-gitlab client (``build_gitlab``), not before
    import gitlab
    import requests

__all__ = [
    "ConfigError",
    "ConnectionConfig",
    "build_gitlab",
    "build_httpx",
    "build_httpx_sync",
    "clock_of",
    "is_loopback_host",
    "normalize_url",
    "server_now",
    "warm_up",
]

_API_SUFFIX = "/api/v4"


def _shown(value: object) -> str:
    return safe(value, kind="line", max_cells=120)


def normalize_url(url: str) -> str:
    """Trim whitespace, trailing slashes and a trailing ``/api/v4``; lowercase scheme and host.

    ``https://GitLab.example.com/api/v4/`` → ``https://gitlab.example.com``. Paths (GitLab under a
    relative URL root) are kept. Does not validate; see :meth:`ConnectionConfig.validate`.
    """
    url = url.strip()
    while url.endswith("/"):
        url = url[:-1]
    if url.lower().endswith(_API_SUFFIX):
        url = url[: -len(_API_SUFFIX)]
    while url.endswith("/"):
        url = url[:-1]
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" not in netloc:
        netloc = netloc.lower()
        default_port = {"https": ":443", "http": ":80"}.get(parts.scheme.lower())
        if default_port and netloc.endswith(default_port):
            netloc = netloc[: -len(default_port)]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ConnectionConfig:
    """Where and how to reach one GitLab instance. Never holds the token.

    ``clock`` is what its replies taught about the instance's time: every client built from this
    config feeds it, so the capability check, the loaders and the panes share one estimate
    without anyone passing it along. It takes no part in equality.
    """

    url: str
    ca_bundle: str | None = None
    verify_tls: bool = True
    proxy: str | None = None
    timeout: float = 30.0
    allow_plain_http: bool = False
    user_agent: str = field(default=USER_AGENT)
    clock: ServerClock = field(default_factory=ServerClock, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normalize_url(self.url))
        if self.ca_bundle is not None:
            bundle = self.ca_bundle.strip()
            object.__setattr__(
                self, "ca_bundle", str(Path(bundle).expanduser()) if bundle else None
            )
        if self.proxy is not None:
            object.__setattr__(self, "proxy", self.proxy.strip() or None)

    @property
    def api_url(self) -> str:
        return self.url + _API_SUFFIX

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def ssl_verify(self) -> bool | str:
        """What requests/python-gitlab take: a CA bundle path, or True/False."""
        return self.ca_bundle or self.verify_tls

    def validate(self) -> None:
        """Raise :class:`ConfigError` (one clear sentence) if the settings cannot be used."""
        if not self.url:
            raise ConfigError("The GitLab URL is empty; give one like https://gitlab.example.com.")
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"The GitLab URL {_shown(self.url)} is malformed ({exc}).") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"The GitLab URL must start with https:// (got {_shown(self.url)}).")
        if not parts.hostname:
            raise ConfigError(f"The GitLab URL {_shown(self.url)} has no host name.")
        if parts.username is not None or parts.password is not None:
            raise ConfigError(
                "The GitLab URL must not contain a user name or password; the token is asked "
                "for separately."
            )
        if parts.query or parts.fragment:
            raise ConfigError(
                f"The GitLab URL must not contain ?query or #fragment (got {_shown(self.url)})."
            )
        if port == 0:
            raise ConfigError(f"The GitLab URL {_shown(self.url)} has an invalid port.")
        if scheme == "http" and not self.allow_plain_http and not is_loopback_host(parts.hostname):
            raise ConfigError(
                f"Refusing plain http:// to {_shown(parts.hostname)}: the token would cross the "
                "network unencrypted; use https:// (or --allow-plain-http for a lab instance)."
            )
        if not (isinstance(self.timeout, int | float) and math.isfinite(self.timeout)):
            raise ConfigError("The timeout must be a number of seconds.")
        if not 0 < self.timeout <= 600:
            raise ConfigError(
                f"The timeout must be between 0 and 600 seconds (got {self.timeout})."
            )
        if self.ca_bundle is not None:
            path = Path(self.ca_bundle)
            if not path.exists():
                raise ConfigError(f"The CA bundle {_shown(self.ca_bundle)} does not exist.")
            if path.is_dir():
                if not os.access(path, os.R_OK | os.X_OK):
                    raise ConfigError(f"The CA directory {_shown(self.ca_bundle)} is not readable.")
            else:
                try:
                    with path.open("rb") as fh:
                        head = fh.read(4096)
                except OSError:
                    raise ConfigError(
                        f"The CA bundle {_shown(self.ca_bundle)} is not readable."
                    ) from None
                if b"-----BEGIN CERTIFICATE-----" not in head and not _loads_as_der(path):
                    raise ConfigError(
                        f"The CA bundle {_shown(self.ca_bundle)} does not contain a PEM "
                        "certificate."
                    )
        if self.proxy is not None:
            try:
                pparts = urlsplit(self.proxy)
            except ValueError:
                raise ConfigError(f"The proxy URL {_shown(self.proxy)} is malformed.") from None
            if pparts.scheme.lower() not in ("http", "https") or not pparts.hostname:
                raise ConfigError(
                    f"The proxy must be an http:// or https:// URL (got {_shown(self.proxy)})."
                )
        if not self.user_agent or any(c in self.user_agent for c in "\r\n"):
            raise ConfigError("The User-Agent must be a single non-empty line.")

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx takes: an ``SSLContext`` (the system's CAs, or a custom CA), or False.

        One context per CA file (and per change of it) for the whole process: loading the CA
        store costs tens of milliseconds, and the audit load opens a client per stream. A
        plain-http instance reached without a proxy never speaks TLS (no redirects, pinned
        links): its clients get a context that trusts no CA at all instead of loading one.
        """
        if not self.proxy and urlsplit(self.url).scheme.lower() == "http":
            return _no_tls_context()
        if self.ca_bundle:
            try:
                st = os.stat(self.ca_bundle)
            except OSError:
                st = None
            stamp = (st.st_mtime_ns, st.st_size) if st is not None else (0, 0)
            return _ca_context(self.ca_bundle, *stamp)
        return _default_context() if self.verify_tls else False


@functools.lru_cache(maxsize=1)
def _no_tls_context() -> ssl.SSLContext:
    """Verifies certificates and host names like any other, but trusts no CA: should a client
    for a plain-http instance ever attempt TLS, it fails closed."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@functools.lru_cache(maxsize=1)
def _default_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=8)
def _ca_context(path: str, _mtime_ns: int, _size: int) -> ssl.SSLContext:
    if Path(path).is_dir():
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


#: What an async httpx client imports only on its first request (its asyncio backend).
_FIRST_REQUEST_MODULES = ("anyio._backends._asyncio", "httpcore._backends.anyio")


def warm_up(cfg: ConnectionConfig) -> None:
    """Prepare, ahead of the first bulk client, what it would otherwise do on the way to its
    first page: the process's SSL context (OpenSSL parses the CA store without the GIL) and
    the modules httpx imports on a first async request. Run it in a thread while something
    waits on the network (the capability check); failures are left for the real client."""
    with contextlib.suppress(Exception):
        cfg.ssl_context()
    for name in _FIRST_REQUEST_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _loads_as_der(path: Path) -> bool:
    try:
        ctx = ssl.create_default_context(cafile=None)
        ctx.load_verify_locations(cadata=path.read_bytes())
    except (ssl.SSLError, OSError, ValueError):
        return False
    return True


_SENT_AT = "console.sent_at"  # httpx request extension: when the request left (local clock)


class _ClockHooks:
    """Client hooks that show a :class:`ServerClock` the ``Date`` of every reply.

    The send and receive times bracket the moment the server stamped its ``Date``. httpx:
    a request hook notes the send time in the request's extensions, a response hook observes
    (``*_async`` for the async client, which awaits its hooks). requests: one response hook;
    ``response.elapsed`` runs from sending to the headers' arrival.
    """

    def __init__(self, clock: ServerClock) -> None:
        self.clock = clock

    def on_request(self, request: httpx.Request) -> None:
        request.extensions[_SENT_AT] = self.clock.local_time()

    def on_response(self, response: httpx.Response) -> None:
        received = self.clock.local_time()
        sent = response.request.extensions.get(_SENT_AT, received)
        self.clock.observe(response.headers, sent_at=float(sent), received_at=received)

    async def on_request_async(self, request: httpx.Request) -> None:
        self.on_request(request)

    async def on_response_async(self, response: httpx.Response) -> None:
        self.on_response(response)

    def on_requests_response(
        self, response: requests.Response, *args: object, **kwargs: object
    ) -> None:
        received = self.clock.local_time()
        sent = received - response.elapsed.total_seconds()
        self.clock.observe(response.headers, sent_at=sent, received_at=received)


def clock_of(client: object) -> ServerClock | None:
    """The clock a client built here feeds (python-gitlab, or httpx sync/async); else None."""
    hooks: list[object]
    if isinstance(client, httpx.Client | httpx.AsyncClient):
        hooks = list(client.event_hooks.get("response", []))
    elif "gitlab" in sys.modules and _is_gitlab(client):  # none exists before it is loaded
        hooks = list(client.session.hooks.get("response", []))
    else:
        return None
    for hook in hooks:  # the hooks are bound methods of one _ClockHooks
        if isinstance(hook, MethodType) and isinstance(hook.__self__, _ClockHooks):
            return hook.__self__.clock
    return None


def server_now(client: object) -> datetime:
    """The current time on GitLab as ``client``'s clock has learned it (:func:`clock_of`).

    This host's clock until a reply with a ``Date`` arrived, or for a client not built here.
    """
    clock = clock_of(client)
    return clock.now() if clock is not None else timeutil.now()


def _is_gitlab(client: object) -> TypeGuard[gitlab.Gitlab]:
    import gitlab

    return isinstance(client, gitlab.Gitlab)


def build_gitlab(cfg: ConnectionConfig, token: Secret) -> gitlab.Gitlab:
    """A python-gitlab client: timeout always set, no rate-limit sleeps, no transient retries,
    no redirects; the headers of a refused answer stay readable for ``Retry-After``.

    python-gitlab and requests are imported here, on the first call: the start-up reads
    through httpx and builds this client only after the first rows."""
    import requests

    from console.api.policy_gitlab import PolicyGitlab

    cfg.validate()
    session = requests.Session()
    session.trust_env = False  # no proxy env vars, .netrc or REQUESTS_CA_BUNDLE
    session.max_redirects = 0  # a redirect raises instead of carrying PRIVATE-TOKEN elsewhere
    session.hooks["response"].append(remember_error_headers)
    session.hooks["response"].append(_ClockHooks(cfg.clock).on_requests_response)
    if cfg.proxy:
        session.proxies = {"http": cfg.proxy, "https": cfg.proxy}
    return PolicyGitlab(
        cfg.url,
        private_token=token.reveal(),
        timeout=cfg.timeout,
        ssl_verify=cfg.ssl_verify,
        keep_base_url=True,
        retry_transient_errors=False,
        per_page=100,
        user_agent=cfg.user_agent,
        session=session,
    )


def _httpx_kwargs(
    cfg: ConnectionConfig, token: Secret, max_connections: int, *, asynchronous: bool
) -> dict[str, object]:
    cfg.validate()
    hooks = _ClockHooks(cfg.clock)
    if asynchronous:
        event_hooks: dict[str, list[Any]] = {
            "request": [hooks.on_request_async],
            "response": [hooks.on_response_async],
        }
    else:
        event_hooks = {"request": [hooks.on_request], "response": [hooks.on_response]}
    return {
        "event_hooks": event_hooks,
        "base_url": cfg.api_url,
        "headers": {"PRIVATE-TOKEN": token.reveal(), "User-Agent": cfg.user_agent},
        "verify": cfg.ssl_context(),
        "proxy": cfg.proxy,
        "timeout": httpx.Timeout(cfg.timeout, connect=min(cfg.timeout, 15.0)),
        "follow_redirects": False,
        "trust_env": False,
        "limits": httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    }


def build_httpx(
    cfg: ConnectionConfig, token: Secret, *, max_connections: int = 8
) -> httpx.AsyncClient:
    """An async httpx client rooted at ``/api/v4`` with the same TLS/proxy/timeout policy."""
    kwargs = _httpx_kwargs(cfg, token, max_connections, asynchronous=True)
    return httpx.AsyncClient(**kwargs)  # type: ignore[arg-type]


def build_httpx_sync(
    cfg: ConnectionConfig, token: Secret, *, max_connections: int = 8
) -> httpx.Client:
    """The synchronous twin of :func:`build_httpx` (for thread workers and the capability check)."""
    kwargs = _httpx_kwargs(cfg, token, max_connections, asynchronous=False)
    return httpx.Client(**kwargs)  # type: ignore[arg-type]
