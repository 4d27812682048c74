"""Request/response plumbing for the drill: errors, parameter coercion, GitLab pagination.

Everything here mirrors Grape/GitLab conventions: parameter errors are ``{"error": ...}`` with
400, helper errors are ``{"message": ...}``, offset pagination emits the ``x-*`` headers and a
``Link`` header, keyset pagination emits only ``Link: <…>; rel="next"``.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

if TYPE_CHECKING:
    from console.drill.model import Token, User
    from console.drill.state import DrillState

T = TypeVar("T")

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
COUNT_LIMIT = 10_000  # above this GitLab stops counting: no x-total / x-total-pages / rel=last
OFFSET_LIMIT = 50_000  # default `offset_pagination_limit` for keyset-capable types

KEYSET_UNAVAILABLE = "Keyset pagination is not yet available for this type of request"


class ApiError(Exception):
    """An HTTP error with a GitLab-shaped JSON body."""

    def __init__(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def message_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"message": message})


def not_found(what: str = "") -> ApiError:
    """GitLab's ``not_found!('User')`` → ``{"message": "404 User Not Found"}``."""
    return message_error(404, f"404 {what} Not Found" if what else "404 Not Found")


def forbidden(reason: str = "") -> ApiError:
    return message_error(403, f"403 Forbidden - {reason}" if reason else "403 Forbidden")


def bad_request(reason: str) -> ApiError:
    return message_error(400, f"400 Bad request - {reason}")


def param_error(text: str) -> ApiError:
    """Grape parameter validation failure: ``{"error": "<param> is invalid"}``."""
    return ApiError(400, {"error": text})


def missing_param(name: str) -> ApiError:
    return message_error(400, f'400 Bad request - "{name}" not given')


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # pre-encoded body (skips json.dumps)
    content_type: str = "application/json"
    empty: bool = False  # 204-style: no body at all

    def encode(self) -> bytes:
        if self.empty:
            return b""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- time helpers


def parse_datetime(value: str, name: str) -> datetime:
    """Parse an ISO 8601 date or datetime parameter; Grape answers ``<name> is invalid``."""
    text = value.strip()
    if not text:
        raise param_error(f"{name} is invalid")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        if "T" in text and " " in text:
            text = text.replace(" ", "+")  # an unescaped "+" in a query string decodes to " "
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise param_error(f"{name} is invalid") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise param_error(f"{name} is invalid") from exc


# --------------------------------------------------------------------------- parameters

_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


@dataclass
class Ctx:
    """One request as seen by a route handler."""

    state: DrillState
    method: str
    path: str  # path without the /api/v4 prefix
    params: dict[str, Any]
    match: dict[str, str]
    base_url: str  # e.g. http://127.0.0.1:8080
    caller: User
    token: Token
    ip: str = "127.0.0.1"

    @property
    def is_admin(self) -> bool:
        return self.caller.is_admin

    def require_admin(self) -> None:
        if not self.caller.is_admin:
            raise forbidden()

    def has(self, name: str) -> bool:
        value = self.params.get(name)
        return value is not None and value != ""

    def str_param(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, list):
            raise param_error(f"{name} is invalid")
        return str(value)

    def bool_param(self, name: str, default: bool | None = None) -> bool | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise param_error(f"{name} is invalid")

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise param_error(f"{name} is invalid")
        try:
            return int(str(value).strip())
        except ValueError as exc:
            raise param_error(f"{name} is invalid") from exc

    def datetime_param(self, name: str) -> datetime | None:
        value = self.str_param(name)
        if value is None or value == "":
            return None
        return parse_datetime(value, name)

    def list_param(self, name: str) -> list[str] | None:
        value = self.params.get(name)
        if value is None:
            value = self.params.get(name + "[]")
        if value is None:
            return None
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part for part in str(value).split(",") if part]

    def choice(self, name: str, allowed: Sequence[str], default: str | None = None) -> str | None:
        value = self.str_param(name)
        if value is None or value == "":
            return default
        if value not in allowed:
            raise ApiError(400, {"error": f"{name} does not have a valid value"})
        return value

    def id_param(self, name: str = "id") -> int:
        raw = self.match.get(name, "")
        try:
            return int(raw)
        except ValueError as exc:
            raise not_found() from exc

    def url(self, extra: dict[str, Any]) -> str:
        """The request URL with ``extra`` replacing/adding query parameters."""
        query: list[tuple[str, str]] = []
        merged = {k: v for k, v in self.params.items() if k not in extra}
        merged.update({k: v for k, v in extra.items() if v is not None})
        for key, value in merged.items():
            if key in ("private_token",):
                continue  # never echo a credential into a Link header
            if isinstance(value, list):
                query.extend((key, str(v)) for v in value)
            elif isinstance(value, bool):
                query.append((key, "true" if value else "false"))
            else:
                query.append((key, str(value)))
        query.sort()
        return f"{self.base_url}/api/v4{self.path}?{urlencode(query)}"


