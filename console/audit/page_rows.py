"""One page of audit events, from the body GitLab sent to the store's rows.

A plain function of bytes, so it runs the same in the loader's process or in the helper process
:class:`~console.audit.decoder.PageDecoder` starts for a large load.
"""

from __future__ import annotations

import json

from console.audit.model import event_fields
from console.store.event_rows import EventRows, prepare_events

__all__ = ["PageUnreadable", "page_rows"]


class PageUnreadable(ValueError):
    """The body is not JSON, or not a list: the whole page is unreadable."""


def page_rows(content: bytes) -> tuple[EventRows, int]:
    """The page's events as rows, and how many entries were skipped (not events, no id)."""
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise PageUnreadable("a page that is not JSON") from exc
    if not isinstance(body, list):
        raise PageUnreadable("a page that is not a list")
    fields = [event_fields(item) for item in body if isinstance(item, dict)]
    kept = [f for f in fields if f is not None]
    return prepare_events(kept), len(body) - len(kept)
