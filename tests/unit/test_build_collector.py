"""A build from scratch pauses Python's cyclic garbage collector (``projections.base.from_scratch``): off while any
build runs, back to what it was when the last one leaves, even when a build fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from projections.base import from_scratch

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_during_a_build_and_on_after_it() -> None:
    gc.enable()
    with from_scratch([]):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_builds_turn_it_back_on_only_when_the_last_one_leaves() -> None:
    gc.enable()
    outer = from_scratch([])
    outer.__enter__()
    with from_scratch([]):
        assert not gc.isenabled()
    assert not gc.isenabled()  # the outer build still runs
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_failed_build_turns_it_back_on() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), from_scratch([]):
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_the_process_had_turned_off_stays_off() -> None:
    gc.disable()
    with from_scratch([]):
        pass
    assert not gc.isenabled()
