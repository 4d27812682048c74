"""The start-up's pause of the cyclic garbage collector (``console.startgc``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from console import startgc


@pytest.fixture(autouse=True)
def collector_back_on() -> Iterator[None]:
    yield
    startgc.resume()
    gc.enable()


def test_pause_stops_collection_until_resume() -> None:
    startgc.pause()
    assert startgc.paused() and not gc.isenabled()
    startgc.resume()
    assert not startgc.paused() and gc.isenabled()


def test_resume_without_a_pause_leaves_the_collector_as_it_was() -> None:
    gc.disable()  # someone else's choice (a test, an embedding program)
    startgc.resume()
    assert not gc.isenabled()
    gc.enable()
    startgc.resume()
    assert gc.isenabled()
