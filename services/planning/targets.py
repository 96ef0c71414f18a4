"""Targets (chỉ tiêu): whose they are (scope), how a value is compared with them, how often they recur.

* ``scope``: PROVINCE — one figure for the issuer's whole territory ("toàn tỉnh": PII rank, 5G coverage), held by
  the issuer and its own agencies, never given to each commune; PER_COMMUNE — each xã/phường ("mỗi địa phương");
  PER_UNIT — each unit of ``scope_kinds`` ("mỗi sở, ban, ngành, địa phương, DNNN, ĐVSN"). None: not stated (old
  criteria): anyone may register it.
* ``comparison``: FLOOR (≥, >), CEILING (≤, <), EXACT (=), BAND (from … to …), APPROX ("khoảng"), APPROX_BAND
  ("khoảng 1–1,5 %"), PHASED_FLOOR ("tối thiểu 80–90 %": a floor that the plan raises over its phases; a value at
  or above the lower figure meets it, the upper figure is the floor at the end).
* ``recurrence``: ANNUAL ("hằng năm", "mỗi năm"): judged every year; None: by ``year`` or the ``horizon``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.kernel.errors import DomainRefusal, Kind
from services.registry.lookup import OrgUnit

SCOPES = {
    "PROVINCE": "Chỉ tiêu chung toàn tỉnh (của tỉnh, không giao từng xã)",
    "PER_COMMUNE": "Chỉ tiêu của từng xã, phường",
    "PER_UNIT": "Chỉ tiêu của từng cơ quan, đơn vị",
}
COMPARISONS = {
    "FLOOR": "Tối thiểu",
    "CEILING": "Tối đa",
    "EXACT": "Bằng",
    "BAND": "Trong khoảng",
    "APPROX": "Khoảng",
    "APPROX_BAND": "Khoảng (từ … đến …)",
    "PHASED_FLOOR": "Tối thiểu, nâng dần theo giai đoạn",
}
RECURRENCES = {"ANNUAL": "Hằng năm"}
_DEFAULT = {"GE": "FLOOR", "GT": "FLOOR", "LE": "CEILING", "LT": "CEILING", "EQ": "EXACT", "RANGE": "BAND"}


def comparison_of(indicator: dict[str, Any]) -> str | None:
    """The indicator's comparison: the one stated, else the one its comparator implies."""
    if indicator.get("comparison"):
        return str(indicator["comparison"])
    if indicator["comparator"] == "ABOUT":
        return "APPROX_BAND" if indicator.get("threshold_max") is not None else "APPROX"
    return _DEFAULT.get(indicator["comparator"])


def problems(indicator: dict[str, Any]) -> list[str]:
    """What is inconsistent in an indicator's scope, comparison and recurrence (English, for the refusal)."""
    found = []
    if indicator.get("scope") not in (None, *SCOPES):
        found.append(f"unknown scope {indicator['scope']}")
    if indicator.get("recurrence") not in (None, *RECURRENCES):
        found.append(f"unknown recurrence {indicator['recurrence']}")
    comparison = comparison_of(indicator)
    if comparison not in COMPARISONS:
        found.append(f"unknown comparison {comparison}")
    low, high = indicator.get("threshold"), indicator.get("threshold_max")
    if comparison == "PHASED_FLOOR" and (indicator["comparator"] not in ("GE", "GT") or high is None or low is None):
        found.append("a phased floor needs comparator GE/GT and both figures")
    if low is not None and high is not None and high < low:
        found.append("threshold_max below threshold")
    if indicator.get("scope") != "PER_UNIT" and indicator.get("scope_kinds"):
        found.append("scope_kinds only with scope PER_UNIT")
    return found


def scope_refusal(indicator: Mapping[str, Any], issuer_path: str, unit: OrgUnit) -> DomainRefusal | None:
    """A refusal when ``unit`` registers a target that is not its own (scope), else None."""
    scope, path, level = indicator.get("scope"), unit.path.value, unit.ref["level"]
    if scope is None:
        return None
    if scope == "PROVINCE":
        ok = path == issuer_path or (level == "UNIT" and path.rsplit("/", 1)[0] == issuer_path)
    elif scope == "PER_COMMUNE":
        ok = level == "COMMUNE"
    else:
        ok = level != "PROVINCE" and unit.is_of_kind(list(indicator.get("scope_kinds") or []))
    if ok:
        return None
    return DomainRefusal(
        "TARGET_NOT_FOR_UNIT",
        Kind.INVALID,
        f"Chỉ tiêu {indicator['code']} là {SCOPES[scope].lower()}: {unit.ref.get('name') or path} không đăng ký "
        "chỉ tiêu này.",
        f"Indicator {indicator['code']} has scope {scope}: {path} cannot register it.",
        indicator=indicator["code"],
        scope=scope,
        unit=path,
    )
