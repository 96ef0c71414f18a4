"""Pure rules for indicators (chỉ tiêu): how a value is judged against a target and how values roll up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MEAN, SUM, SHARE = "MEAN", "SUM", "SHARE"
AGGREGATIONS = {
    MEAN: "Trung bình các đơn vị (và tỷ lệ đơn vị đạt)",
    SUM: "Cộng dồn các đơn vị",
    SHARE: "Tỷ lệ đơn vị đạt chỉ tiêu",
}
PER_UNIT = ("/đơn vị", "/địa phương", "/xã", "/cơ quan")  # a count per unit is averaged, not summed
LOWER_IS_BETTER = ("LE", "LT")
ABOUT_TOLERANCE = 0.1  # "khoảng" without an upper bound: within ±10% of the stated value


def aggregation(unit_of_measure: str | None) -> str:
    """MEAN for rates (%, tỷ lệ) and per-unit counts, SHARE for ranks (thứ hạng), SUM for counts and amounts."""
    unit = (unit_of_measure or "").strip().lower()
    if "%" in unit or unit.startswith("tỷ lệ") or any(unit.endswith(suffix) for suffix in PER_UNIT):
        return MEAN
    if "hạng" in unit:
        return SHARE
    return SUM


def meets(comparator: str, threshold: float | None, threshold_max: float | None, value: float) -> bool | None:
    """Whether ``value`` satisfies the target; None when the indicator states no target value."""
    if threshold is None:
        return None
    if comparator in ("RANGE", "ABOUT") and threshold_max is not None:
        return threshold <= value <= threshold_max
    if comparator == "GE":
        return value >= threshold
    if comparator == "GT":
        return value > threshold
    if comparator == "LE":
        return value <= threshold
    if comparator == "LT":
        return value < threshold
    if comparator == "EQ":
        return abs(value - threshold) <= 1e-9 * max(1.0, abs(threshold))
    if comparator == "ABOUT":
        return abs(value - threshold) <= ABOUT_TOLERANCE * abs(threshold)
    if comparator == "RANGE":
        return value >= threshold
    return None


def judge(definition: Mapping[str, Any], value: float) -> bool | None:
    """``value`` against an indicator's target, by its comparison: a phased floor ("tối thiểu 80–90 %") is met at
    its lower figure; a band ("khoảng 1–1,5 %", "từ … đến …") between its figures; otherwise by the comparator."""
    low, high = definition.get("threshold"), definition.get("threshold_max")
    comparison = definition.get("comparison")
    if comparison == "PHASED_FLOOR" and low is not None:
        return bool(value > low) if definition["comparator"] == "GT" else bool(value >= low)
    return meets(definition["comparator"], low, high, value)


def meets_plan(definition: Mapping[str, Any] | None, value: float) -> bool | None:
    """A reported value against the plan's target for the indicator (None: unknown indicator or no target)."""
    if definition is None:
        return None
    return judge(definition, value)


def meets_own(definition: Mapping[str, Any] | None, value: float | None, target: float) -> bool:
    """A reported value against the unit's own registered target: a floor, a ceiling where lower is better."""
    if value is None:
        return False
    if definition is not None and definition["comparator"] in LOWER_IS_BETTER:
        return value <= target
    return value >= target


def subtree_value(agg: str, reports: int, total: float) -> float | None:
    """The subtree's value of an indicator: the mean or the sum of the units' values (None for SHARE or none)."""
    if reports == 0 or agg == SHARE:
        return None
    return total / reports if agg == MEAN else total
