"""Import the seed plans (``seeds/*.yaml``) through the same commands the API uses.

Each file becomes an ``IssuePlan`` (drafts keep their blank number and day) and one ``RegisterCriteria`` per
criteria set; the seeds' own inconsistencies travel as warnings on the events, never edited away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from services.planning.commands import IssuePlan, RegisterCriteria
from services.planning.warnings_vi import WARNING_LABELS_VI

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
IMPORT_ACTOR: dict[str, Any] = {
    "actor_id": "seed-import",
    "kind": "SYSTEM",
    "display_name": "Nhập dữ liệu kế hoạch",
    "org_unit_path": None,
    "roles": ["operator"],
}


@dataclass
class ImportReport:
    """What an import did: plans and criteria written, warnings carried."""

    plans: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)


def load_seed_files() -> list[dict[str, Any]]:
    """The packaged seed plans, parents before children."""
    folder = resources.files("services.planning").joinpath("seeds")
    plans = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".yaml")]
    ordered: list[dict[str, Any]] = []
    while len(ordered) < len(plans):
        done = {p["plan_key"] for p in ordered}
        ready = sorted(
            (p for p in plans if p["plan_key"] not in done and set(p["implements"]) <= done),
            key=lambda p: p["plan_key"],
        )
        if not ready:
            raise ValueError("seed plans implement each other in a cycle or name an unknown parent")
        ordered += ready
    return ordered


def _warning(w: dict[str, Any]) -> dict[str, Any]:
    label = WARNING_LABELS_VI.get(w["code"], f"Cảnh báo dữ liệu: {w['code']}")
    return {
        "code": w["code"],
        "message_vi": label,
        "message_en": w.get("detail") or w["code"],
        "source_text": w.get("source_text"),
    }


def _duty(i: int, d: dict[str, Any]) -> dict[str, Any]:
    selector, rule = d.get("subject_selector") or {}, d["deadline_rule"]
    receivers = [t.get("path") or t["name"] for t in d.get("to") or []]
    return {
        "code": f"R{i}",
        "who": d.get("who") or "(không nêu)",
        "reporter_levels": selector.get("levels") or [],
        "reporter_under": selector.get("under"),
        "reporter_kinds": selector.get("kinds") or [],
        "reporter_name": selector.get("name"),
        "to": receivers,
        "via": (d.get("via") or {}).get("name"),
        "period": d.get("period") or "UNSPECIFIED",
        "deadline_kind": rule["kind"],
        "deadline_month": rule.get("month"),
        "deadline_day": rule.get("day"),
        "deadline_date": rule.get("date"),
        "text": d["text"],
    }


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), VN_TZ)


def issue_plan_command(seed: dict[str, Any]) -> IssuePlan:
    """The IssuePlan command of a seed file."""
    doc, signer = seed["document"], seed.get("signer") or {}
    when = doc.get("issue_date") or date(doc.get("issue_year") or 2026, doc.get("issue_month") or 1, 1)
    deadlines = [p["due"]["date"] for p in seed.get("plan_duties") or [] if (p.get("due") or {}).get("date")]
    return IssuePlan(
        plan_id=seed["plan_key"],
        issuer_path=seed["issuer"]["path"],
        document_symbol=doc["symbol"],
        title=seed["title"],
        occurred_at=_moment(when),
        actor=IMPORT_ACTOR,
        document_number=doc.get("number"),
        issue_date=doc.get("issue_date"),
        signer_name=signer.get("name"),
        signer_capacity=signer.get("capacity"),
        implements=tuple(seed["implements"]),
        phases=tuple(
            {
                "code": p["code"],
                "name": p["name"],
                "start_date": p["start_date"],
                "end_date": p["end_date"],
                "review": p.get("review"),
            }
            for p in seed.get("phases") or []
        ),
        content_areas=tuple({"code": a["code"], "title": a["title"]} for a in seed.get("content_areas") or []),
        reporting_duties=tuple(_duty(i, d) for i, d in enumerate(seed.get("reporting_duties") or [], start=1)),
        award_forms=tuple(
            {"occasion": a["occasion"], "form_code": a["form_code"], "text": a.get("text")}
            for a in seed.get("award_forms") or []
        ),
        criteria_owners=tuple(o["agency"] for o in seed.get("criteria_owners") or []),
        plan_deadline=min(deadlines) if deadlines else None,
        warnings=tuple(_warning(w) for w in seed.get("warnings") or [] if w["code"] != "CONFLICTING_TARGETS"),
    )


def _indicator(i: dict[str, Any]) -> dict[str, Any]:
    keys = ("code", "name", "unit", "comparator", "threshold", "threshold_max", "year", "horizon")
    return {k: (float(i[k]) if k.startswith("threshold") and i.get(k) is not None else i.get(k)) for k in keys}


def criteria_commands(seed: dict[str, Any], command: IssuePlan) -> list[RegisterCriteria]:
    """One RegisterCriteria per criteria set; conflicting-target warnings go with the set they concern."""
    conflicts = [w for w in seed.get("warnings") or [] if w["code"] == "CONFLICTING_TARGETS"]
    out = []
    for c in seed.get("criteria") or []:
        items = tuple(
            {"code": it["code"], "title": it["title"], "indicators": [_indicator(i) for i in it["indicators"]]}
            for it in c["items"]
        )
        codes = {i["code"] for it in items for i in it["indicators"]}
        warnings = tuple(_warning(w) for w in conflicts if codes & set(w.get("indicators") or []))
        out.append(
            RegisterCriteria(
                c["criteria_key"],
                seed["plan_key"],
                command.issuer_path,
                c["subject_category"],
                command.occurred_at,
                IMPORT_ACTOR,
                items,
                warnings,
            )
        )
    return out


def import_seeds(handle: Callable[[Any], Any]) -> ImportReport:
    """Send every seed plan and criteria set through ``handle`` (the message bus)."""
    report = ImportReport()
    for seed in load_seed_files():
        command = issue_plan_command(seed)
        handle(command)
        report.plans.append(command.plan_id)
        report.warnings[command.plan_id] = [w["code"] for w in command.warnings]
        for criteria in criteria_commands(seed, command):
            handle(criteria)
            report.criteria.append(criteria.criteria_id)
            report.warnings[command.plan_id] += [w["code"] for w in criteria.warnings]
    return report