# --------------------------------------------------------------------------- pagination


def page_params(ctx: Ctx) -> tuple[int, int, int]:
    """(page, per_page as requested, per_page effective) with GitLab's clamping."""
    page = ctx.int_param("page", 1) or 1
    per_page_raw = ctx.int_param("per_page", DEFAULT_PER_PAGE)
    if per_page_raw is None or per_page_raw < 1:
        per_page_raw = DEFAULT_PER_PAGE
    page = max(page, 1)
    return page, per_page_raw, min(per_page_raw, MAX_PER_PAGE)


def paginate_offset(
    ctx: Ctx,
    items: Sequence[T],
    *,
    offset_limit_type: str | None = None,
) -> tuple[list[T], dict[str, str]]:
    """Offset pagination over an already filtered and ordered sequence.

    ``offset_limit_type`` names the model (e.g. ``"User"``) for keyset-capable types: their
    offset is capped at 50,000 (``page * per_page > 50000`` → 405, exactly GitLab's test).
    """
    page, per_page_raw, per_page = page_params(ctx)
    if offset_limit_type is not None and page * per_page_raw > OFFSET_LIMIT:
        raise ApiError(
            405,
            {
                "error": f"Offset pagination has a maximum allowed offset of {OFFSET_LIMIT} "
                f"for requests that return objects of type {offset_limit_type}. "
                "Remaining records can be retrieved using keyset pagination."
            },
        )
    total = len(items)
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    has_next = start + per_page < total
    headers: dict[str, str] = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if has_next else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    counted = total <= COUNT_LIMIT
    total_pages = max(1, math.ceil(total / per_page))
    if counted:
        headers["X-Total"] = str(total)
        headers["X-Total-Pages"] = str(total_pages)
    links: list[str] = []
    if page > 1:
        links.append(f'<{ctx.url({"page": page - 1, "per_page": per_page})}>; rel="prev"')
    if has_next:
        links.append(f'<{ctx.url({"page": page + 1, "per_page": per_page})}>; rel="next"')
    links.append(f'<{ctx.url({"page": 1, "per_page": per_page})}>; rel="first"')
    if counted:
        links.append(f'<{ctx.url({"page": total_pages, "per_page": per_page})}>; rel="last"')
    headers["Link"] = ", ".join(links)
    return chunk, headers


def encode_cursor(values: dict[str, Any]) -> str:
    payload = {k: str(v) for k, v in values.items()}
    payload["_kd"] = "n"
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise param_error("cursor is invalid") from exc
    if not isinstance(data, dict):
        raise param_error("cursor is invalid")
    return {str(k): str(v) for k, v in data.items()}


def keyset_requested(ctx: Ctx) -> bool:
    return ctx.str_param("pagination") == "keyset"


def paginate_keyset(
    ctx: Ctx,
    items: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    cursor_fields: Callable[[T], dict[str, Any]],
    parse_cursor: Callable[[dict[str, str]], tuple[Any, ...]],
    descending: bool,
) -> tuple[list[T], dict[str, str]]:
    """Keyset pagination: ``items`` sorted by ``key`` (ascending or descending).

    The cursor holds the sort key of the last row returned; the next page starts strictly
    after it. Only ``rel="next"`` is ever sent; no totals.
    """
    _page, _raw, per_page = page_params(ctx)
    cursor = ctx.str_param("cursor")
    start = 0
    if cursor:
        after = parse_cursor(decode_cursor(cursor))
        start = _bisect(items, after, key, descending)
    chunk = list(items[start : start + per_page])
    headers: dict[str, str] = {"X-Per-Page": str(per_page)}
    if start + per_page < len(items) and chunk:
        next_cursor = encode_cursor(cursor_fields(chunk[-1]))
        headers["Link"] = f'<{ctx.url({"cursor": next_cursor, "per_page": per_page})}>; rel="next"'
        headers["X-Next-Cursor"] = next_cursor
    return chunk, headers


def _bisect(
    items: Sequence[T],
    after: tuple[Any, ...],
    key: Callable[[T], tuple[Any, ...]],
    descending: bool,
) -> int:
    """First index whose key is strictly after ``after`` in the sequence's order."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        k = key(items[mid])
        beyond = k < after if descending else k > after
        if beyond:
            hi = mid
        else:
            lo = mid + 1
    return lo


def days_ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


# --------------------------------------------------------------------------- routing

Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    tier: str  # minimum licence tier: "free" | "premium" | "ultimate"


class Registry:
    """Collects a module's routes: ``@routes("GET", r"/users/(?P<id>[^/]+)")``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def __call__(self, method: str, pattern: str, *, tier: str = "free") -> Callable[
        [Handler], Handler
    ]:
        def register(fn: Handler) -> Handler:
            self.routes.append(Route(method, re.compile(f"^{pattern}$"), fn, tier))
            return fn

        return register


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(status=status, body=body, headers=headers or {})


def no_content() -> Response:
    return Response(status=204, empty=True)
