"""Pure pieces of the benchmark harness: percentiles, batching, the open-loop driver, query URLs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import pytest

from bench.common import LatencyRow, batched, percentile
from bench.latency import Sample, offer
from bench.queries import Query

pytestmark = pytest.mark.unit


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([], 99) == 0.0
    assert LatencyRow("b", "s", [0.001, 0.002, 0.003], 0.0).ms(50) == pytest.approx(2.0)


def test_batched_keeps_order_and_the_short_tail() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []


@dataclass
class Done:
    positions: list[int]
    event_ids: list[str]


def test_offer_keeps_its_schedule_whatever_the_handler_does() -> None:
    """Open loop: command k is due at t0 + k/rate even when the handler is slower than the rate, so the
    wait shows up as latency (no coordinated omission); every command is accepted in order of its due time."""
    commands = list(range(20))
    samples = [Sample() for _ in commands]
    seen: list[Sample] = []

    def slow(command: int) -> Done:
        time.sleep(0.01)
        return Done([command + 1], [f"e{command}"])

    offer(slow, commands, samples, rate=200, threads=1, accepted=seen.append)
    dues = [s.due - samples[0].due for s in samples]
    assert dues == pytest.approx([k / 200 for k in range(20)], abs=1e-9)
    assert [s.position for s in seen] == [c + 1 for c in commands]
    assert samples[-1].accepted - samples[0].due >= 20 * 0.01  # 100/s at best: it fell behind the 200/s offered
    assert samples[-1].accepted - samples[-1].due > samples[0].accepted - samples[0].due


def test_offer_sheds_what_waited_too_long() -> None:
    commands = list(range(20))
    samples = [Sample() for _ in commands]

    def slow(command: int) -> Done:
        time.sleep(0.03)
        return Done([command], [str(command)])

    offer(slow, commands, samples, rate=1000, threads=1, accepted=lambda s: None, max_delay=0.05)
    shed = [s for s in samples if s.shed]
    assert shed and all(not s.accepted for s in shed)
    assert not samples[0].shed and samples[0].accepted


def test_query_urls_put_what_is_not_in_the_path_in_the_query_string() -> None:
    query = Query("guidance", "/api/v1/org-units/{code}/guidance", lambda n: {"code": f"U{n}", "on": date(2030, 11, 1)})
    assert query.url(3) == "/api/v1/org-units/U3/guidance?on=2030-11-01"
    plain = Query("pending", "/api/v1/awards", lambda n: {"state": "PENDING", "holder": None})
    assert plain.url(0) == "/api/v1/awards?state=PENDING"
