"""Events in words, for recent activity and the audit page: what happened (Vietnamese label), to what, and which
document it rests on (a decision, a plan's number)."""

from __future__ import annotations

from typing import Any

from services.kernel.codec import AvroCodec
from services.kernel.store import StoredEvent

from .formats import day

LABELS = {
    "PlanIssued": "Ban hành kế hoạch",
    "PlanNumberAssigned": "Cấp số kế hoạch",
    "PlanAmended": "Sửa đổi kế hoạch",
    "CriteriaRegistered": "Đăng ký tiêu chí",
    "GuidanceIssued": "Ban hành hướng dẫn",
    "OrgUnitRegistered": "Đăng ký đơn vị",
    "TargetsRegistered": "Đăng ký thi đua",
    "ReportSubmitted": "Nộp báo cáo",
    "ReportReviewed": "Thẩm định báo cáo",
    "AwardProposed": "Đề nghị khen thưởng",
    "AwardForwarded": "Trình hồ sơ khen thưởng",
    "AwardReturned": "Trả lại hồ sơ khen thưởng",
    "AwardDecided": "Quyết định khen thưởng",
    "CheckpointSigned": "Ký điểm kiểm tra nhật ký",
}
RECENT_WINDOW = 50_000  # recent activity looks this far back from the head (bounded, whatever the subtree's size)


def _name(ref: Any) -> str | None:
    return ref.get("name") or ref.get("code") if isinstance(ref, dict) else None


def subject(kind: str, data: dict[str, Any]) -> str:
    """What the event is about, in a few words."""
    if kind.startswith("Report") or kind == "TargetsRegistered":
        unit = _name(data.get("unit")) or data.get("report_id") or data.get("registration_id")
        period = data.get("period") or data.get("year")
        return f"{unit} · {period}" if period and unit else str(unit or "")
    if kind.startswith("Award"):
        nominee = data.get("nominee") or {}
        return f"{data.get('form_code', '')} · {nominee.get('name') or data.get('proposal_id')}".strip(" ·")
    if kind.startswith("Plan") or kind == "CriteriaRegistered":
        return str(data.get("title") or data.get("plan_id") or "")
    if kind == "OrgUnitRegistered":
        return str(data.get("name") or _name(data.get("unit")) or "")
    return str(data.get("title") or "")


def link(kind: str, data: dict[str, Any]) -> str | None:
    """The page of what the event is about: the proposal, the unit, the plan."""
    if data.get("proposal_id"):
        return f"/khen-thuong/{data['proposal_id']}"
    unit = data.get("unit") if isinstance(data.get("unit"), dict) else None
    if unit and unit.get("code"):
        return f"/don-vi/{unit['code']}"
    if kind == "ReportReviewed" and str(data.get("report_id", "")).count(":") == 2:
        return f"/don-vi/{data['report_id'].split(':')[1]}"
    if data.get("plan_id"):
        return f"/ke-hoach/{data['plan_id']}"
    return None


def document(kind: str, data: dict[str, Any]) -> str | None:
    """The document the event records, as officials write it: ``Số 3105/QĐ-UBND ngày 28/12/2026``."""
    if data.get("decision_number"):
        return f"Số {data['decision_number']} ngày {day(data.get('decision_date'))}"
    if data.get("document_number") and data.get("document_symbol"):
        when = f" ngày {day(data['issue_date'])}" if data.get("issue_date") else ""
        return f"Số {data['document_number']}/{data['document_symbol']}{when}"
    return None


def describe(stored: StoredEvent, codec: AvroCodec) -> dict[str, Any]:
    """An event for people: position, when, who, what, about what, which document."""
    datum = codec.decode(stored.body).datum
    meta, kind = datum.get("meta", {}), stored.event_type
    actor = meta.get("actor") or {}
    return {
        "position": stored.position,
        "stream_id": stored.stream_id,
        "version": stored.stream_version,
        "event_type": kind,
        "label": LABELS.get(kind, kind),
        "subject": subject(kind, datum),
        "document": document(kind, datum),
        "href": link(kind, datum),
        "occurred_at": stored.occurred_at,
        "recorded_at": stored.recorded_at,
        "org_unit_path": stored.org_unit_path,
        "actor": actor.get("display_name") or stored.actor_id,
        "actor_kind": actor.get("kind"),
        "node_id": stored.node_id,
        "hash": stored.hash.hex(),
    }
