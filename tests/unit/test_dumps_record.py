"""``dumps_record`` (orjson, for speed) stores every server value exactly as the stdlib would."""

from __future__ import annotations

import json

import pytest

from console.store.values import dumps_record


@pytest.mark.parametrize(
    "record",
    [
        {"id": 7, "name": "Ana García", "email": None, "is_admin": True, "identities": [{"x": 1}]},
        {"id": 2**63 - 1, "sign_in_count": 2**64 - 1},
        {"id": 5, "sign_in_count": 2**70},  # orjson refuses: the stdlib writes it
        {"id": 6, "name": "\ud800 lone surrogate"},  # orjson refuses: the stdlib escapes it
    ],
)
def test_round_trips_exactly(record: dict[str, object]) -> None:
    assert json.loads(dumps_record(record)) == record


def test_big_numbers_stay_integers() -> None:
    text = dumps_record({"n": 2**70})
    assert str(2**70) in text and "e+" not in text
