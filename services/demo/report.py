"""The demo's printed summary (Vietnamese labels), built from the event store, not from the demo's own notes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from services.awards import Authority
from services.bootstrap import Node
from services.demo.year import DemoSummary
from services.kernel.events import decode_event
from services.kernel.labels import AWARD_STATES, OCCASIONS, ROLES


def events_by_type(node: Node) -> dict[str, list[Any]]:
    """Every event of the node, decoded, grouped by type."""
    grouped: dict[str, list[Any]] = {}
    for stored in node.store.read_all(0, 1_000_000):
        event = decode_event(stored.body, node.codec, node.bus.types, stored.position)
        grouped.setdefault(event.NAME, []).append(event)
    return grouped


def award_states(events: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Each proposal with its route, holder and state, folded from the award events."""
    awards: dict[str, dict[str, Any]] = {}
    for e in events.get("AwardProposed", []):
        awards[e.data["proposal_id"]] = {**e.data, "state": "PENDING", "holder": 0, "decision": None}
    for e in events.get("AwardForwarded", []):
        awards[e.data["proposal_id"]]["holder"] += 1
    for e in events.get("AwardReturned", []):
        awards[e.data["proposal_id"]]["state"] = "RETURNED"
    for e in events.get("AwardDecided", []):
        award = awards[e.data["proposal_id"]]
        award["state"], award["decision"] = e.data["outcome"], e.data
    return awards


def render(node: Node, summary: DemoSummary, console: Console) -> None:
    """Print plans, counts, reports, awards and refusals."""
    events = events_by_type(node)
    plans = Table(
        "Kế hoạch", "Số, ký hiệu", "Ngày", "Cấp ban hành", "Tên trên văn bản", "Cảnh báo", title="Kế hoạch (plans)"
    )
    warnings = Counter(
        e.data["plan_id"]
        for t in ("PlanIssued", "CriteriaRegistered")
        for e in events.get(t, [])
        for _ in e.data["warnings"]
    )
    for e in events.get("PlanIssued", []):
        d = e.data
        number = (
            f"{d['document_number']}/{d['document_symbol']}"
            if d["document_number"]
            else f"(dự thảo) …/{d['document_symbol']}"
        )
        day = d["issue_date"].strftime("%d/%m/%Y") if d["issue_date"] else "(chưa ghi ngày)"
        printed = d.get("issuer_name") or ""
        plans.add_row(d["plan_id"], number, day, d["issuer"]["name"], printed, str(warnings[d["plan_id"]]))
    console.print(plans)
    submitted = events.get("ReportSubmitted", [])
    late = sum(e.data["late"] for e in submitted)
    returned = sum(e.data["outcome"] == "RETURNED" for e in events.get("ReportReviewed", []))
    counts = Table("Nội dung", "Số lượng", title="Một năm mô phỏng (2026)")
    for label, value in [
        ("Đơn vị đăng ký mới", len(events.get("OrgUnitRegistered", []))),
        (
            "Chỉ tiêu của Lào Cai",
            sum(
                len(i["indicators"])
                for e in events.get("CriteriaRegistered", [])
                if e.data["plan_id"] == "lao-cai-draft-2026-05"
                for i in e.data["items"]
            ),
        ),
        ("Đăng ký thi đua", len(events.get("TargetsRegistered", []))),
        ("Báo cáo đã nộp (kể cả nộp lại)", len(submitted)),
        ("Báo cáo nộp muộn", late),
        ("Báo cáo bị trả lại", returned),
    ]:
        counts.add_row(label, str(value))
    console.print(counts)
    awards = Table(
        "Đề nghị", "Hình thức", "Dịp", "Lộ trình", "Trạng thái", "Quyết định", title="Khen thưởng", show_lines=True
    )
    for pid, a in award_states(events).items():
        route = " → ".join(
            f"{s['org_unit']['name']} ({ROLES[s['role']].lower()}: {Authority(s['authority']).label_vi})"
            + ("*" if i == a["holder"] and a["state"] == "PENDING" else "")
            for i, s in enumerate(a["route"])
        )
        decision = a["decision"]["decision_number"] if a["decision"] and a["decision"]["decision_number"] else ""
        awards.add_row(
            pid, a["form_code"], OCCASIONS.get(a["occasion"], a["occasion"]), route, AWARD_STATES[a["state"]], decision
        )
    console.print(awards)
    for code, error in summary.refusals:
        console.print(f"[red]Từ chối[/] [bold]{code}[/]: {error.message_vi}")
    console.print("(* nơi đang giữ hồ sơ đề nghị)")
