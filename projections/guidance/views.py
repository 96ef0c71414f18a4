"""JSON views of the guidance sections, Vietnamese labels beside codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.awards import Authority, RouteStep
from services.awards.routing import Placement
from services.planning.occasions import plan_occasions
from services.planning.targets import COMPARISONS, RECURRENCES, SCOPES, comparison_of, scope_refusal
from services.registry.lookup import BLOC_KINDS
from services.registry.refdata import agency_types

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
        "agency_type": unit.agency_type,
        "agency_type_label": agency_types()[unit.agency_type].name_vi if unit.agency_type else None,
        "emulation_blocs": [{"code": c, "kind": k, "kind_label": BLOC_KINDS[k]} for c, k in unit.blocs],
    }


def _ref(ref: dict[str, Any]) -> dict[str, Any]:
    return {"code": ref["code"], "path": ref["path"], "name": ref.get("name"), "level": ref["level"]}


def plan_view(plan: dict[str, Any], unit: UnitFacts, on: date) -> dict[str, Any]:
    """One plan of the chain above (or of) the unit."""
    phases, period = plan["phases"], plan.get("period")
    span = (min(p["start_date"] for p in phases), max(p["end_date"] for p in phases)) if phases else None
    if span is None and period:
        span = (period["start_date"], period["end_date"])
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
        "occasions": [occasion_view(o.as_dict()) for o in plan_occasions(phases)],
        "period": plan.get("period"),
        "in_force": None if span is None else span[0] <= on.isoformat() <= span[1],
        "plan_deadline": iso(plan["plan_deadline"]),
        "amendments": plan["amendments"],
    }


def occasion_view(occasion: dict[str, Any]) -> dict[str, Any]:
    """A sơ kết / tổng kết with its dates and label."""
    return {**occasion, "kind_label": L.label(L.REVIEWS, occasion["kind"])}


def indicator_view(
    indicator: dict[str, Any], unit: UnitFacts | None = None, issuer_path: str | None = None
) -> dict[str, Any]:
    """An indicator with labels for its comparator, comparison, scope and recurrence, and (for a unit) whether the
    target is the unit's own to register."""
    comparison = comparison_of(indicator)
    scope = indicator.get("scope")
    found = {
        **indicator,
        "comparator_label": L.label(L.COMPARATORS, indicator["comparator"]),
        "comparison": comparison,
        "comparison_label": L.label(COMPARISONS, comparison),
        "scope_label": L.label(SCOPES, scope),
        "recurrence_label": L.label(RECURRENCES, indicator.get("recurrence")),
    }
    if unit is not None and issuer_path is not None:
        found["applies_to_unit"] = scope_refusal(indicator, issuer_path, unit.as_org_unit()) is None
    return found


def criteria_view(
    criteria: dict[str, Any], unit: UnitFacts | None = None, issuer_path: str | None = None
) -> dict[str, Any]:
    """A criteria set with its items and indicators (for a unit: which targets are its own)."""
    items = [
        {**item, "indicators": [indicator_view(i, unit, issuer_path) for i in item["indicators"]]}
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
    """Indicators of every criteria set and their conditions (LC-26.1), by (plan id, code)."""
    found = {}
    for c in criteria:
        for item in c["items"]:
            for i in item["indicators"]:
                where = {"criteria_id": c["criteria_id"], "item_code": item["code"]}
                found[(c["plan_id"], i["code"])] = {**i, **where}
                for x in i.get("conditions") or []:
                    found[(c["plan_id"], x["code"])] = {**x, **where, "parent_code": i["code"], "scope": i.get("scope")}
    return found


def target_view(
    row: dict[str, Any], indicators: dict[tuple[str, str], dict[str, Any]], chain: list[str]
) -> dict[str, Any]:
    """A registration with each target beside the indicator it answers (searched up the plan chain)."""

    def indicator(code: str) -> dict[str, Any] | None:
        plans = [row["plan_id"], *reversed(chain)]  # the registration's plan first, then up the chain
        found = next((indicators[(p, code)] for p in plans if (p, code) in indicators), None)
        return indicator_view(found) if found else None

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
        "occasion": occasion_view(period.occasion.as_dict()) if period.occasion else None,
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
        "reporter_member_of": duty.get("reporter_member_of"),
        "reporter_agency": duty.get("reporter_agency"),
        "receiver_agencies": duty.get("receiver_agencies") or [],
        "current": _period_view(schedule["current"]),
        "next": _period_view(schedule["next"]),
        "overdue": [_period_view(e) for e in schedule["overdue"]],
    }


def _step_view(step: RouteStep, where: Placement, names: dict[str, str | None]) -> dict[str, Any]:
    path = where.seat_path(step)
    return {
        "level": str(step.level),
        "level_label": L.label(L.LEVELS, str(step.level)) or step.level.label_vi,
        "role": str(step.role),
        "role_label": L.label(L.ROLES, str(step.role)),
        "authority": str(step.authority),
        "authority_label": Authority(step.authority).label_vi,
        "org_unit": {"path": path, "name": names.get(path)},
    }


def offer_view(
    offer: Offer, where: Placement, names: dict[str, str | None], occasions: list[dict[str, Any]]
) -> dict[str, Any]:
    """An award form the unit may propose: its kind, the occasion (with its dates), the decider and the route."""
    route = [_step_view(s, where, names) for s in offer.steps]
    return {
        "plan_id": offer.plan_id,
        "occasion": offer.occasion,
        "occasion_label": L.label(L.OCCASIONS, offer.occasion),
        "occasions": [occasion_view(o) for o in occasions if o["kind"] == offer.occasion],
        "basis": offer.basis,
        "basis_label": L.allowance_label(offer.basis),
        "plan_text": offer.text,
        "form_code": offer.form.form_code,
        "form_name": offer.form.name_vi,
        "form_kind": str(offer.form.kind),
        "form_kind_label": L.FORM_KINDS[str(offer.form.kind)],
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
