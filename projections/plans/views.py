"""JSON views of the plans read model for the API, with Vietnamese labels beside the codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.awards.views import form_name, unit
from services.api.labels import OCCASIONS, label
from services.registry.handlers import SUBJECT_CATEGORIES

STATUSES = {"DRAFT": "Dự thảo", "ISSUED": "Đã ban hành"}
REVIEWS = {"SO_KET": "Sơ kết", "TONG_KET": "Tổng kết"}
PERIODS = {"ANNUAL": "Hằng năm", "SO_KET": "Sơ kết", "TONG_KET": "Tổng kết", "UNSPECIFIED": "Không nêu kỳ báo cáo"}
PSEUDO_FORMS = {
    "BY_AUTHORITY": "Khen thưởng theo thẩm quyền",
    "CAP_TREN": "Đề nghị cấp trên khen thưởng",
    "HCLD": "Huân chương Lao động (các hạng)",
}
COMPARATORS = {"GE": "≥", "GT": ">", "LE": "≤", "LT": "<", "EQ": "=", "RANGE": "từ … đến …", "ABOUT": "khoảng"}


def document_label(row: dict[str, Any]) -> str:
    """Số/ký hiệu, e.g. 220/KH-UBND; a draft shows …/KH-UBND."""
    return f"{row['document_number'] or '…'}/{row['document_symbol']}"


def _period(phases: list[dict[str, Any]]) -> dict[str, str] | None:
    if not phases:
        return None
    return {"start_date": min(p["start_date"] for p in phases), "end_date": max(p["end_date"] for p in phases)}


def summary(r: dict[str, Any]) -> dict[str, Any]:
    """A plan as listed: document, status, issuer, dates, counts of amendments, criteria, indicators, warnings."""
    return {
        "plan_id": r["plan_id"],
        "document_number": r["document_number"],
        "document_symbol": r["document_symbol"],
        "document_label": document_label(r),
        "issue_date": r["issue_date"],
        "status": r["status"],
        "status_label": label(STATUSES, r["status"]),
        "title": r["title"],
        "issuer": unit(r["issuer_code"], r["issuer_path"], r["issuer_name"], r["issuer_level"]),
        "registered_at": r["registered_at"],
        "plan_deadline": r["plan_deadline"],
        "period": _period(r["phases"]),
        "implements": r["implements"],
        "amendments": r["amendments"],
        "criteria_count": r.get("criteria_count", 0),
        "indicator_count": r.get("indicator_count", 0),
        "warning_count": r["warning_count"] + r.get("criteria_warning_count", 0),
    }


def deadline_label(duty: dict[str, Any]) -> str:
    """The duty's deadline in words, e.g. "Trước ngày 01/12 hằng năm"."""
    kind, day, month = duty["deadline_kind"], duty.get("deadline_day"), duty.get("deadline_month")
    if kind in ("BEFORE_DAY_OF_YEAR", "BY_DAY_OF_YEAR") and day and month:
        word = "Trước ngày" if kind == "BEFORE_DAY_OF_YEAR" else "Đến ngày"
        return f"{word} {day:02d}/{month:02d} hằng năm"
    if kind == "BY_DATE" and duty.get("deadline_date"):
        return f"Đến ngày {date.fromisoformat(duty['deadline_date']):%d/%m/%Y}"
    return "Không nêu thời hạn"


def target_label(ind: dict[str, Any]) -> str | None:
    """The indicator's target in words, e.g. "≥ 95 %" or "từ 10 đến 20 %"."""
    low, high, unit_of = ind.get("threshold"), ind.get("threshold_max"), ind.get("unit") or ""
    if low is None:
        return None
    if ind["comparator"] == "RANGE" and high is not None:
        return f"từ {low:g} đến {high:g} {unit_of}".strip()
    return f"{COMPARATORS.get(ind['comparator'], ind['comparator'])} {low:g} {unit_of}".strip()


def _criteria(c: dict[str, Any]) -> dict[str, Any]:
    items = [
        item | {"indicators": [i | {"target_label": target_label(i)} for i in item.get("indicators") or []]}
        for item in c["items"]
    ]
    return {
        "criteria_id": c["criteria_id"],
        "owner": unit(c["owner_code"], c["owner_path"], c["owner_name"]),
        "subject_category": c["subject_category"],
        "subject_category_label": label(SUBJECT_CATEGORIES, c["subject_category"]),
        "registered_at": c["occurred_at"],
        "indicator_count": c["indicator_count"],
        "items": items,
        "warnings": c["warnings"],
    }


def _award_form(allowance: dict[str, Any], on: date) -> dict[str, Any]:
    code = allowance["form_code"]
    return allowance | {
        "occasion_label": label(OCCASIONS, allowance["occasion"]),
        "form_name": PSEUDO_FORMS.get(code) or form_name(code, on),
    }


def _chain_entry(entry: dict[str, Any]) -> dict[str, Any]:
    plan = entry["plan"]
    known = {"document_label": document_label(plan), "title": plan["title"], "status": plan["status"]} if plan else {}
    issuer = unit(plan["issuer_code"], plan["issuer_path"], plan["issuer_name"], plan["issuer_level"]) if plan else None
    return {"plan_id": entry["plan_id"], "depth": entry["depth"], "known": plan is not None, "issuer": issuer} | known


def detail(r: dict[str, Any], chain: list[dict[str, Any]], children: list[dict[str, Any]]) -> dict[str, Any]:
    """A plan in full: phases, duties, award forms, criteria with indicators and warnings, parents and children."""
    on = r["issue_date"] or r["registered_at"].date()
    return summary(r) | {
        "signer": {"name": r["signer_name"], "capacity": r["signer_capacity"]},
        "numbered_at": r["numbered_at"],
        "amended_at": r["amended_at"],
        "phases": [p | {"review_label": label(REVIEWS, p.get("review"))} for p in r["phases"]],
        "content_areas": r["content_areas"],
        "duties": [
            d | {"period_label": label(PERIODS, d["period"]), "deadline_label": deadline_label(d)} for d in r["duties"]
        ],
        "award_forms": [_award_form(a, on) for a in r["award_forms"]],
        "criteria_owners": r["criteria_owners"],
        "warnings": r["warnings"],
        "criteria": [_criteria(c) for c in r["criteria"]],
        "amendment_history": r["amendment_history"],
        "parent_chain": [_chain_entry(e) for e in chain],
        "implemented_by": [
            {"plan_id": c["plan_id"], "document_label": document_label(c), "status": c["status"], "title": c["title"]}
            for c in children
        ],
    }
