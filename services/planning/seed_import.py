"""Import the seed plans (``seeds/*.yaml``) through the same commands the API uses.

Each file becomes an ``IssuePlan`` (drafts keep their blank number and day) and one ``RegisterCriteria`` per
criteria set; the seeds' own inconsistencies travel as warnings on the events, never edited away.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from typing import Any

import yaml

from services.kernel.vntime import VN_TZ
from services.planning.commands import IssuePlan, RegisterCriteria
from services.planning.warnings_vi import WARNING_LABELS_VI

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


@cache
def _seed_files() -> tuple[dict[str, Any], ...]:
    return tuple(load_seed_files())


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
    refs = [*(w.get("indicators") or []), *(w.get("refs") or []), *([w["parent"]] if w.get("parent") else [])]
    return {
        "code": w["code"],
        "message_vi": label,
        "message_en": w.get("detail") or w["code"],
        "source_text": w.get("source_text"),
        "refs": refs,
    }


def _duty(i: int, d: dict[str, Any]) -> dict[str, Any]:
    selector, rule = d.get("subject_selector") or {}, d["deadline_rule"]
    receivers = [t.get("path") or t["name"] for t in d.get("to") or []]
    offices = [*(d.get("to") or []), *([d["via"]] if d.get("via") else [])]
    return {
        "code": f"R{i}",
        "who": d.get("who") or "(không nêu)",
        "reporter_levels": selector.get("levels") or [],
        "reporter_under": selector.get("under"),
        "reporter_kinds": selector.get("kinds") or [],
        "reporter_name": selector.get("name"),
        "reporter_direct": bool(selector.get("direct")),
        "reporter_member_of": selector.get("member_of"),
        "reporter_agency": selector.get("agency"),
        "receiver_agencies": [o["agency_type"] for o in offices if o.get("agency_type")],
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


def _window(period: str | None) -> tuple[date | None, date | None]:
    """The days a review stated as "2027", "2027-12" or "2030-Q4" may be held on."""
    if not period:
        return None, None
    year, _, rest = period.partition("-")
    if not rest:
        return date(int(year), 1, 1), date(int(year), 12, 31)
    if rest.startswith("Q"):
        first = 3 * int(rest[1:]) - 2
        return date(int(year), first, 1), date(int(year), first + 2, calendar.monthrange(int(year), first + 2)[1])
    month = int(rest)
    return date(int(year), month, 1), date(int(year), month, calendar.monthrange(int(year), month)[1])


def _phase(p: dict[str, Any]) -> dict[str, Any]:
    start, end = _window(p.get("review_period"))
    return {
        "code": p["code"],
        "name": p["name"],
        "start_date": p["start_date"],
        "end_date": p["end_date"],
        "review": p.get("review"),
        "date_precision": p.get("date_precision"),
        "review_from": start,
        "review_to": end,
        "review_period": p.get("review_period"),
        "review_text": p.get("review_text"),
        "review_with": p.get("review_with"),
        "review_follows": p.get("review_follows"),
    }


def _references(seed: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Cited documents, then linked movements, as DocumentReference data."""
    documents = [
        {
            "kind": "DOCUMENT",
            "ref": c["ref"],
            "date": c.get("date"),
            "issuer": c.get("issuer"),
            "title": None,
            "relation": c.get("relation"),
            "plan_id": c.get("plan_key"),
            "duplicate": bool(c.get("duplicate")),
            "source_text": c.get("source_text"),
        }
        for c in seed.get("cited_documents") or []
    ]
    movements = [
        {
            "kind": "MOVEMENT",
            "ref": m.get("document_ref"),
            "date": None,
            "issuer": None,
            "title": m["name"],
            "relation": m.get("relation"),
            "plan_id": None,
            "duplicate": False,
            "source_text": m.get("source_text"),
        }
        for m in seed.get("linked_movements") or []
    ]
    return tuple(documents + movements)


def _issue_days(seeds: tuple[dict[str, Any], ...]) -> dict[str, date]:
    return {s["plan_key"]: s["document"]["issue_date"] for s in seeds if s["document"].get("issue_date")}


