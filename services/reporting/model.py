"""Report aggregate and deadline rules (chế độ báo cáo)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.kernel.contracts import OrgUnitRef, ReportingDuty, ReportReviewed, ReportSubmitted
from services.kernel.events import Event
from services.registry.lookup import OrgUnit

PERIOD = re.compile(r"^(?P<year>20\d\d)$|^(?P<review>SO_KET|TONG_KET)_(?P<review_year>20\d\d)$")


def report_id(plan_id: str, unit_code: str, period: str) -> str:
    """One report per unit, plan and period; versions live in its stream."""
    return f"{plan_id}:{unit_code}:{period}"


def report_stream(report: str) -> str:
    """Stream id of a report."""
    return f"report-{report}"


def period_kind(period: str) -> tuple[str, int] | None:
    """('ANNUAL'|'SO_KET'|'TONG_KET', year) for a valid period string, else None."""
    match = PERIOD.match(period)
    if not match:
        return None
    if match["year"]:
        return "ANNUAL", int(match["year"])
    return match["review"], int(match["review_year"])


def binds(duty: ReportingDuty, unit: OrgUnit) -> bool:
    """Whether a reporting duty binds ``unit``: its level and kind, inside the duty's subtree (directly under it
    when the duty names the level just below: "các sở, ban, ngành, các xã, phường"), the named agency if the duty
    names one, a member of a khối/cụm thi đua if the duty says so, and never a receiver of the report."""
    under, path = duty.get("reporter_under"), unit.path.value
    if unit.ref["level"] not in duty["reporter_levels"] or not unit.is_of_kind(list(duty["reporter_kinds"])):
        return False
    if under is not None and not path.startswith(under + "/"):
        return False
    if under is not None and duty.get("reporter_direct") and path.rsplit("/", 1)[0] != under:
        return False
    if duty.get("reporter_agency"):
        return bool(unit.agency_type == duty["reporter_agency"])
    if duty.get("reporter_name") is not None and duty["reporter_name"] != unit.ref.get("name"):
        return False
    if unit.agency_type is not None and unit.agency_type in (duty.get("receiver_agencies") or []):
        return False
    member_of = duty.get("reporter_member_of")
    return member_of is None or unit.member_of(member_of)


def specificity(duty: ReportingDuty) -> int:
    """How narrowly a duty names its reporters: a named agency (2), the members of a bloc (1), any unit (0)."""
    if duty.get("reporter_agency") or duty.get("reporter_name"):
        return 2
    return 1 if duty.get("reporter_member_of") else 0


def binding_duty(duties: Sequence[ReportingDuty], unit: OrgUnit, kind: str) -> ReportingDuty | None:
    """The duty of period ``kind`` that governs ``unit``: the most specific one that binds it (its own undated duty
    over the general dated one), the first in the plan's order among equals."""
    found = [d for d in duties if d["period"] == kind and binds(d, unit)]
    return max(found, key=specificity) if found else None


def deadline(duty: ReportingDuty, year: int) -> date | None:
    """The last day a report for ``year`` is on time, or None when the plan states no date."""
    kind = duty["deadline_kind"]
    if kind == "BY_DATE":
        return duty["deadline_date"]
    if kind in ("BEFORE_DAY_OF_YEAR", "BY_DAY_OF_YEAR"):
        month, day_of_month = duty["deadline_month"], duty["deadline_day"]
        assert month is not None and day_of_month is not None, "a day-of-year deadline names its month and day"
        day = date(year, month, day_of_month)
        return day - timedelta(days=1) if kind == "BEFORE_DAY_OF_YEAR" else day
    return None


@dataclass(frozen=True)
class Report:
    """State of a report: its latest version and whether that version was reviewed."""

    report_id: str
    unit: OrgUnitRef
    submitted_to: OrgUnitRef | None
    version: int
    outcome: str | None  # None: awaiting review; ACCEPTED or RETURNED
    stream_version: int


def fold(events: list[Event]) -> Report | None:
    """The report after its events."""
    report: Report | None = None
    for event in events:
        v = event.meta["stream_version"]
        if isinstance(event, ReportSubmitted):
            d = event.data
            report = Report(d["report_id"], d["unit"], d["submitted_to"], d["version"], None, v)
        elif isinstance(event, ReportReviewed) and report is not None:
            outcome = event.data["outcome"]
            report = Report(report.report_id, report.unit, report.submitted_to, report.version, outcome, v)
    return report
