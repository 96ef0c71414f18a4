"""Pure contributions of a slot to the counters of every ancestor, and a batch's summed deltas."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from operator import add, neg, sub
from typing import Any, TypeVar

from .evolve import (
    ACCEPTED,
    ALL_PLANS,
    COUNTERS,
    INDICATOR_COUNTERS,
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


def vector(slot: Slot) -> tuple[int, ...]:
    """What one slot adds to its subtrees' counters, in the order of ``COUNTERS``."""
    submitted = slot.version is not None
    expected = slot.expected
    deadline = slot.report_deadline if submitted else slot.due_date
    registered = slot.targets is not None
    status = slot.status
    return (
        int(expected),
        int(expected and deadline is not None),
        int(expected and submitted),
        int(expected and status == ON_TIME),
        int(expected and status == LATE),
        int(expected and status == SUBMITTED),
        int(expected and submitted and slot.outcome == ACCEPTED),
        int(expected and submitted and slot.outcome == RETURNED),
        int(expected and registered),
        int(not expected and submitted),
        int(not expected and registered),
        int(slot.own_met is not None),
        int(slot.own_met is True),
    )


def contribution(slot: Slot) -> dict[str, int]:
    """What one slot adds to its subtrees' counters."""
    return dict(zip(COUNTERS, vector(slot), strict=True))


def indicator_vectors(slot: Slot) -> dict[str, tuple[int, int, int, int]]:
    """What one slot's figures add per indicator, in the order of ``INDICATOR_COUNTERS`` (only a version that was
    not returned counts)."""
    if not slot.counts_values:
        return {}
    return {code: (1, int(met is not None), int(met is True), micro(value)) for code, value, met in slot.values}


def micro(value: float) -> int:
    """A value in millionths, so sums are exact and independent of the order of additions."""
    return round(value * 1_000_000)


class Tally:
    """Counter deltas of a batch: summed per slot key as slots change, then passed up the tree once at the end.

    Deltas are tuples in the order of ``COUNTERS`` (``INDICATOR_COUNTERS`` for indicators), added element-wise.
    """

    def __init__(self) -> None:
        self.own: dict[CountKey, tuple[int, ...]] = {}  # (unit_path, period, plan_id): the unit's own slots
        self.own_indicators: dict[IndicatorKey, tuple[int, ...]] = {}

    def change(self, before: Slot | None, after: Slot | None) -> None:
        """Move the contributions of ``before`` out and those of ``after`` in (a part that did not change, such as
        the figures of a report being reviewed, is left alone: it would cancel out)."""
        if before is None or after is None or before.key != after.key:
            if before is not None:
                self.add(before, -1)
            if after is not None:
                self.add(after, +1)
            return
        old, new = vector(before), vector(after)
        if old != new:
            self._counts(after, tuple(map(sub, new, old)), +1)
        old_figures, new_figures = indicator_vectors(before), indicator_vectors(after)
        if old_figures != new_figures:  # per code, only what changed: one delta, not the old out and the new in
            own, key = self.own_indicators, (after.unit_path, after.period, after.plan_id)
            for code, values in new_figures.items():
                if (was := old_figures.get(code)) != values:
                    _merge(own, (*key, code), values if was is None else tuple(map(sub, values, was)))
            for code, was in old_figures.items():
                if code not in new_figures:
                    _merge(own, (*key, code), tuple(map(neg, was)))

    def add(self, slot: Slot, sign: int) -> None:
        """Add (``sign`` = 1) or remove (-1) a slot's contributions (to its unit and, at the end, every ancestor)."""
        self._counts(slot, vector(slot), sign)
        self._figures(slot, indicator_vectors(slot), sign)

    def _counts(self, slot: Slot, values: tuple[int, ...], sign: int) -> None:
        _merge(self.own, (slot.unit_path, slot.period, slot.plan_id), _signed(values, sign))

    def _figures(self, slot: Slot, figures: dict[str, tuple[int, int, int, int]], sign: int) -> None:
        for code, values in figures.items():
            _merge(self.own_indicators, (slot.unit_path, slot.period, slot.plan_id, code), _signed(values, sign))

    def count_rows(self) -> list[tuple[CountKey, tuple[int, ...]]]:
        """Non-zero count deltas of every node, per plan and for all plans, by key."""
        spread = _up(self.own)
        for (node, period, _), delta in list(spread.items()):
            _merge(spread, (node, period, ALL_PLANS), delta)
        return sorted((key, delta) for key, delta in spread.items() if any(delta))

    def indicator_rows(self) -> list[tuple[IndicatorKey, tuple[int, ...]]]:
        """Non-zero indicator deltas of every node, by key."""
        return sorted((key, delta) for key, delta in _up(self.own_indicators).items() if any(delta))

    @property
    def counts(self) -> defaultdict[CountKey, Counter[str]]:
        """Count deltas of every node, per plan and for all plans."""
        return defaultdict(Counter, {key: Counter(_named(COUNTERS, d)) for key, d in self.count_rows()})

    @property
    def indicators(self) -> defaultdict[IndicatorKey, Counter[str]]:
        """Indicator deltas of every node."""
        return defaultdict(Counter, {key: Counter(_named(INDICATOR_COUNTERS, d)) for key, d in self.indicator_rows()})

    def pending(self) -> Iterable[tuple[CountKey, dict[str, int]]]:
        """Non-zero count deltas."""
        return [(key, _named(COUNTERS, delta)) for key, delta in self.count_rows()]

    def pending_indicators(self) -> Iterable[tuple[IndicatorKey, dict[str, int]]]:
        """Non-zero indicator deltas."""
        return [(key, _named(INDICATOR_COUNTERS, delta)) for key, delta in self.indicator_rows()]


K = TypeVar("K", CountKey, IndicatorKey)


def _signed(values: tuple[int, ...], sign: int) -> tuple[int, ...]:
    return values if sign == 1 else tuple(map(neg, values))


def _named(names: tuple[str, ...], delta: tuple[int, ...]) -> dict[str, int]:
    return {name: value for name, value in zip(names, delta, strict=True) if value}


def _merge(table: dict[Any, tuple[int, ...]], key: tuple[str, ...], delta: tuple[int, ...]) -> None:
    """Add ``delta`` into ``table[key]``."""
    found = table.get(key)
    table[key] = delta if found is None else tuple(map(add, found, delta))


def _up(own: Mapping[K, tuple[int, ...]]) -> dict[K, tuple[int, ...]]:
    """The deltas of every node strictly above an owner: its subtree's, passed up one level at a time (deepest
    first), so every key is added into its parent once."""
    spread: dict[tuple[str, ...], tuple[int, ...]] = {}
    levels: defaultdict[int, list[tuple[str, ...]]] = defaultdict(list)
    key: tuple[str, ...]
    parent: tuple[str, ...]
    for key, delta in own.items():
        if "/" not in key[0]:
            continue  # the root's own slots: nothing above it
        parent = (key[0].rsplit("/", 1)[0], *key[1:])
        if parent not in spread:
            levels[parent[0].count("/")].append(parent)
        _merge(spread, parent, delta)
    child: tuple[str, ...]
    for depth in range(max(levels, default=0), 0, -1):
        for child in levels[depth]:
            parent = (child[0].rsplit("/", 1)[0], *child[1:])
            if parent not in spread:
                levels[depth - 1].append(parent)
            _merge(spread, parent, spread[child])
    return spread  # type: ignore[return-value]
