"""Write-side lookups derived from streams (services/domain/lookups.py), as the sync importer records them: pure,
no I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.domain.lookups import DERIVED
from services.kernel.contracts import AwardDecided, AwardForwarded, AwardProposed, PlanIssued, PlanNumberAssigned

pytestmark = pytest.mark.unit
COMMUNE = {"code": "02683", "path": "VN/15/02683", "level": "COMMUNE", "name": "Xã Bát Xát"}


def _proposal(outcome: str | None, occasion: str = "ANNUAL", kind: str = "PERSON") -> list[Any]:
    nominee = {"kind": kind, "name": "Nguyễn Thị Hoà", "org_unit": COMMUNE}
    proposed = {"proposal_id": "p-1", "form_code": "CSTDCS", "occasion": occasion, "nominee": nominee, "route": []}
    events: list[Any] = [
        AwardProposed({"stream_version": 1}, proposed),
        AwardForwarded({"stream_version": 2}, {"proposal_id": "p-1"}),
    ]
    if outcome is not None:
        events.append(AwardDecided({"stream_version": 3}, {"proposal_id": "p-1", "outcome": outcome}))
    return events


def test_an_approved_award_is_recorded_under_its_nominee_with_form_track_and_proposal() -> None:
    assert DERIVED["AwardDecided"](_proposal("APPROVED")) == [
        ("award_conferred", "VN/15/02683#PERSON:nguyễn thị hoà", "CSTDCS|MERIT|p-1")
    ]
    collective = DERIVED["AwardDecided"](_proposal("APPROVED", occasion="SO_KET", kind="COLLECTIVE"))
    assert collective == [("award_conferred", "VN/15/02683", "CSTDCS|MOVEMENT|p-1")]


@pytest.mark.parametrize("outcome", ["REJECTED", None])
def test_a_rejected_or_undecided_proposal_confers_nothing(outcome: str | None) -> None:
    assert DERIVED["AwardDecided"](_proposal(outcome)) == []


def _plan(number: str | None, day: date | None) -> dict[str, Any]:
    issuer = {"code": "15", "path": "VN/15", "level": "PROVINCE", "name": "Tỉnh Lào Cai"}
    return {
        "plan_id": "lc-2026",
        "issuer": issuer,
        "document_number": number,
        "document_symbol": "KH-UBND",
        "issue_date": day,
        "title": "Kế hoạch",
        "implements": [],
        "phases": [],
        "reporting_duties": [],
        "award_forms": [],
        "criteria_owners": [],
    }


def test_a_numbered_plan_takes_its_number_for_the_issuer_and_year_and_a_draft_takes_none() -> None:
    issued = PlanIssued({"stream_version": 1}, _plan("220", date(2026, 4, 15)))
    assert DERIVED["PlanIssued"]([issued]) == [("plan_document", "VN/15|2026|220/KH-UBND", "lc-2026")]
    draft = PlanIssued({"stream_version": 1}, _plan(None, None))
    assert DERIVED["PlanIssued"]([draft]) == []
    numbered = PlanNumberAssigned(
        {"stream_version": 2}, {"plan_id": "lc-2026", "document_number": "7", "issue_date": date(2027, 1, 5)}
    )
    assert DERIVED["PlanNumberAssigned"]([draft, numbered]) == [("plan_document", "VN/15|2027|7/KH-UBND", "lc-2026")]
