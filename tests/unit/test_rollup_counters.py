"""Properties of the counters: a node's row holds its strict subtree (its children's own slots and rows), not its own
slots; deltas cancel."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.rollup.counters import Tally, contribution, nodes_of
from projections.rollup.evolve import ALL_PLANS, COUNTERS, Slot, settle

pytestmark = pytest.mark.unit

PATHS = ["VN", "VN/31", "VN/31/11086", "VN/31/11086/A", "VN/31/11086/A/B", "VN/31/11087/C", "VN/46", "VN/46/D"]
NODES = sorted({node for path in PATHS for node in nodes_of(path)})  # VN/31/11087 holds no slot of its own


@st.composite
def slots(draw: st.DrawFn) -> Slot:
    submitted = draw(st.booleans())
    deadline = draw(st.sampled_from([None, date(2026, 11, 30)])) if submitted else None
    values = draw(st.lists(st.tuples(st.sampled_from("XYZ"), st.floats(-1e3, 1e3), st.none()), max_size=3))
    slot = Slot(
        plan_id=draw(st.sampled_from(["p1", "p2"])),
        period=draw(st.sampled_from(["2026", "SO_KET_2027"])),
        unit_path=draw(st.sampled_from(PATHS)),
        expected=draw(st.booleans()),
        due_date=draw(st.sampled_from([None, date(2026, 11, 30)])),
        report_id="r" if submitted else None,
        version=1 if submitted else None,
        late=deadline is not None and draw(st.booleans()),  # the write side marks late only against a deadline
        report_deadline=deadline,
        outcome=draw(st.sampled_from([None, "ACCEPTED", "RETURNED"])) if submitted else None,
        values=tuple({v[0]: v for v in values}.values()),
        targets=draw(st.none() | st.lists(st.tuples(st.sampled_from("XY"), st.floats(0, 100)), max_size=2).map(tuple)),
    )
    defs = {"X": {"comparator": "GE", "threshold": 10.0}, "Y": {"comparator": "LE", "threshold": 5.0}}
    return settle(slot, defs)


def children(path: str) -> list[str]:
    return [p for p in NODES if p.rsplit("/", 1)[0] == path and p != path]


@settings(max_examples=200, deadline=None)
@given(st.lists(slots(), max_size=25))
def test_a_node_holds_what_is_below_it_its_children_own_slots_and_what_is_below_them(found: list[Slot]) -> None:
    tally = Tally()
    for slot in found:
        tally.add(slot, +1)

    def own(path: str, period: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for slot in found:
            if slot.unit_path == path and slot.period == period:
                total.update(contribution(slot))
        return total

    for path in NODES:
        for period in ("2026", "SO_KET_2027"):
            below: Counter[str] = Counter()
            for child in children(path):
                below.update(own(child, period))
                below.update(tally.counts[(child, period, ALL_PLANS)])
            stored = tally.counts[(path, period, ALL_PLANS)]
            assert {c: stored[c] for c in COUNTERS} == {c: below[c] for c in COUNTERS}
    owners = {(slot.unit_path, slot.period) for slot in found}
    leaves = [(path, period) for path, period in owners if not children(path)]
    assert all(not tally.counts[(path, period, ALL_PLANS)] for path, period in leaves)  # no row for a leaf


@settings(max_examples=200, deadline=None)
@given(slots())
def test_contributions_are_consistent(slot: Slot) -> None:
    c = contribution(slot)
    assert c["on_time"] + c["late"] + c["undated"] == c["submitted"] <= c["expected"]
    assert c["on_time"] + c["late"] <= c["expected_dated"] <= c["expected"]
    assert c["accepted"] + c["returned"] <= c["submitted"] and c["target_met"] <= c["target_units"]
    assert not (c["expected"] and (c["extra_submitted"] or c["extra_registered"]))


@given(slots(), slots())
def test_a_change_and_its_reverse_cancel(before: Slot, after: Slot) -> None:
    tally = Tally()
    tally.change(before, after)
    tally.change(after, before)
    assert list(tally.pending()) == [] and list(tally.pending_indicators()) == []


def test_nodes_of_a_path_run_from_the_root_to_the_unit() -> None:
    assert nodes_of("VN/31/11086/A") == ["VN", "VN/31", "VN/31/11086", "VN/31/11086/A"]
