"""Pure contributions of a slot to the counters of every ancestor, and a batch's summed deltas."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from .evolve import (
    ACCEPTED,
    ALL_PLANS,
    COUNTERS,
    LATE,
    ON_TIME,
    RETURNED,
    SUBMITTED,
    Slot,
)

CountKey = tuple[str, str, str]  # (node_path, period, plan_id)
IndicatorKey = tuple[str, str, str, str]  # (node_path, period, plan_id, indicator_code)


def nodes_of(path: str) -> list[str]:
    """The unit and every ancestor up to the root: each holds counters of its whole subtree."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def contribution(slot: Slot) -> dict[str, int]:
    """What one slot adds to its subtrees' counters."""
    submitted = slot.version is not None
    expected = slot.expected
    deadline = slot.report_deadline if submitted else slot.due_date
    registered = slot.targets is not None
    found = {
        "expected": expected,
        "expected_dated": expected and deadline is not None,
        "submitted": expected and submitted,
        "on_time": expected and slot.status == ON_TIME,
        "late": expected and slot.status == LATE,
        "undated": expected and slot.status == SUBMITTED,
        "accepted": expected and submitted and slot.outcome == ACCEPTED,
        "returned": expected and submitted and slot.outcome == RETURNED,
        "registered": expected and registered,
        "extra_submitted": not expected and submitted,
        "extra_registered": not expected and registered,
        "target_units": slot.own_met is not None,
        "target_met": slot.own_met is True,
    }
    return {name: int(found[name]) for name in COUNTERS}


def indicator_contribution(slot: Slot) -> dict[str, dict[str, int]]:
    """What one slot's figures add per indicator (only a version that was not returned counts)."""
    if not slot.counts_values:
        return {}
    return {
        code: {"reports": 1, "judged": int(met is not None), "met": int(met is True), "total_micro": micro(value)}
        for code, value, met in slot.values
    }


def micro(value: float) -> int:
    """A value in millionths, so sums are exact and independent of the order of additions."""
    return round(value * 1_000_000)


class Tally:
    """Counter deltas of a batch, summed per key before one write per key."""

    def __init__(self) -> None:
        self.counts: defaultdict[CountKey, Counter[str]] = defaultdict(Counter)
        self.indicators: defaultdict[IndicatorKey, Counter[str]] = defaultdict(Counter)

    def change(self, before: Slot | None, after: Slot | None) -> None:
        """Move the contributions of ``before`` out and those of ``after`` in."""
        if before is not None:
            self.add(before, -1)
        if after is not None:
            self.add(after, +1)

    def add(self, slot: Slot, sign: int) -> None:
        """Add (``sign`` = 1) or remove (-1) a slot's contributions at every ancestor."""
        nodes = nodes_of(slot.unit_path)
        counts = {k: sign * v for k, v in contribution(slot).items() if v}
        for node in nodes:
            for plan in (slot.plan_id, ALL_PLANS):
                self.counts[(node, slot.period, plan)].update(counts)
        for code, values in indicator_contribution(slot).items():
            signed = {k: sign * v for k, v in values.items() if v}
            for node in nodes:
                self.indicators[(node, slot.period, slot.plan_id, code)].update(signed)

    def pending(self) -> Iterable[tuple[CountKey, dict[str, int]]]:
        """Non-zero count deltas."""
        return _nonzero(self.counts)

    def pending_indicators(self) -> Iterable[tuple[IndicatorKey, dict[str, int]]]:
        """Non-zero indicator deltas."""
        return _nonzero(self.indicators)


def _nonzero(table: dict) -> Iterable[tuple]:  # type: ignore[type-arg]
    for key, counter in table.items():
        delta = {k: v for k, v in counter.items() if v}
        if delta:
            yield key, delta
