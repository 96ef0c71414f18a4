"""Pure shaping of rollup rows for the API: rates (DHIS2 style), indicator values, child-plan states, labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from services.reporting.model import period_kind

from .codes import COMPARED, IDENTITY
from .measures import AGGREGATIONS, judge, subtree_value

PERIOD_KINDS = {"ANNUAL": "Năm", "SO_KET": "Sơ kết", "TONG_KET": "Tổng kết"}
DEFINITION_KEYS = (
    "name",
    "unit",
    "comparator",
    "comparison",
    "threshold",
    "threshold_max",
    "year",
    "horizon",
    "recurrence",
    "scope",
    "item_code",
    "item_title",
)
PLAN_STATES = {
    "ON_TIME": "Đã ban hành đúng hạn",
    "LATE": "Ban hành quá hạn",
    "ISSUED": "Đã ban hành (không nêu hạn)",
    "DRAFT": "Dự thảo, chưa ban hành",
    "NOT_ISSUED": "Chưa ban hành kế hoạch",
}
ISSUED_STATES = ("ON_TIME", "LATE", "ISSUED")


def period_label(period: str) -> str:
    """ "Năm 2026", "Sơ kết 2027", "Tổng kết 2030"."""
    kind, year = period_kind(period) or ("", 0)
    return f"{PERIOD_KINDS.get(kind, kind)} {year}"


def ratio(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places; None when nothing is expected."""
    return round(part / whole, 4) if whole else None


def reporting(c: Mapping[str, int]) -> dict[str, Any]:
    """Expected, submitted, missing, on time, late; reporting rate = submitted / expected, on-time rate = on time /
    expected reports whose duty states a deadline."""
    keys = ("expected", "submitted", "on_time", "late", "undated", "expected_dated", "accepted", "returned")
    return {
        **{k: c[k] for k in keys},
        "missing": c["expected"] - c["submitted"],
        "extra_submitted": c["extra_submitted"],
        "reporting_rate": ratio(c["submitted"], c["expected"]),
        "on_time_rate": ratio(c["on_time"], c["expected_dated"]),
    }


def registration(c: Mapping[str, int], period: str) -> dict[str, Any] | None:
    """Registrations (đăng ký thi đua) of the year against the units the plans bind; None outside a year."""
    if (period_kind(period) or ("",))[0] != "ANNUAL":
        return None
    return {
        "expected": c["expected"],
        "registered": c["registered"],
        "extra_registered": c["extra_registered"],
        "registration_rate": ratio(c["registered"], c["expected"]),
    }


def own_targets(c: Mapping[str, int]) -> dict[str, Any]:
    """Units with registered targets and the share whose latest report meets all of them."""
    return {"units": c["target_units"], "met": c["target_met"], "share": ratio(c["target_met"], c["target_units"])}


def indicator(row: Mapping[str, Any]) -> dict[str, Any]:
    """An indicator's subtree value (mean or sum by its rule), the share of units meeting the target."""
    d = row["definition"] or {}
    agg = d.get("aggregation")
    total = row["total_micro"] / 1_000_000
    value = subtree_value(agg, row["reports"], total) if agg else None
    keys = DEFINITION_KEYS
    return {
        "plan_id": row["plan_id"],
        "indicator_code": row["indicator_code"],
        "known": bool(d),
        **{k: d.get(k) for k in keys},
        "aggregation": agg,
        "aggregation_label": AGGREGATIONS.get(agg) if agg else None,
        "reports": row["reports"],
        "sum": total,
        "mean": total / row["reports"] if row["reports"] else None,
        "value": value,
        "meets_target": judge(d, value) if d and value is not None else None,
        "units_judged": row["judged"],
        "units_meeting": row["met"],
        "share_meeting": ratio(row["met"], row["judged"]),
    }


def agreed(variants: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Each compared field's value where every variant agrees (else None), and the fields that differ."""
    differing = [k for k in COMPARED if len({repr(v.get(k)) for v in variants}) > 1]
    first = variants[0] if variants else {}
    return {k: None if k in differing else first.get(k) for k in COMPARED}, differing


def indicator_by_code(row: Mapping[str, Any], variants: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An indicator summed over the subtree's plans, with the definition they resolve its code to. When the plans
    disagree on name, unit or aggregation (``consistent`` false) the fields that differ are null and so are the
    sum, mean and value (numbers of different quantities do not add up); the counts and the share of units meeting
    their own plan's target stand. ``meets_target`` needs one target: null when the targets differ."""
    shared, differing = agreed(variants)
    consistent = not set(differing) & set(IDENTITY)  # vacuously true for a code no plan defines (known false)
    agg = shared["aggregation"] if consistent else None
    total = row["total_micro"] / 1_000_000
    value = subtree_value(agg, row["reports"], total) if agg else None
    one_target = (
        consistent
        and shared["comparator"] is not None
        and not {"threshold", "threshold_max", "comparison"} & {*differing}
    )
    keys = DEFINITION_KEYS
    return {
        "indicator_code": row["indicator_code"],
        "plans": row["plans"],
        "known": bool(variants),
        "definitions": len(variants),
        "consistent": consistent,
        "differing": differing,
        **{k: shared[k] for k in keys},
        "aggregation": agg,
        "aggregation_label": AGGREGATIONS.get(agg) if agg else None,
        "reports": row["reports"],
        "sum": total if consistent else None,
        "mean": total / row["reports"] if consistent and row["reports"] else None,
        "value": value,
        "meets_target": judge(shared, value) if one_target and value is not None else None,
        "units_judged": row["judged"],
        "units_meeting": row["met"],
        "share_meeting": ratio(row["met"], row["judged"]),
    }


def plan_state(issue_date: date | None, deadline: date | None) -> str:
    """ON_TIME / LATE against the parent plan's deadline, ISSUED without one, DRAFT without an issue date."""
    if issue_date is None:
        return "DRAFT"
    if deadline is None:
        return "ISSUED"
    return "ON_TIME" if issue_date <= deadline else "LATE"


def child_plan(row: Mapping[str, Any]) -> dict[str, Any]:
    """One plan of a child: document, dates, the plans it implements and its state."""
    state = plan_state(row["issue_date"], row["deadline"])
    number = f"{row['document_number']}/{row['document_symbol']}" if row["document_number"] else None
    return {
        "plan_id": row["plan_id"],
        "issuer_path": row["issuer_path"],
        "title": row["title"],
        "document": number,
        "issue_date": _iso(row["issue_date"]),
        "implements": row["implements"],
        "deadline": _iso(row["deadline"]),
        "state": state,
        "state_label": PLAN_STATES[state],
    }


def best_state(plans: list[dict[str, Any]]) -> str:
    """A child's best plan state: on time, then issued, late, draft; NOT_ISSUED without any plan."""
    order = ("ON_TIME", "ISSUED", "LATE", "DRAFT")
    states = {p["state"] for p in plans}
    return next((s for s in order if s in states), "NOT_ISSUED")


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
