"""Audit pages decoded by the helper process: the same rows as here, and never a failed load.

The helper is a real spawned process; each test waits for it to answer its warm-up (no fixed
pauses) and compares its rows with the in-process decoder's, value for value.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from console.audit.decoder import PageDecoder
from console.audit.load import load_events_blocking
from console.audit.page_rows import PageUnreadable, page_rows
from console.config import ConnectionConfig
from console.secret import Secret
from console.store import EventRows, Store


def _event(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "author_id": 7 + i % 3,
        "entity_id": 12,
        "entity_type": "Group",
        "event_name": "personal_access_token_created" if i % 2 else "user_logged_in",
        "details": {
            "custom_message": f"event {i}",
            "author_name": "Mia Chen\u202e",
            "target_details": f"token-{i}",
            "ip_address": f"203.0.113.{i % 250}",
            "entity_path": "ops/infra",
            "nested": {"scopes": ["api", "sudo"], "n": i},
        },
        "created_at": f"2026-11-{1 + i % 28:02d}T10:00:{i % 60:02d}.000Z",
    }


def _pages(n: int) -> list[bytes]:
    raw = [_event(i) for i in range(1, 100 * n + 1)]
    pages = [json.dumps(raw[k : k + 100]).encode() for k in range(0, len(raw), 100)]
    pages.append(json.dumps([{"no": "id"}, "not an object", _event(99_999)]).encode())
    return pages


async def _until_helper(decoder: PageDecoder, first: bytes) -> EventRows:
    rows, _ = await decoder.rows(first)  # decoded here; starts the helper
    for _ in range(1200):  # the helper imports the decoder (about a second on a loaded host)
        if decoder.helped:
            return rows
        await asyncio.sleep(0.05)
    pytest.fail("the helper process never answered its warm-up")


def test_pages_decoded_by_the_helper_equal_the_pages_decoded_here() -> None:
    pages = _pages(5)

    async def run() -> tuple[list[tuple[EventRows, int]], int | None]:
        decoder = PageDecoder(process_after=0)
        try:
            await _until_helper(decoder, pages[0])
            helper = decoder.helper_pid
            return [await decoder.rows(p) for p in pages], helper
        finally:
            await decoder.aclose()

    got, helper = asyncio.run(run())
    assert helper is not None and helper != os.getpid()
    assert got == [page_rows(p) for p in pages]
    assert got[-1][1] == 2 and len(got[-1][0].rows) == 1  # two entries skipped, one kept


def test_an_unreadable_page_is_refused_by_the_helper_as_here() -> None:
    async def run() -> str:
        decoder = PageDecoder(process_after=0)
        try:
            await _until_helper(decoder, _pages(1)[0])
            with pytest.raises(PageUnreadable) as caught:
                await decoder.rows(b"<html>502 Bad Gateway</html>")
            return str(caught.value)
        finally:
            await decoder.aclose()

    assert asyncio.run(run()) == "a page that is not JSON"
    with pytest.raises(PageUnreadable, match="not a list"):
        page_rows(b'{"message": "403 Forbidden"}')


def test_the_helper_gets_no_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-never-in-the-helper")

    async def run() -> bytes:
        decoder = PageDecoder(process_after=0)
        try:
            await _until_helper(decoder, _pages(1)[0])
            return Path(f"/proc/{decoder.helper_pid}/environ").read_bytes()
        finally:
            await decoder.aclose()

    environ = asyncio.run(run())
    assert b"PATH=" in environ and b"glpat-never-in-the-helper" not in environ


class _CapturedStream(io.StringIO):
    """What a Textual app puts in ``sys.stderr``: writable, but no file descriptor behind it."""

    def fileno(self) -> int:
        return -1


def test_the_helper_starts_inside_an_app_that_captured_stdout_and_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A multiprocessing pool failed here inside the console ("bad value(s) in fds_to_keep").
    monkeypatch.setattr(sys, "stderr", _CapturedStream())
    monkeypatch.setattr(sys, "stdout", _CapturedStream())
    pages = _pages(2)

    async def run() -> list[tuple[EventRows, int]]:
        decoder = PageDecoder(process_after=0)
        try:
            await _until_helper(decoder, pages[0])
            return [await decoder.rows(p) for p in pages]
        finally:
            await decoder.aclose()

    assert asyncio.run(run()) == [page_rows(p) for p in pages]


def test_a_helper_that_dies_leaves_the_decoding_here() -> None:
    pages = _pages(3)

    async def run() -> tuple[list[tuple[EventRows, int]], bool]:
        decoder = PageDecoder(process_after=0)
        try:
            await _until_helper(decoder, pages[0])
            os.kill(decoder.helper_pid or 0, signal.SIGKILL)
            return [await decoder.rows(p) for p in pages], decoder.helped
        finally:
            await decoder.aclose()

    got, still_helped = asyncio.run(run())
    assert got == [page_rows(p) for p in pages]
    assert not still_helped


def test_a_load_with_the_helper_stores_what_a_load_without_it_stores(
    drill: Any, tmp_path: Path
) -> None:
    cfg, token = ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN)
    now = drill.state.current_time().replace(microsecond=0)
    window = (now - timedelta(days=30), now)
    stored: list[set[tuple[Any, ...]]] = []
    for name, after in (("here", 10**9), ("helper", 0)):
        store = Store.open(tmp_path / f"{name}.db")
        inc = store.create_incident("t", "compromised-instance", None, drill.url, None, None)
        result = load_events_blocking(
            cfg, token, store, inc.id, window, now=now, process_after=after
        )
        assert result.problem is None and result.stored > 0
        rows = store.events_by_rids(inc.id, store.event_rids(inc.id))
        # every column but the row id (the streams interleave differently each time)
        stored.append(
            {tuple(sorted((k, json.dumps(v)) for k, v in r.items() if k != "rid")) for r in rows}
        )
        store.close()
    assert stored[0] == stored[1]
