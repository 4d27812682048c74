"""GitLab pagination over an already filtered, ordered sequence: offset and keyset.

Offset pagination emits the ``x-*`` headers and a ``Link`` header (no totals above
``COUNT_LIMIT``, 405 beyond ``OFFSET_LIMIT`` for keyset-capable types); keyset pagination
emits only ``Link: <…>; rel="next"`` with an opaque cursor.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from console.drill.web import ApiError, Ctx, param_error

T = TypeVar("T")

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
COUNT_LIMIT = 10_000  # above this GitLab stops counting: no x-total / x-total-pages / rel=last
OFFSET_LIMIT = 50_000  # default `offset_pagination_limit` for keyset-capable types

KEYSET_UNAVAILABLE = "Keyset pagination is not yet available for this type of request"


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


def refuse_keyset(ctx: Ctx) -> None:
    """A list without keyset pagination answers a keyset request with GitLab's 405."""
    if keyset_requested(ctx):
        raise ApiError(405, {"error": KEYSET_UNAVAILABLE})


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
