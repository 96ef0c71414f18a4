"""JSON views of the guidance sections, Vietnamese labels beside codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.awards import Authority, RouteStep
from services.awards.routing import level_path

from . import labels as L
from .duties import Period
from .offers import Offer
from .units import UnitFacts


def iso(value: date | datetime | None) -> str | None:
    """ISO text of a date or a datetime (naive datetimes are UTC, as stored)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat() if value is not None else None


def unit_view(unit: UnitFacts) -> dict[str, Any]:
    """The unit the guidance is for."""
    return {
        "code": unit.code,
        "path": unit.path,
        "name": unit.name,
        "level": unit.level,
        "level_label": L.label(L.LEVELS, unit.level),
        "kind": unit.kind,
        "kind_label": L.label(L.KINDS, unit.kind),
        "subject_category": unit.subject_category,
        "subject_category_label": L.label(L.SUBJECT_CATEGORIES, unit.subject_category),
        "emulation_bloc": unit.emulation_bloc,
    }


def _ref(ref: dict[str, Any]) -> dict[str, Any]:
    return {"code": ref["code"], "path": ref["path"], "name": ref.get("name"), "level": ref["level"]}


def plan_view(plan: dict[str, Any], unit: UnitFacts, on: date) -> dict[str, Any]:
    """One plan of the chain above (or of) the unit."""
    phases = plan["phases"]
    span = (min(p["start_date"] for p in phases), max(p["end_date"] for p in phases)) if phases else None
    number = plan["document_number"]
    return {
        "plan_id": plan["plan_id"],
        "document": f"{number}/{plan['document_symbol']}" if number else None,
        "document_symbol": plan["document_symbol"],
        "issue_date": iso(plan["issue_date"]),
        "draft": number is None,
        "status_label": "Dự thảo" if number is None else "Đã ban hành",
        "title": plan["title"],
        "issuer": {**_ref(plan["issuer"]), "level_label": L.label(L.LEVELS, plan["issuer"]["level"])},
        "own": plan["issuer_path"] == unit.path,
        "implements": plan["implements"],
        "phases": [{**p, "review_label": L.label(L.REVIEWS, p.get("review"))} for p in phases],
        "in_force": None if span is None else span[0] <= on.isoformat() <= span[1],
        "plan_deadline": iso(plan["plan_deadline"]),
        "amendments": plan["amendments"],
    }


def criteria_view(criteria: dict[str, Any]) -> dict[str, Any]:
    """A criteria set with its items and indicators."""
    items = [
        {
            **item,
            "indicators": [
                {**i, "comparator_label": L.label(L.COMPARATORS, i["comparator"])} for i in item["indicators"]
            ],
        }
        for item in criteria["items"]
    ]
    return {
        "criteria_id": criteria["criteria_id"],
        "plan_id": criteria["plan_id"],
        "subject_category": criteria["subject_category"],
        "subject_category_label": L.label(L.SUBJECT_CATEGORIES, criteria["subject_category"]),
        "owner": _ref(criteria["owner"]),
        "items": items,
    }


def indicator_index(criteria: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Indicators of every criteria set, by (plan id, indicator code)."""
    return {
        (c["plan_id"], i["code"]): {**i, "criteria_id": c["criteria_id"], "item_code": item["code"]}
        for c in criteria
        for item in c["items"]
        for i in item["indicators"]
    }


def target_view(
    row: dict[str, Any], indicators: dict[tuple[str, str], dict[str, Any]], chain: list[str]
) -> dict[str, Any]:
    """A registration with each target beside the indicator it answers (searched up the plan chain)."""

    def indicator(code: str) -> dict[str, Any] | None:
        plans = [row["plan_id"], *reversed(chain)]  # the registration's plan first, then up the chain
        found = next((indicators[(p, code)] for p in plans if (p, code) in indicators), None)
        return {**found, "comparator_label": L.label(L.COMPARATORS, found["comparator"])} if found else None

    return {
        "plan_id": row["plan_id"],
        "year": row["year"],
        "registration_id": row["registration_id"],
        "registered_at": iso(row["registered_at"]),
        "targets": [{**t, "indicator": indicator(t["indicator_code"])} for t in row["targets"]],
    }


def _period_view(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    period: Period = entry["period"]
    report = entry["report"]
    return {
        "period": period.period,
        "deadline": iso(period.deadline),
        "state": entry["state"],
        "state_label": L.DUTY_STATES[entry["state"]],
        "report": None
        if report is None
        else {
            "report_id": report["report_id"],
            "version": report["report_version"],
            "submitted_at": iso(report["submitted_at"]),
            "late": report["late"],
            "review": report["outcome"],
            "review_label": L.label(L.REVIEW_OUTCOMES, report["outcome"]) or L.AWAITING_REVIEW,
        },
    }


def duty_view(plan_id: str, duty: dict[str, Any], schedule: dict[str, Any]) -> dict[str, Any]:
    """A binding duty with its current and next periods and the overdue ones."""
    return {
        "plan_id": plan_id,
        "code": duty["code"],
        "who": duty["who"],
        "text": duty["text"],
        "period_kind": duty["period"],
        "period_kind_label": L.label(L.PERIOD_KINDS, duty["period"]),
        "deadline_kind": duty["deadline_kind"],
        "deadline_kind_label": L.label(L.DEADLINE_KINDS, duty["deadline_kind"]),
        "to": duty["to"],
        "via": duty["via"],
        "current": _period_view(schedule["current"]),
        "next": _period_view(schedule["next"]),
        "overdue": [_period_view(e) for e in schedule["overdue"]],
    }


def _step_view(step: RouteStep, unit: UnitFacts, names: dict[str, str | None]) -> dict[str, Any]:
    path = level_path(step.level, unit.path)
    return {
        "level": str(step.level),
        "level_label": L.label(L.LEVELS, str(step.level)) or step.level.label_vi,
        "role": str(step.role),
        "role_label": L.label(L.ROLES, str(step.role)),
        "authority": str(step.authority),
        "authority_label": Authority(step.authority).label_vi,
        "org_unit": {"path": path, "name": names.get(path)},
    }


def offer_view(offer: Offer, unit: UnitFacts, names: dict[str, str | None]) -> dict[str, Any]:
    """An award form the unit may propose, with the deciding authority and the route."""
    route = [_step_view(s, unit, names) for s in offer.steps]
    return {
        "plan_id": offer.plan_id,
        "occasion": offer.occasion,
        "occasion_label": L.label(L.OCCASIONS, offer.occasion),
        "basis": offer.basis,
        "basis_label": L.ALLOWANCE_BASES.get(offer.basis, L.ALLOWANCE_BASES["NAMED"]),
        "plan_text": offer.text,
        "form_code": offer.form.form_code,
        "form_name": offer.form.name_vi,
        "subjects": [{"code": s, "label": L.SUBJECTS[s]} for s in offer.subjects],
        "decider": {k: route[-1][k] for k in ("authority", "authority_label", "level", "level_label", "org_unit")},
        "route": route,
    }


def document_view(document: dict[str, Any]) -> dict[str, Any]:
    """A guidance document addressed to a subtree holding the unit."""
    return {
        "guidance_id": document["guidance_id"],
        "title": document["title"],
        "document_number": document["document_number"],
        "issue_date": iso(document["issue_date"]),
        "summary": document["summary"],
        "issuer": _ref(document["issuer"]),
        "addressed_to": document["matched"],
        "issued_at": iso(document["issued_at"]),
    }
