"""The server clock: skew from Date headers, robust to one slow reply, shown when large."""

from __future__ import annotations

from datetime import UTC, datetime

from console.clock import ServerClock

LOCAL = 1_800_000_000.0  # a fixed local epoch


def _date(epoch: float) -> dict[str, str]:
    return {"Date": datetime.fromtimestamp(epoch, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")}


def test_before_any_reply_now_is_the_local_clock() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    assert clock.skew_seconds is None
    assert clock.now().timestamp() == LOCAL
    assert clock.skew_note() is None


def test_skew_is_measured_at_the_midpoint_and_applied_to_now() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(_date(LOCAL + 300), sent_at=LOCAL - 1, received_at=LOCAL + 1)
    assert clock.skew_seconds == 300
    assert clock.now().timestamp() == LOCAL + 300
    note = clock.skew_note()
    assert note is not None and "5 min ahead of" in note


def test_one_reply_held_in_a_proxy_does_not_move_the_estimate() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    for _ in range(4):
        clock.observe(_date(LOCAL - 7200), sent_at=LOCAL, received_at=LOCAL)
    clock.observe(_date(LOCAL), sent_at=LOCAL - 600, received_at=LOCAL)
    assert clock.skew_seconds == -7200
    note = clock.skew_note()
    assert note is not None and "2.0 h behind" in note


def test_missing_or_garbage_dates_are_ignored() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe({}, sent_at=LOCAL, received_at=LOCAL)
    clock.observe({"Date": "yesterday-ish"}, sent_at=LOCAL, received_at=LOCAL)
    clock.observe({"date": "\x1b[31m"}, sent_at=LOCAL, received_at=LOCAL)
    assert clock.skew_seconds is None


def test_small_skew_is_not_worth_a_note() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(_date(LOCAL + 30), sent_at=LOCAL, received_at=LOCAL)
    assert clock.skew_seconds == 30
    assert clock.skew_note() is None
