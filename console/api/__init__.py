"""The one HTTP policy: pinned pagination links, bounded retries for reads, none for writes.

Every caller that pages or reads GitLab (users loader, audit, inventory, dossier, capabilities,
start-up) goes through this package; the clients themselves are built by :mod:`console.config`.
"""

from __future__ import annotations

from console.api.aio import AsyncGet, ReadCancelled, ReadFailed, WaitFn, WaitReason
from console.api.bridge import LoopCancelled, LoopThread, run_in_loop_thread
from console.api.links import UnsafeLinkError, pin_next_link, same_origin
from console.api.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    WaitTooLong,
    is_transient_status,
    parse_retry_after,
)

__all__ = [
    "DEFAULT_POLICY",
    "AsyncGet",
    "LoopCancelled",
    "LoopThread",
    "ReadCancelled",
    "ReadFailed",
    "RetryPolicy",
    "UnsafeLinkError",
    "WaitFn",
    "WaitReason",
    "WaitTooLong",
    "is_transient_status",
    "parse_retry_after",
    "pin_next_link",
    "run_in_loop_thread",
    "same_origin",
]
