"""Pure mappings from plan, unit and criteria events to the fact rows the rollup keeps."""

from __future__ import annotations

from typing import Any

from services.kernel.contracts import CriteriaRegistered, Indicator, IndicatorCondition, OrgUnitRegistered, PlanIssued

from .expectations import EXPECTED_KINDS, duty_scope, duty_to_json, plan_periods
from .measures import aggregation


def unit_row(event: OrgUnitRegistered) -> dict[str, Any]:
    """A registered unit: its path, level, kind (unit_kind) and name."""
    d = event.data
    return {
        "path": d["unit"]["path"],
        "code": d["unit"]["code"],
        "parent_path": d["parent_path"],
        "level": d["unit"]["level"],
        "kind": d["unit_kind"],
        "name": d["name"],
        "agency_type": d.get("agency_type"),
        "emulation_bloc": d.get("emulation_bloc"),
    }


def plan_row(event: PlanIssued) -> dict[str, Any]:
    """A plan as the rollup needs it."""
    d = event.data
    issuer = d["issuer"]["path"]
    return {
        "plan_id": d["plan_id"],
        "issuer_path": issuer,
        "issuer_parent_path": issuer.rsplit("/", 1)[0] if "/" in issuer else None,
        "title": d["title"],
        "document_number": d["document_number"],
        "document_symbol": d["document_symbol"],
        "issue_date": d["issue_date"] if d["document_number"] else None,  # a draft is not issued yet
        "plan_deadline": d["plan_deadline"],
        "implements": list(d["implements"]),
        "periods": plan_periods(d["phases"]),
        "version": int(event.meta["stream_version"]),
    }


def duty_rows(event: PlanIssued) -> list[dict[str, Any]]:
    """The plan's duties for periods a report is expected in (ANNUAL, SO_KET, TONG_KET), in their order."""
    d = event.data
    issuer = d["issuer"]["path"]
    return [
        {
            "plan_id": d["plan_id"],
            "seq": seq,
            "duty": duty_to_json(duty),
            "period_kind": duty["period"],
            "scope_path": duty_scope(duty, issuer),
        }
        for seq, duty in enumerate(d["reporting_duties"])
        if duty["period"] in EXPECTED_KINDS
    ]


def indicator_rows(event: CriteriaRegistered) -> list[dict[str, Any]]:
    """Each indicator of a criteria set with its item, subject category and aggregation rule, then each of its
    conditions ("trong đó ≥ 50 % gắn với doanh nghiệp") as a measure of its own, reported under its code."""
    d = event.data
    context = {"criteria_id": d["criteria_id"], "subject_category": d["subject_category"]}
    rows = []
    for item in d["items"]:
        where = {**context, "item_code": item["code"], "item_title": item["title"]}
        for indicator in item["indicators"]:
            rows.append({**indicator, **where, "aggregation": aggregation(indicator.get("unit"))})
            for condition in indicator.get("conditions") or []:
                rows.append(_condition_row(indicator, condition, where))
    return rows


def _condition_row(parent: Indicator, condition: IndicatorCondition, where: dict[str, Any]) -> dict[str, Any]:
    return {
        **condition,
        **where,
        "parent_code": parent["code"],
        "year": parent.get("year"),
        "horizon": parent.get("horizon"),
        "scope": parent.get("scope"),
        "recurrence": parent.get("recurrence"),
        "comparison": None,
        "aggregation": aggregation(condition.get("unit")),
    }
