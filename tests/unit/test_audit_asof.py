"""As-of reads, the pure parts: reading ``as_of`` values and choosing which cached rebuilds to drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.api.problems import status_of
from services.audit.asof import AsOfPoint, parse_as_of, prefix_of, victims
from services.kernel.errors import DomainRefusal
from services.kernel.vntime import VN_TZ

NOW = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-15T16:30:00+07:00", datetime(2026, 12, 15, 9, 30, tzinfo=UTC)),
        ("2026-12-15T09:30:00Z", datetime(2026, 12, 15, 9, 30, tzinfo=UTC)),
        ("2026-12-15T16:30:00", datetime(2026, 12, 15, 9, 30, tzinfo=UTC)),  # no offset: Vietnam time
        ("2026-12-15 16:30", datetime(2026, 12, 15, 9, 30, tzinfo=UTC)),
        (" 2026-12-15T10:00:00+00:00 ", NOW),  # exactly now is allowed
    ],
)
def test_as_of_values_are_aware_times(value: str, expected: datetime) -> None:
    parsed = parse_as_of(value, NOW)
    assert parsed == expected and parsed.tzinfo is not None


def test_a_naive_value_takes_the_vietnam_offset_and_keeps_it() -> None:
    parsed = parse_as_of("2026-12-01T08:00:00", NOW)
    assert parsed.utcoffset() == timedelta(hours=7) and parsed.tzinfo == VN_TZ
    assert parse_as_of("2026-12-01T08:00:00", NOW, UTC).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("hôm qua", "INVALID_AS_OF"),
        ("15/12/2026", "INVALID_AS_OF"),
        ("2026-12-15", "INVALID_AS_OF"),  # a day alone is ambiguous (its start or its end?)
        ("2026-13-01T00:00:00", "INVALID_AS_OF"),
        ("", "INVALID_AS_OF"),
        ("2026-12-15T17:00:01+07:00", "AS_OF_IN_FUTURE"),
        ("2027-01-01T00:00:00Z", "AS_OF_IN_FUTURE"),
    ],
)
def test_bad_values_are_refused_with_a_bilingual_422(value: str, code: str) -> None:
    with pytest.raises(DomainRefusal) as refused:
        parse_as_of(value, NOW)
    error = refused.value
    assert (error.code, status_of(error), error.details["as_of"]) == (code, 422, value)
    assert error.message_vi.startswith("Thời điểm as_of") and "as_of" in error.message_en


@pytest.mark.parametrize(
    ("order", "busy", "size", "dropped"),
    [
        ([1, 2, 3], set(), 4, []),
        ([1, 2, 3], set(), 2, [1]),
        ([1, 2, 3, 4], set(), 2, [1, 2]),
        ([1, 2, 3], {1}, 2, [2]),  # the oldest is in use: the next oldest goes
        ([1, 2, 3], {1, 2, 3}, 1, []),  # all in use: over the bound until released
        ([5, 3, 9], {3}, 1, [5, 9]),  # the order is recency, not position
    ],
)
def test_least_recently_used_rebuilds_that_nobody_uses_are_dropped(
    order: list[int], busy: set[int], size: int, dropped: list[int]
) -> None:
    assert victims(order, busy, size) == dropped


def test_a_point_at_the_head_reads_the_live_tables() -> None:
    assert AsOfPoint(NOW, 12, 12).live and not AsOfPoint(NOW, 11, 12).live and AsOfPoint(NOW, 0, 0).live
    assert prefix_of(42) == "asof_42_"
