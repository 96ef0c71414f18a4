"""The rollup's facts cache: kept per thread (the tail and an as-of build apply batches at once), emptied when the
facts token changes, trimmed to its capacity between batches."""

from __future__ import annotations

import threading

import pytest

from projections.rollup.batch import Facts
from projections.rollup.projection import RollupProjection
from services.kernel.adminunits import AdminUnitCatalog

pytestmark = pytest.mark.unit


def test_each_thread_has_its_own_facts_and_keeps_them() -> None:
    projection = RollupProjection(AdminUnitCatalog([]))
    mine = projection.facts
    seen: list[Facts] = []
    other = threading.Thread(target=lambda: seen.append(projection.facts))
    other.start()
    other.join()
    assert projection.facts is mine and seen[0] is not mine


def test_facts_are_kept_under_the_same_token_emptied_under_another_and_trimmed() -> None:
    facts = Facts(capacity=2)
    facts.valid_for("t1")
    for plan in ("a", "b", "c"):
        facts.plans[plan], facts.duty_lists[plan], facts.defs[plan] = {"plan_id": plan}, [], {}
    assert list(facts.valid_for("t1").plans) == ["b", "c"]  # the oldest read is dropped first
    assert facts.valid_for("t2").plans == {} and facts.token == "t2"
    facts.plans["d"], facts.duty_lists["d"], facts.defs["d"] = None, [], {}
    assert facts.valid_for(None).plans == {}  # tables without a token keep nothing across batches
