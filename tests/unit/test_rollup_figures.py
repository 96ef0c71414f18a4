"""Shaping of a rollup's indicators by code: fields the plans agree on, null where they differ (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from projections.rollup.codes import distinct
from projections.rollup.figures import agreed, indicator_by_code

pytestmark = pytest.mark.unit

RATE = {"name": "Tỷ lệ hộ", "unit": "%", "aggregation": "MEAN", "comparator": "GE", "threshold": 80.0}
ROW = {"indicator_code": "X", "plans": 3, "reports": 4, "judged": 4, "met": 3, "total_micro": 300_000_000}


def definition() -> dict[str, Any]:
    return {**RATE, "threshold_max": None, "year": None, "horizon": 2030, "item_code": "I.1", "item_title": "T"}


def test_definitions_differing_only_outside_the_compared_fields_are_one() -> None:
    first = {**definition(), "criteria_id": "c1/TC"}
    second = {**definition(), "criteria_id": "c2/TC"}
    assert distinct([first, second, None]) == distinct([first])
    assert len(distinct([first, {**second, "threshold": 90.0}])) == 2


def test_agreed_keeps_shared_fields_and_names_the_others() -> None:
    shared, differing = agreed([definition(), {**definition(), "threshold": 90.0, "item_title": "U"}])
    assert differing == ["threshold", "item_title"]
    assert (shared["unit"], shared["threshold"], shared["item_title"], shared["horizon"]) == ("%", None, None, 2030)
    assert agreed([]) == (dict.fromkeys(shared), [])


def test_one_definition_gives_the_value_by_its_rule_and_judges_it() -> None:
    shaped = indicator_by_code(ROW, distinct([definition()]))
    assert (shaped["consistent"], shaped["definitions"], shaped["differing"]) == (True, 1, [])
    assert (shaped["sum"], shaped["mean"], shaped["value"], shaped["meets_target"]) == (300.0, 75.0, 75.0, False)
    assert (shaped["plans"], shaped["units_meeting"], shaped["share_meeting"]) == (3, 3, 0.75)


def test_targets_that_differ_leave_the_value_but_not_the_judgement() -> None:
    shaped = indicator_by_code(ROW, distinct([definition(), {**definition(), "threshold": 70.0}]))
    assert (shaped["consistent"], shaped["definitions"], shaped["differing"]) == (True, 2, ["threshold"])
    assert (shaped["value"], shaped["threshold"], shaped["meets_target"]) == (75.0, None, None)


def test_different_units_or_rules_make_no_sum() -> None:
    counted = {**definition(), "unit": "hộ", "aggregation": "SUM"}
    shaped = indicator_by_code(ROW, distinct([definition(), counted]))
    assert (shaped["consistent"], shaped["differing"][:2]) == (False, ["unit", "aggregation"])
    assert (shaped["sum"], shaped["mean"], shaped["value"], shaped["aggregation_label"]) == (None,) * 4
    assert (shaped["name"], shaped["units_judged"], shaped["share_meeting"]) == ("Tỷ lệ hộ", 4, 0.75)


def test_a_code_no_plan_defines_still_sums() -> None:
    shaped = indicator_by_code(ROW, [])
    assert (shaped["known"], shaped["consistent"], shaped["sum"], shaped["value"]) == (False, True, 300.0, None)
