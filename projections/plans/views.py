"""JSON views of the plans read model for the API, with Vietnamese labels beside the codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.awards.views import form_name, unit
from services.awards import load_authority_matrix
from services.kernel.labels import FORM_KINDS, OCCASIONS, SUBJECT_CATEGORIES, label
from services.kernel.vntime import business_day
from services.planning.occasions import plan_occasions
from services.planning.targets import COMPARISONS, RECURRENCES, SCOPES, comparison_of

STATUSES = {"DRAFT": "Dự thảo", "ISSUED": "Đã ban hành"}
REVIEWS = {"SO_KET": "Sơ kết", "TONG_KET": "Tổng kết"}
PERIODS = {"ANNUAL": "Hằng năm", "SO_KET": "Sơ kết", "TONG_KET": "Tổng kết", "UNSPECIFIED": "Không nêu kỳ báo cáo"}
COMPARATORS = {"GE": "≥", "GT": ">", "LE": "≤", "LT": "<", "EQ": "=", "RANGE": "từ … đến …", "ABOUT": "khoảng"}
RELATIONS = {"THUC_HIEN": "Thực hiện", "CAN_CU": "Căn cứ", "TRIEN_KHAI": "Triển khai", "GAN_VOI": "Gắn với"}


def document_label(row: dict[str, Any]) -> str:
    """Số/ký hiệu, e.g. 220/KH-UBND; a draft shows …/KH-UBND."""
    return f"{row['document_number'] or '…'}/{row['document_symbol']}"


def _period(r: dict[str, Any]) -> dict[str, Any] | None:
    """The phases' span; without phases, the span the plan states (a plan known only from citations)."""
    phases = r["phases"]
    if not phases:
        return r.get("period")
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
        "period": _period(r),
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
    """The indicator's target in words, e.g. "≥ 95 %", "từ 10 đến 20 %", "tối thiểu 80 %, nâng dần đến 90 %"."""
    low, high, unit_of = ind.get("threshold"), ind.get("threshold_max"), ind.get("unit") or ""
    if low is None:
        return None
    comparison = comparison_of(ind)
    if comparison == "PHASED_FLOOR" and high is not None:
        return f"tối thiểu {low:g} {unit_of}, nâng dần đến {high:g} {unit_of}".replace("  ", " ").strip()
    if comparison in ("BAND", "APPROX_BAND") and high is not None:
        word = "khoảng " if comparison == "APPROX_BAND" else ""
        return f"{word}từ {low:g} đến {high:g} {unit_of}".strip()
    return f"{COMPARATORS.get(ind['comparator'], ind['comparator'])} {low:g} {unit_of}".strip()


def indicator(i: dict[str, Any]) -> dict[str, Any]:
    """An indicator with its target in words and labels for whose it is, how it is compared, how often."""
    comparison = comparison_of(i)
    return i | {
        "target_label": target_label(i),
        "comparison": comparison,
        "comparison_label": label(COMPARISONS, comparison),
        "scope_label": label(SCOPES, i.get("scope")),
        "recurrence_label": label(RECURRENCES, i.get("recurrence")),
        "conditions": [c | {"target_label": target_label(c)} for c in i.get("conditions") or []],
    }


def _criteria(c: dict[str, Any]) -> dict[str, Any]:
    items = [item | {"indicators": [indicator(i) for i in item.get("indicators") or []]} for item in c["items"]]
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
    """An allowance with its form's name and kind, or, for a code naming no single form, the forms it stands for."""
    code, matrix = allowance["form_code"], load_authority_matrix()
    pseudo = matrix.allowances.get(code)
    if pseudo is not None:
        return allowance | {
            "occasion_label": label(OCCASIONS, allowance["occasion"]),
            "form_name": pseudo.label_vi,
            "form_kind": None,
            "form_kind_label": None,
            "means": list(pseudo.members),
            "legal_basis": pseudo.basis.cite(),
        }
    kinds = {f.form_code: str(f.kind) for f in matrix.forms}
    return allowance | {
        "occasion_label": label(OCCASIONS, allowance["occasion"]),
        "form_name": form_name(code, on),
        "form_kind": kinds.get(code),
        "form_kind_label": label(FORM_KINDS, kinds.get(code)),
        "means": [code],
        "legal_basis": None,
    }


def _reference(ref: dict[str, Any]) -> dict[str, Any]:
    return ref | {"relation_label": label(RELATIONS, ref.get("relation"))}


def _chain_entry(entry: dict[str, Any]) -> dict[str, Any]:
    plan = entry["plan"]
    known = {"document_label": document_label(plan), "title": plan["title"], "status": plan["status"]} if plan else {}
    issuer = unit(plan["issuer_code"], plan["issuer_path"], plan["issuer_name"], plan["issuer_level"]) if plan else None
    return {"plan_id": entry["plan_id"], "depth": entry["depth"], "known": plan is not None, "issuer": issuer} | known


def detail(r: dict[str, Any], chain: list[dict[str, Any]], children: list[dict[str, Any]]) -> dict[str, Any]:
    """A plan in full: phases, duties, award forms, criteria with indicators and warnings, parents and children."""
    on = r["issue_date"] or business_day(r["registered_at"])
    return summary(r) | {
        "issuer_name_printed": r["issuer_name_printed"],
        "signer": {"name": r["signer_name"], "capacity": r["signer_capacity"]},
        "numbered_at": r["numbered_at"],
        "amended_at": r["amended_at"],
        "phases": [p | {"review_label": label(REVIEWS, p.get("review"))} for p in r["phases"]],
        "occasions": [o.as_dict() | {"kind_label": label(REVIEWS, o.kind)} for o in plan_occasions(r["phases"])],
        "references": [_reference(x) for x in r["document_references"]],
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
