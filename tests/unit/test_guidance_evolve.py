"""Pure evolution of the guidance rows: each event changes one row of its own stream, whatever the interleaving."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.guidance.evolve import evolve, row_key
from projections.guidance.rows import DocumentRow, PlanRow, ReportRow, TargetRow, UnitRow
from services.kernel.contracts import (
    AwardProposed,
    CriteriaRegistered,
    GuidanceIssued,
    OrgUnitRegistered,
    PlanAmended,
    PlanIssued,
    PlanNumberAssigned,
    ReportReviewed,
    ReportSubmitted,
    TargetsRegistered,
)
from services.kernel.events import Event

pytestmark = pytest.mark.unit
DAI_SON = {"code": "11086", "path": "VN/31/11086", "level": "COMMUNE", "name": "Xã Đại Sơn"}
PHASES = [
    {"code": "P1", "name": "GĐ 1", "start_date": date(2026, 1, 1), "end_date": date(2027, 12, 31), "review": "SO_KET"}
]


def ev(cls: type[Event], stream: str, version: int, data: dict[str, Any], day: int = 1) -> Event:
    """An event of ``cls`` at ``version`` of ``stream``."""
    meta = {
        "event_id": f"{stream}#{version}",
        "stream_id": stream,
        "stream_version": version,
        "occurred_at": datetime(2026, 6, day, 8, tzinfo=UTC),
    }
    return cls(meta=meta, data=data)


def unit_ref(code: str) -> dict[str, Any]:
    return {"code": code, "path": f"VN/31/11086/{code}", "level": "UNIT", "name": f"Đơn vị {code}"}


def plan_events(plan_id: str, amendments: int = 0, numbered: bool = False, criteria: int = 0) -> list[Event]:
    """PlanIssued, then optionally a number, criteria sets and amendments, in stream order."""
    stream = f"plan-{plan_id}"
    issued = {
        "plan_id": plan_id,
        "issuer": DAI_SON,
        "document_number": None,
        "document_symbol": "KH-UBND",
        "issue_date": None,
        "title": "Kế hoạch",
        "implements": [],
        "phases": PHASES,
        "reporting_duties": [],
        "award_forms": [{"occasion": "ANNUAL", "form_code": "BY_AUTHORITY", "text": None}],
        "plan_deadline": date(2026, 6, 30),
    }
    out = [ev(PlanIssued, stream, 1, issued)]
    if numbered:
        number = {"plan_id": plan_id, "document_number": "12", "issue_date": date(2026, 6, 20)}
        out.append(ev(PlanNumberAssigned, stream, len(out) + 1, number))
    for i in range(criteria):
        items = [{"code": "I", "title": "Tiêu chí", "indicators": []}]
        data = {
            "criteria_id": f"{plan_id}/c{i}",
            "plan_id": plan_id,
            "owner": DAI_SON,
            "subject_category": "ENTERPRISE",
        }
        out.append(ev(CriteriaRegistered, stream, len(out) + 1, {**data, "items": items}))
    for n in range(1, amendments + 1):
        amended = {"plan_id": plan_id, "amendment_no": n, "reason": "Điều chỉnh", "title": f"Kế hoạch (sửa {n})"}
        out.append(ev(PlanAmended, stream, len(out) + 1, {**amended, "phases": None}))
    return out


def report_events(code: str, returns: int, accepted: bool) -> list[Event]:
    """Submissions and reviews of one report: ``returns`` returns and resubmissions, then maybe an acceptance."""
    rid = f"p:{code}:2026"
    stream, out = f"report-{rid}", list[Event]()
    for version in range(1, returns + 2):
        submitted = {"report_id": rid, "plan_id": "p", "unit": unit_ref(code), "period": "2026", "version": version}
        submitted |= {"duty_code": "R1", "deadline": date(2026, 11, 30), "late": version > 1}
        out.append(ev(ReportSubmitted, stream, len(out) + 1, submitted, day=version))
        outcome = "RETURNED" if version <= returns else ("ACCEPTED" if accepted else None)
        if outcome:
            review = {"report_id": rid, "version": version, "outcome": outcome, "reviewer": DAI_SON}
            out.append(ev(ReportReviewed, stream, len(out) + 1, review, day=version))
    return out


def target_events(code: str, times: int) -> list[Event]:
    stream = f"registration-p:{code}:2026"
    return [
        ev(
            TargetsRegistered,
            stream,
            v,
            {
                "registration_id": f"dk-{code}-{v}",
                "plan_id": "p",
                "unit": unit_ref(code),
                "year": 2026,
                "targets": [{"indicator_code": "LC-1", "value": float(v), "note": None}],
            },
        )
        for v in range(1, times + 1)
    ]


def unit_event(code: str) -> Event:
    data = {"unit": unit_ref(code), "parent_path": "VN/31/11086", "name": f"Đơn vị {code}", "unit_kind": "AGENCY"}
    return ev(OrgUnitRegistered, f"orgunit-{code}", 1, {**data, "subject_category": "AGENCY_LOCALITY"})


def guidance_event(gid: str) -> Event:
    data = {"guidance_id": gid, "issuer": DAI_SON, "title": "Hướng dẫn", "addressed_to": ["VN/31/11086"]}
    return ev(GuidanceIssued, f"guidance-{gid}", 1, data)


def fold_rows(events: list[Event]) -> dict[Any, Any]:
    """What the projection stores: each event folded into the row it names."""
    rows: dict[Any, Any] = {}
    for event in events:
        key = row_key(event)
        if key is not None:
            rows[key] = evolve(event, rows.get(key))
    return rows


def test_a_plan_is_numbered_amended_and_keeps_its_criteria_apart() -> None:
    rows = fold_rows(plan_events("p", amendments=2, numbered=True, criteria=1))
    plan = rows[(PlanRow, ("p",))]
    assert (plan.document_number, plan.issue_date, plan.amendments, plan.version) == ("12", date(2026, 6, 20), 2, 5)
    assert plan.title == "Kế hoạch (sửa 2)" and plan.phases[0]["start_date"] == "2026-01-01"  # JSON-ready
    assert len(rows) == 2 and any(k[1] == ("p/c0",) for k in rows)


def test_a_returned_report_is_replaced_by_its_next_version() -> None:
    events = report_events("U1", returns=1, accepted=True)
    rows = fold_rows(events[:2])
    assert rows[(ReportRow, ("p:U1:2026",))].outcome == "RETURNED"
    report = fold_rows(events)[(ReportRow, ("p:U1:2026",))]
    assert (report.report_version, report.late, report.outcome) == (2, True, "ACCEPTED")


def test_a_review_of_an_older_version_changes_nothing() -> None:
    submitted = report_events("U1", returns=0, accepted=False)[0]
    report = evolve(submitted, None)
    stale = ev(ReportReviewed, submitted.stream_id, 2, {"report_id": "p:U1:2026", "version": 7, "outcome": "ACCEPTED"})
    assert evolve(stale, report) == report


def test_a_later_registration_replaces_the_targets() -> None:
    row = fold_rows(target_events("U1", 3))[(TargetRow, ("VN/31/11086/U1", "p", 2026))]
    assert (row.registration_id, row.targets[0]["value"]) == ("dk-U1-3", 3.0)


def test_redelivered_events_change_nothing() -> None:
    events = [*plan_events("p", 1, True, 1), *report_events("U1", 1, True), *target_events("U1", 2)]
    events += [unit_event("U1"), guidance_event("g1")]
    once = fold_rows(events)
    assert fold_rows([e for e in events for _ in (0, 1)]) == once  # every event delivered twice in a row
    assert fold_rows(events + events) == once  # the whole history again


def test_rows_of_units_and_guidance() -> None:
    rows = fold_rows([unit_event("U1"), guidance_event("g1")])
    assert rows[(UnitRow, ("VN/31/11086/U1",))].unit_kind == "AGENCY"
    assert rows[(DocumentRow, ("g1",))].addressed_to == ["VN/31/11086"]


def test_events_of_other_read_models_are_ignored() -> None:
    proposed = ev(AwardProposed, "award-x", 1, {"proposal_id": "x"})
    assert row_key(proposed) is None and evolve(proposed, None) is None


@st.composite
def histories(draw: st.DrawFn) -> list[list[Event]]:
    """A few valid streams of every kind this read model folds."""
    streams: list[list[Event]] = []
    for i in range(draw(st.integers(0, 3))):
        streams.append(plan_events(f"p{i}", draw(st.integers(0, 2)), draw(st.booleans()), draw(st.integers(0, 2))))
    for i in range(draw(st.integers(0, 3))):
        streams.append(report_events(f"U{i}", draw(st.integers(0, 2)), draw(st.booleans())))
    streams += [target_events(f"U{i}", draw(st.integers(1, 3))) for i in range(draw(st.integers(0, 2)))]
    streams += [[unit_event(f"U{i}")] for i in range(draw(st.integers(0, 2)))]
    streams += [[guidance_event(f"g{i}")] for i in range(draw(st.integers(0, 2)))]
    return streams


@settings(max_examples=60, deadline=None)
@given(streams=histories(), data=st.data())
def test_any_interleaving_of_streams_gives_the_same_rows(streams: list[list[Event]], data: st.DataObject) -> None:
    store_order = [e for stream in streams for e in stream]
    tokens = data.draw(st.permutations([i for i, s in enumerate(streams) for _ in s]))
    cursors = [iter(s) for s in streams]
    interleaved = [next(cursors[i]) for i in tokens]  # each stream keeps its order; streams mix freely
    assert fold_rows(interleaved) == fold_rows(store_order)
