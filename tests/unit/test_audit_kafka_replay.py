"""Which offsets a replay from Kafka reads per partition (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.audit.kafka_replay import Window, bounds

pytestmark = pytest.mark.unit
T = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)


def test_by_default_everything_from_the_beginning_to_the_end_read_at_the_start() -> None:
    assert bounds(0, 40, Window(), None, None) == (0, 40)
    assert bounds(12, 40, Window(), None, None) == (12, 40)  # records before 12 are gone (retention)


def test_offsets_are_inclusive_and_clamped_to_what_the_partition_holds() -> None:
    assert bounds(0, 40, Window(from_offset=10, to_offset=19), None, None) == (10, 20)
    assert bounds(5, 40, Window(from_offset=2, to_offset=99), None, None) == (5, 40)
    assert bounds(0, 40, Window(from_offset=50), None, None) == (40, 40)  # nothing to read
    assert bounds(0, 40, Window(from_offset=30, to_offset=9), None, None) == (30, 30)


def test_times_use_the_offsets_kafka_found_and_read_nothing_when_it_found_none() -> None:
    assert bounds(0, 40, Window(since=T), 17, None) == (17, 40)
    assert bounds(0, 40, Window(since=T), None, None) == (40, 40)  # no record at or after since
    assert bounds(0, 40, Window(until=T), None, 25) == (0, 25)  # 25: the first record after until
    assert bounds(0, 40, Window(until=T), None, None) == (0, 40)  # every record is at or before until
    assert bounds(0, 40, Window(since=T, until=T), 30, 20) == (30, 30)


def test_only_a_window_from_the_beginning_can_be_swapped_in() -> None:
    assert not Window().partial and not Window(from_offset=0, to_offset=9, until=T).partial
    assert Window(from_offset=1).partial and Window(since=T).partial
