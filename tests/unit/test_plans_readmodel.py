"""The plans read model's pure evolve and facts, and its JSON views: no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.plans.evolve import evolve, jsonable, target
from projections.plans.facts import facts
from projections.plans.rows import AmendmentRow, CriteriaRow, Fact, ParentRow, PlanRow
from projections.plans.views import deadline_label, document_label, target_label
from services.kernel.contracts import (
    AwardProposed,
    CriteriaRegistered,
    PlanAmended,
    PlanIssued,
    PlanNumberAssigned,
)
from services.kernel.events import Event

pytestmark = pytest.mark.unit
LAO_CAI = {"code": "15", "path": "VN/15", "level": "PROVINCE", "name": "Tỉnh Lào Cai"}
PHASE = {"code": "P1", "name": "Giai đoạn 1", "start_date": date(2026, 1, 1), "end_date": date(2027, 12, 31)}


def event(cls: type[Event], plan_id: str, version: int, **data: Any) -> Event:
    meta = {
        "event_id": f"{plan_id}-{version}",
        "stream_id": f"plan-{plan_id}",
        "stream_version": version,
        "occurred_at": datetime(2026, 5, version, 1, tzinfo=UTC),
        "org_unit": LAO_CAI,
    }
    return cls(meta=meta, data={"plan_id": plan_id, **data})


def issued(plan_id: str, implements: list[str], number: str | None = None) -> Event:
    return event(
        PlanIssued,
        plan_id,
        1,
        issuer=LAO_CAI,
        document_number=number,
        document_symbol="KH-UBND",
        issue_date=date(2026, 5, 1) if number else None,
        title="Kế hoạch",
        signer_name=None,
        signer_capacity=None,
        implements=implements,
        phases=[PHASE],
        content_areas=[],
        reporting_duties=[],
        award_forms=[{"occasion": "ANNUAL", "form_code": "BK_TINH", "text": None}],
        criteria_owners=[],
        plan_deadline=None,
        warnings=[{"code": "DRAFT_WITHOUT_NUMBER", "message_vi": "x", "message_en": "x", "source_text": None}],
    )


def criteria(plan_id: str, version: int, codes: list[str]) -> Event:
    indicator = lambda c: {"code": c, "name": c, "unit": "%", "comparator": "GE", "threshold": 90.0}  # noqa: E731
    items = [{"code": "I.1", "title": "Chuyển đổi số", "indicators": [indicator(c) for c in codes]}]
    return event(
        CriteriaRegistered,
        plan_id,
        version,
        criteria_id=f"{plan_id}/c{version}",
        owner=LAO_CAI,
        subject_category="AGENCY_LOCALITY",
        items=items,
        warnings=[],
    )


def stream(plan_id: str, parents: list[str], steps: list[str]) -> list[Event]:
    """A valid plan stream: issued as a draft, then numbered once, amended, criteria registered."""
    events, numbered = [issued(plan_id, parents)], False
    for step in steps:
        version = len(events) + 1
        if step == "number" and not numbered:
            numbered = True
            events.append(
                event(PlanNumberAssigned, plan_id, version, document_number=str(version), issue_date=date(2026, 6, 1))
            )
        elif step == "amend":
            amendment = sum(e.NAME == "PlanAmended" for e in events) + 1
            phases = [PHASE | {"end_date": date(2028, 12, 31)}] if amendment % 2 else None
            changes = {"document_number": None, "issue_date": None, "title": None, "phases": phases}
            events.append(event(PlanAmended, plan_id, version, amendment_no=amendment, reason="Điều chỉnh", **changes))
        elif step == "criteria":
            events.append(criteria(plan_id, version, [f"{plan_id}-{version}-a", f"{plan_id}-{version}-b"]))
    return events


def fold(events: list[Event]) -> tuple[dict[str, PlanRow | None], list[Fact]]:
    """What the projection does, in memory: the plan rows and the rows added beside them."""
    rows: dict[str, PlanRow | None] = {}
    added: list[Fact] = []
    for e in events:
        plan_id = target(e)
        assert plan_id is not None
        after = evolve(e, rows.get(plan_id))
        if after is not None and after != rows.get(plan_id):
            rows[plan_id] = after
            added += facts(e, after)
    return rows, sorted(added, key=repr)


def test_a_draft_is_numbered_amended_and_gets_criteria() -> None:
    rows, added = fold(stream("lc", ["vn-462-2026"], ["criteria", "number", "amend", "amend"]))
    row = rows["lc"]
    assert row is not None
    assert (row.status, row.document_number, row.issue_date, row.amendments) == ("ISSUED", "3", date(2026, 6, 1), 2)
    assert row.phases == [PHASE | {"start_date": "2026-01-01", "end_date": "2028-12-31"}]  # amendment 1 kept
    assert row.warning_count == 1 and row.version == 5 and row.numbered_at == datetime(2026, 5, 3, 1, tzinfo=UTC)
    assert [f for f in added if isinstance(f, ParentRow)] == [ParentRow("lc", "vn-462-2026", 0)]
    assert [f.amendment_no for f in added if isinstance(f, AmendmentRow)] == [1, 2]
    (criteria_row,) = [f for f in added if isinstance(f, CriteriaRow)]
    assert (criteria_row.criteria_id, criteria_row.indicator_count, criteria_row.seq) == ("lc/c2", 2, 2)


def test_a_draft_stays_a_draft_until_numbered() -> None:
    rows, _ = fold([issued("d", [])])
    assert rows["d"] is not None and rows["d"].status == "DRAFT"
    rows, _ = fold([issued("n", [], number="220")])
    assert rows["n"] is not None and rows["n"].status == "ISSUED"


def test_redeliveries_orphans_and_foreign_events_change_nothing() -> None:
    events = stream("lc", ["vn-462-2026"], ["criteria", "number", "amend"])
    assert fold([*events, *events[::-1]]) == fold(events)
    assert evolve(criteria("ghost", 2, ["x"]), None) is None
    award = AwardProposed(meta=events[0].meta, data={"proposal_id": "p"})
    assert target(award) is None


steps = st.lists(st.sampled_from(["number", "amend", "criteria"]), max_size=5)


@given(st.lists(steps, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_any_cross_stream_interleaving_with_redeliveries_gives_the_same_rows(plans: list[Any], rnd: Any) -> None:
    per_stream = [stream(f"p{i}", [f"p{i - 1}"] if i else [], s) for i, s in enumerate(plans)]
    queues = [list(s) for s in per_stream]
    shuffled: list[Event] = []
    while any(queues):
        shuffled.append(rnd.choice([q for q in queues if q]).pop(0))
        if rnd.random() < 0.2:
            shuffled.append(rnd.choice(shuffled))
    assert fold(shuffled) == fold([e for s in per_stream for e in s])


def test_views_put_duties_targets_and_numbers_into_words() -> None:
    duty = {"deadline_kind": "BEFORE_DAY_OF_YEAR", "deadline_month": 12, "deadline_day": 1, "deadline_date": None}
    assert deadline_label(duty) == "Trước ngày 01/12 hằng năm"
    assert deadline_label(duty | {"deadline_kind": "BY_DATE", "deadline_date": "2026-06-30"}) == "Đến ngày 30/06/2026"
    assert deadline_label(duty | {"deadline_kind": "NONE_STATED"}) == "Không nêu thời hạn"
    assert target_label({"comparator": "GE", "threshold": 95.0, "unit": "%"}) == "≥ 95 %"
    assert target_label({"comparator": "RANGE", "threshold": 10.0, "threshold_max": 20.0, "unit": "%"}) == (
        "từ 10 đến 20 %"
    )
    assert target_label({"comparator": "GE", "threshold": None}) is None
    assert document_label({"document_number": None, "document_symbol": "KH-UBND"}) == "…/KH-UBND"
    assert jsonable({"a": (date(2026, 1, 2),)}) == {"a": ["2026-01-02"]}