def _recorded_on(seed: dict[str, Any], issued: Mapping[str, date]) -> tuple[date, list[dict[str, Any]]]:
    """The business day a plan is recorded on: its issue date; for a draft with its day blank, the first day of
    its month, but never before a parent it implements was issued (flagged: the day is an assumption)."""
    doc = seed["document"]
    if doc.get("issue_date"):
        return doc["issue_date"], []
    first = date(doc.get("issue_year") or 2026, doc.get("issue_month") or 1, 1)
    parents = [issued[p] for p in seed["implements"] if p in issued]
    day = max([first, *parents])
    if day == first:
        return day, []
    flag = {
        "code": "DRAFT_DATE_ASSUMED",
        "severity": "INFO",
        "detail": f"The draft's day is blank; it is recorded on {day:%d/%m/%Y}, the earliest day it can bear: the "
        f"day its parent plan was issued (the first of its month, {first:%d/%m/%Y}, would precede the parent).",
        "source_text": doc.get("printed_date"),
        "refs": list(seed["implements"]),
    }
    return day, [flag]


def issue_plan_command(seed: dict[str, Any], issued: Mapping[str, date] | None = None) -> IssuePlan:
    """The IssuePlan command of a seed file (``issued``: issue dates of the plans it may implement; by default
    those of the packaged seeds)."""
    doc, signer = seed["document"], seed.get("signer") or {}
    when, assumed = _recorded_on(seed, _issue_days(_seed_files()) if issued is None else issued)
    deadlines = [p["due"]["date"] for p in seed.get("plan_duties") or [] if (p.get("due") or {}).get("date")]
    period = seed.get("period")
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
        phases=tuple(_phase(p) for p in seed.get("phases") or []),
        content_areas=tuple({"code": a["code"], "title": a["title"]} for a in seed.get("content_areas") or []),
        reporting_duties=tuple(_duty(i, d) for i, d in enumerate(seed.get("reporting_duties") or [], start=1)),
        award_forms=tuple(
            {"occasion": a["occasion"], "form_code": a["form_code"], "text": a.get("text")}
            for a in seed.get("award_forms") or []
        ),
        criteria_owners=tuple(o["agency"] for o in seed.get("criteria_owners") or []),
        plan_deadline=min(deadlines) if deadlines else None,
        warnings=tuple(_warning(w) for w in [*(seed.get("warnings") or []), *assumed] if not _about_targets(w)),
        period=None
        if not period
        else {
            "start_date": period["start_date"],
            "end_date": period["end_date"],
            "date_precision": period.get("date_precision"),
            "source_text": period.get("source_text"),
        },
        issuer_name=seed["issuer"].get("name"),
        references=_references(seed),
    )


TARGET_WARNINGS = ("CONFLICTING_TARGETS", "DUPLICATE_TARGET", "MEASURE_UNDEFINED", "STATE_OWNERSHIP_NOT_REGISTERED")


def _about_targets(w: dict[str, Any]) -> bool:
    """A warning about indicators travels with the criteria set holding them, not with the plan."""
    return w["code"] in TARGET_WARNINGS and bool(w.get("indicators"))


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _condition(parent: str, n: int, c: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": f"{parent}.{n}",
        "name": c["name"],
        "unit": c.get("unit"),
        "comparator": c["comparator"],
        "threshold": _number(c.get("threshold")),
        "threshold_max": _number(c.get("threshold_max")),
        "baseline_year": c.get("baseline_year"),
        "source_text": c.get("source_text"),
    }


def _indicator(i: dict[str, Any]) -> dict[str, Any]:
    keys = ("code", "name", "unit", "comparator", "year", "horizon", "scope", "comparison", "recurrence")
    return {
        **{k: i.get(k) for k in keys},
        "threshold": _number(i.get("threshold")),
        "threshold_max": _number(i.get("threshold_max")),
        "scope_kinds": list(i.get("scope_kinds") or []),
        "approximate": bool(i.get("approximate")),
        "conditions": [_condition(i["code"], n, c) for n, c in enumerate(i.get("extra_conditions") or [], start=1)],
        "source_text": i.get("source_text"),
    }


def criteria_commands(seed: dict[str, Any], command: IssuePlan) -> list[RegisterCriteria]:
    """One RegisterCriteria per criteria set; warnings about its indicators go with the set they concern."""
    conflicts = [w for w in seed.get("warnings") or [] if _about_targets(w)]
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
