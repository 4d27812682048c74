"""console.timeutil: the one parser for GitLab's timestamps, and the store's canonical text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from console.timeutil import (
    format_iso,
    from_epoch,
    normalize_ts,
    parse_date,
    parse_ts,
    to_epoch,
    utc_now,
    window_bound,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-02T10:00:00Z", datetime(2025, 5, 2, 10, tzinfo=UTC)),
        ("2025-05-02T10:00:00.123Z", datetime(2025, 5, 2, 10, 0, 0, 123000, tzinfo=UTC)),
        # GitLab's nanosecond-ish fractions and lowercase designators
        ("2025-05-02t10:00:00.123456789z", datetime(2025, 5, 2, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2025-05-02T12:30:00+02:00", datetime(2025, 5, 2, 10, 30, tzinfo=UTC)),
        ("2025-05-02T10:00:00+0000", datetime(2025, 5, 2, 10, tzinfo=UTC)),
        ("2025-05-02 10:00:00", datetime(2025, 5, 2, 10, tzinfo=UTC)),  # naive is UTC
        (" 2025-05-02 ", datetime(2025, 5, 2, tzinfo=UTC)),  # a date is midnight UTC
    ],
)
def test_parse_ts_gives_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_ts(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("junk", [None, "", "   ", "yesterday", "2025-13-01", 12, b"2025-05-02"])
def test_parse_ts_returns_none_for_junk(junk: object) -> None:
    assert parse_ts(junk) is None


def test_parse_ts_accepts_datetimes_and_dates() -> None:
    aware = datetime(2025, 5, 2, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_ts(aware) == datetime(2025, 5, 2, 10, tzinfo=UTC)
    assert parse_ts(date(2025, 5, 2)) == datetime(2025, 5, 2, tzinfo=UTC)


def test_format_iso_is_utc_with_z() -> None:
    moment = datetime(2025, 5, 2, 12, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert format_iso(moment) == "2025-05-02T10:00:00.987Z"
    assert format_iso(moment, "seconds") == "2025-05-02T10:00:00Z"
    assert format_iso(datetime(2025, 5, 2)) == "2025-05-02T00:00:00.000Z"  # naive is UTC
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now())


def test_epoch_round_trip() -> None:
    moment = from_epoch(1_746_180_000)
    assert moment == datetime(2025, 5, 2, 10, tzinfo=UTC)
    assert to_epoch(moment) == 1_746_180_000
    assert to_epoch(datetime(2025, 5, 2, 10)) == 1_746_180_000


def test_parse_date() -> None:
    assert parse_date("2025-05-02") == date(2025, 5, 2)
    assert parse_date("2025-05-02T23:59:59Z") == date(2025, 5, 2)
    assert parse_date(datetime(2025, 5, 2, 1, tzinfo=UTC)) == date(2025, 5, 2)
    assert parse_date("never") is None and parse_date(None) is None


def test_normalize_ts_sorts_as_text() -> None:
    assert normalize_ts("2025-05-02T10:00:00Z") == "2025-05-02T10:00:00.000Z"
    assert normalize_ts("2025-05-02T10:00:00.5+00:00") == "2025-05-02T10:00:00.500Z"
    assert normalize_ts("2025-05-02T12:00:00+02:00") == "2025-05-02T10:00:00.000Z"
    assert normalize_ts("2025-05-02") == "2025-05-02"
    assert normalize_ts("garbage") == "garbage"  # kept, not lost
    assert normalize_ts(None) is None and normalize_ts("") is None
    later = normalize_ts("2025-05-02T09:00:00-02:00")
    earlier = normalize_ts("2025-05-02T10:59:59.999Z")
    assert earlier is not None and later is not None and earlier < later


def test_window_bound_expands_dates() -> None:
    assert window_bound("2025-05-02", end=False) == "2025-05-02T00:00:00.000Z"
    assert window_bound("2025-05-02", end=True) == "2025-05-02T23:59:59.999Z"
    assert window_bound("2025-05-02T10:00:00Z", end=True) == "2025-05-02T10:00:00.000Z"
    assert window_bound(None, end=True) is None


def test_parse_http_date() -> None:
    from console.timeutil import parse_http_date

    assert parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT") == datetime(
        2015, 10, 21, 7, 28, tzinfo=UTC
    )
    assert parse_http_date("Wed, 21 Oct 2015 09:28:00 +0200") == datetime(
        2015, 10, 21, 7, 28, tzinfo=UTC
    )
    for odd in (None, "", "120", "yesterday-ish", "\x1b[31m", 5):
        assert parse_http_date(odd) is None


def test_minute_text_is_utc_to_the_minute_and_none_when_unreadable() -> None:
    from console.timeutil import minute_text

    assert minute_text("2024-05-20T10:00:44.000Z") == "2024-05-20 10:00"
    assert minute_text("2024-05-20T12:00:44+02:00") == "2024-05-20 10:00"
    assert minute_text("yesterday") is None
    assert minute_text(None) is None
