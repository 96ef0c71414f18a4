"""JSON views of the award pipeline rows for the API, with Vietnamese labels beside the codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.awards import Authority, UnknownAwardForm, load_authority_matrix
from services.kernel.labels import AWARD_STATES, LEVELS, OCCASIONS, ROLES, label
from services.kernel.vntime import VN_TZ, business_day

NOMINEE_KINDS = {"INDIVIDUAL": "Cá nhân", "COLLECTIVE": "Tập thể", "HOUSEHOLD": "Hộ gia đình"}
ACTIONS = {
    "PROPOSED": "Lập hồ sơ đề nghị",
    "FORWARDED": "Trình cấp trên",
    "RETURNED": "Trả lại hồ sơ",
    "APPROVED": "Quyết định khen thưởng",
    "REJECTED": "Không khen thưởng",
}
STEP_STATUSES = {"DONE": "Đã qua", "CURRENT": "Đang giữ hồ sơ", "AHEAD": "Chưa đến", "NOT_REACHED": "Không đến"}
PREREQUISITES = {"MET": "Đạt", "NOT_MET": "Chưa đạt", "NOT_CHECKABLE": "Chưa kiểm tra được"}


def now_of(as_now: datetime | None) -> datetime:
    """The clock durations are measured against: ``as_now`` (naive = Vietnam time) or the current time."""
    if as_now is None:
        return datetime.now(UTC)
    return as_now.replace(tzinfo=VN_TZ) if as_now.tzinfo is None else as_now


def duration(since: datetime, now: datetime) -> dict[str, int]:
    """Time from ``since`` to ``now`` (never negative): seconds and whole days."""
    seconds = max(0, int((now - since).total_seconds()))
    return {"seconds": seconds, "days": seconds // 86400}


def form_name(code: str, on: date) -> str:
    """Vietnamese name of an award form from the authority matrix (the version in force on ``on``)."""
    matrix = load_authority_matrix()
    try:
        return matrix.form(code, on).name_vi
    except UnknownAwardForm:
        versions = matrix.versions(code)
        return versions[-1].name_vi if versions else code


def authority_label(code: str | None) -> str | None:
    """Vietnamese title of an authority (the code itself when unknown)."""
    return None if code is None else Authority(code).label_vi if code in Authority.__members__ else code


def unit(code: str | None, path: str | None, name: str | None, level: str | None = None) -> dict[str, Any] | None:
    """An org unit reference (with its level's label when known)."""
    if code is None:
        return None
    ref = {"code": code, "path": path, "name": name}
    return ref | ({"level": level, "level_label": label(LEVELS, level)} if level else {})


def _nominee(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": r["nominee_kind"],
        "kind_label": label(NOMINEE_KINDS, r["nominee_kind"]),
        "name": r["nominee_name"],
        "org_unit": unit(r["nominee_code"], r["nominee_path"], r["nominee_unit_name"]),
    }


def summary(r: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A proposal as listed: form, nominee, state and time in state, holder and time held, decider, decision."""
    return {
        "proposal_id": r["proposal_id"],
        "plan_id": r["plan_id"],
        "form_code": r["form_code"],
        "form_name": form_name(r["form_code"], business_day(r["proposed_at"])),
        "occasion": r["occasion"],
        "occasion_label": label(OCCASIONS, r["occasion"]),
        "occasion_period": r.get("occasion_period"),
        "nominee": _nominee(r),
        "proposer": unit(r["proposer_code"], r["proposer_path"], r["proposer_name"]),
        "proposed_at": r["proposed_at"],
        "state": r["state"],
        "state_label": label(AWARD_STATES, r["state"]),
        "state_entered_at": r["state_entered_at"],
        "time_in_state": duration(r["state_entered_at"], now),
        "holder": {
            "index": r["holder_index"],
            "role": r["holder_role"],
            "role_label": label(ROLES, r["holder_role"]),
            "authority": r["holder_authority"],
            "authority_label": authority_label(r["holder_authority"]),
            "org_unit": unit(r["holder_code"], r["holder_path"], r["holder_name"], r["holder_level"]),
            "since": r["held_since"],
            "time_held": duration(r["held_since"], now),
        },
        "decider": {
            "authority": r["decider_authority"],
            "authority_label": authority_label(r["decider_authority"]),
            "org_unit": unit(r["decider_code"], r["decider_path"], r["decider_name"]),
        },
        "decision": {"number": r["decision_number"], "date": r["decision_date"]} if r["decision_number"] else None,
    }


def _step_status(r: dict[str, Any], i: int, reached: int) -> str:
    if r["state"] == "PENDING":
        return "DONE" if i < r["holder_index"] else "CURRENT" if i == r["holder_index"] else "AHEAD"
    return "DONE" if i <= reached else "NOT_REACHED"


def _route(r: dict[str, Any]) -> list[dict[str, Any]]:
    reached = max((s["holder_index"] for s in r["steps"]), default=r["holder_index"])
    out = []
    for i, step in enumerate(r["route"]):
        status, ref = _step_status(r, i, reached), step["org_unit"]
        out.append(
            {
                "index": i,
                "role": step["role"],
                "role_label": label(ROLES, step["role"]),
                "authority": step.get("authority"),
                "authority_label": authority_label(step.get("authority")),
                "org_unit": unit(ref["code"], ref["path"], ref.get("name"), ref["level"]),
                "status": status,
                "status_label": STEP_STATUSES[status],
            }
        )
    return out


def _step(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": s["seq"],
        "action": s["action"],
        "action_label": label(ACTIONS, s["action"]),
        "from": unit(s["from_code"], s["from_path"], s["from_name"]),
        "to": unit(s["to_code"], s["to_path"], s["to_name"]),
        "holder_index": s["holder_index"],
        "occurred_at": s["occurred_at"],
        "note": s["note"],
        "decision_number": s["decision_number"],
        "decision_date": s["decision_date"],
        "actor_id": s["actor_id"],
    }


def detail(r: dict[str, Any], plan: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """A proposal in full: the summary plus its plan, route with step status, history and prerequisites."""
    checks = [c | {"status_label": label(PREREQUISITES, c["status"])} for c in r["prerequisites"]]
    return summary(r, now) | {
        "plan": _plan_ref(plan),
        "achievements": r["achievements"],
        "closing_reason": r["closing_reason"],
        "route": _route(r),
        "history": [_step(s) for s in r["steps"]],
        "prerequisites": checks,
        "warnings": r["warnings"],
    }


def _plan_ref(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    number = f"{plan['document_number'] or '…'}/{plan['document_symbol']}"
    return {"plan_id": plan["plan_id"], "document": number, "status": plan["status"], "title": plan["title"]}


def conferred_entry(r: dict[str, Any]) -> dict[str, Any]:
    """A registry entry: decision number and date, decider, form, occasion and nominee."""
    return {
        "proposal_id": r["proposal_id"],
        "decision_number": r["decision_number"],
        "decision_date": r["decision_date"].isoformat(),
        "decided_at": r["decided_at"],
        "decider": {
            **(unit(r["decider_code"], r["decider_path"], r["decider_name"]) or {}),
            "authority": r["decider_authority"],
            "authority_label": authority_label(r["decider_authority"]),
        },
        "form_code": r["form_code"],
        "form_name": form_name(r["form_code"], r["decision_date"]),
        "occasion": r["occasion"],
        "occasion_label": label(OCCASIONS, r["occasion"]),
        "plan_id": r["plan_id"],
        "nominee": _nominee(r),
    }


def waiting(groups: list[dict[str, Any]], items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The waiting groups, each with its first items (``items`` come from ``queries.waiting_items``)."""
    by_holder: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for item in items:
        by_holder.setdefault((item["holder_path"], item["holder_authority"]), []).append(item)
    return [_waiting_group(g, by_holder.get((g["holder_path"], g["holder_authority"]), []), now) for g in groups]


def _waiting_group(g: dict[str, Any], mine: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    return {
        "org_unit": unit(g["holder_code"], g["holder_path"], g["holder_name"], g["holder_level"]),
        "authority": g["holder_authority"],
        "authority_label": authority_label(g["holder_authority"]),
        "count": g["count"],
        "to_decide": int(g["to_decide"] or 0),
        "to_review": int(g["to_review"] or 0),
        "at_proposer": int(g["at_proposer"] or 0),
        "oldest_held_since": g["oldest_held_since"],
        "longest_wait": duration(g["oldest_held_since"], now),
        "items": [summary(i, now) for i in mine],
        "more": g["count"] > len(mine),
    }
