"""The award pipeline's pure evolve, history and registry derivations, and its JSON views: no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.awards.evolve import evolve, target
from projections.awards.history import conferred_of, step_of
from projections.awards.rows import ConferredRow, ProposalRow, StepRow
from projections.awards.views import duration, form_name, now_of
from services.kernel.contracts import AwardDecided, AwardForwarded, AwardProposed, AwardReturned, PlanIssued
from services.kernel.events import Event

pytestmark = pytest.mark.unit


def ref(code: str, path: str, level: str) -> dict[str, Any]:
    return {"code": code, "path": path, "level": level, "name": f"Đơn vị {code}"}


SCHOOL = ref("TH-DS", "VN/31/11086/TH-DS", "UNIT")
COMMUNE = ref("11086", "VN/31/11086", "COMMUNE")
CITY = ref("31", "VN/31", "PROVINCE")
ROUTE = [
    {"org_unit": SCHOOL, "role": "PROPOSE", "authority": "THU_TRUONG_DON_VI"},
    {"org_unit": COMMUNE, "role": "REVIEW", "authority": "CHU_TICH_UBND_XA"},
    {"org_unit": CITY, "role": "DECIDE", "authority": "CHU_TICH_UBND_TINH"},
]


def event(cls: type[Event], pid: str, version: int, day: int, **data: Any) -> Event:
    meta = {
        "event_id": f"{pid}-{version}",
        "stream_id": f"award-{pid}",
        "stream_version": version,
        "occurred_at": datetime(2027, 12, day, 2, tzinfo=UTC),
        "recorded_at": datetime(2027, 12, day, 2, tzinfo=UTC),
        "node_id": "p31",
        "org_unit": SCHOOL,
        "actor": {"actor_id": "test", "kind": "SYSTEM", "display_name": None, "org_unit_path": None, "roles": []},
        "correlation_id": None,
        "causation_id": None,
    }
    return cls(meta=meta, data={"proposal_id": pid, **data})


def proposed(pid: str, day: int = 1) -> Event:
    nominee = {"kind": "COLLECTIVE", "name": "Trường Tiểu học Đại Sơn", "org_unit": SCHOOL}
    return event(
        AwardProposed,
        pid,
        1,
        day,
        plan_id="dai-son-draft-2026-06",
        nominee=nominee,
        form_code="BK_TINH",
        occasion="SO_KET",
        achievements="Tốt",
        proposer=SCHOOL,
        route=ROUTE,
        decider_authority="CHU_TICH_UBND_TINH",
        prerequisites=[],
        warnings=[],
    )


def forwarded(pid: str, version: int, day: int, src: dict[str, Any], dst: dict[str, Any]) -> Event:
    return event(AwardForwarded, pid, version, day, from_unit=src, to_unit=dst, note=None)


def decided(pid: str, version: int, day: int, outcome: str = "APPROVED") -> Event:
    approved = outcome == "APPROVED"
    return event(
        AwardDecided,
        pid,
        version,
        day,
        outcome=outcome,
        decider=CITY,
        decision_number="12/QĐ-UBND" if approved else None,
        decision_date=date(2027, 12, day) if approved else None,
        reason=None if approved else "Chưa đủ tiêu chuẩn",
    )


def walk(pid: str, hops: int, end: str | None) -> list[Event]:
    """A valid stream: proposed, ``hops`` forwards, then maybe returned or decided (at the decider only)."""
    events = [proposed(pid)]
    for i in range(hops):
        events.append(forwarded(pid, i + 2, 2 + i, ROUTE[i]["org_unit"], ROUTE[i + 1]["org_unit"]))
    version = hops + 2
    if end == "RETURNED":
        events.append(
            event(AwardReturned, pid, version, 9, from_unit=ROUTE[hops]["org_unit"], to_unit=SCHOOL, reason="Bổ sung")
        )
    elif end is not None and hops == len(ROUTE) - 1:
        events.append(decided(pid, version, 10, end))
    return events


def fold(events: list[Event]) -> tuple[dict[str, ProposalRow | None], list[StepRow], list[ConferredRow]]:
    """What the projection does, in memory: rows per proposal, history steps, registry entries."""
    rows: dict[str, ProposalRow | None] = {}
    steps: list[StepRow] = []
    registry: list[ConferredRow] = []
    for e in events:
        pid = target(e)
        assert pid is not None
        before = rows.get(pid)
        after = evolve(e, before)
        if after is not None and after != before:
            rows[pid] = after
            steps += [s for s in [step_of(e, after)] if s]
            registry += [c for c in [conferred_of(e, after)] if c]
    return rows, sorted(steps, key=lambda s: (s.proposal_id, s.seq)), sorted(registry, key=lambda c: c.proposal_id)


def test_a_proposal_moves_along_its_route_and_is_conferred() -> None:
    events = walk("p1", 2, "APPROVED")
    rows, steps, registry = fold(events)
    row = rows["p1"]
    assert row is not None
    assert (row.state, row.holder_index, row.holder_code, row.holder_authority, row.holder_role) == (
        "APPROVED",
        2,
        "31",
        "CHU_TICH_UBND_TINH",
        "DECIDE",
    )
    assert row.proposed_at == datetime(2027, 12, 1, 2, tzinfo=UTC)
    assert row.held_since == datetime(2027, 12, 3, 2, tzinfo=UTC)  # reached the city on the second forward
    assert row.state_entered_at == datetime(2027, 12, 10, 2, tzinfo=UTC)  # the decision
    assert [s.action for s in steps] == ["PROPOSED", "FORWARDED", "FORWARDED", "APPROVED"]
    assert [s.holder_index for s in steps] == [0, 1, 2, 2]
    assert [(c.decision_number, c.decision_date, c.decider_code) for c in registry] == [
        ("12/QĐ-UBND", date(2027, 12, 10), "31")
    ]


def test_pending_keeps_its_state_clock_while_the_holder_changes() -> None:
    rows, _, _ = fold(walk("p1", 1, None))
    row = rows["p1"]
    assert row is not None and (row.state, row.holder_code) == ("PENDING", "11086")
    assert row.state_entered_at == datetime(2027, 12, 1, 2, tzinfo=UTC)
    assert row.held_since == datetime(2027, 12, 2, 2, tzinfo=UTC)


def test_a_return_gives_the_file_back_to_the_proposer_and_a_rejection_is_not_conferred() -> None:
    rows, steps, registry = fold([*walk("r", 1, "RETURNED"), *walk("x", 2, "REJECTED")])
    returned, rejected = rows["r"], rows["x"]
    assert returned is not None and rejected is not None
    assert (returned.state, returned.holder_index, returned.holder_code, returned.closing_reason) == (
        "RETURNED",
        0,
        "TH-DS",
        "Bổ sung",
    )
    assert (rejected.state, rejected.decision_number, rejected.closing_reason) == (
        "REJECTED",
        None,
        "Chưa đủ tiêu chuẩn",
    )
    assert registry == [] and [s.action for s in steps if s.proposal_id == "r"][-1] == "RETURNED"


def test_redeliveries_orphans_and_foreign_events_change_nothing() -> None:
    events = walk("p1", 2, "APPROVED")
    rows, steps, registry = fold(events)
    again = fold([*events, *events[1:], events[0]])
    assert again == (rows, steps, registry)
    assert evolve(forwarded("ghost", 2, 2, SCHOOL, COMMUNE), None) is None  # its proposal never arrived
    plan = PlanIssued(meta=events[0].meta, data={"plan_id": "x"})
    assert target(plan) is None and evolve(plan, rows["p1"]) == rows["p1"]


def test_an_approval_without_a_date_is_dated_on_its_business_day_in_vietnam() -> None:
    events = walk("p1", 2, "APPROVED")
    late = event(AwardDecided, "p1", 4, 10, outcome="APPROVED", decider=CITY, decision_number="7/QĐ-UBND")
    late = AwardDecided(meta={**late.meta, "occurred_at": datetime(2027, 12, 10, 20, tzinfo=UTC)}, data=late.data)
    _, _, registry = fold([*events[:-1], late])
    assert registry[0].decision_date == date(2027, 12, 11)  # 20:00 UTC is 03:00 the next day in Vietnam


streams = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from([None, None, "RETURNED", "APPROVED", "REJECTED"])),
    min_size=1,
    max_size=5,
)


@given(streams, st.randoms(use_true_random=False))
def test_any_cross_stream_interleaving_with_redeliveries_gives_the_same_rows(specs: list[Any], rnd: Any) -> None:
    per_stream = [walk(f"p{i}", hops, end) for i, (hops, end) in enumerate(specs)]
    in_order = [e for s in per_stream for e in s]
    queues = [list(s) for s in per_stream]
    shuffled: list[Event] = []
    while any(queues):
        queue = rnd.choice([q for q in queues if q])
        shuffled.append(queue.pop(0))
        if rnd.random() < 0.2:  # at-least-once delivery: an earlier event of the stream comes again
            shuffled.append(rnd.choice(shuffled))
    assert fold(shuffled) == fold(in_order)


def test_views_measure_time_against_the_given_clock() -> None:
    since = datetime(2027, 12, 1, 2, tzinfo=UTC)
    assert duration(since, datetime(2027, 12, 11, 3, tzinfo=UTC)) == {"seconds": 10 * 86400 + 3600, "days": 10}
    assert duration(since, datetime(2027, 11, 1, tzinfo=UTC)) == {"seconds": 0, "days": 0}  # never negative
    assert now_of(datetime(2027, 12, 1, 9)) == since  # a naive clock is Vietnam time
    assert form_name("BK_TTG", date(2027, 1, 1)) == "Bằng khen của Thủ tướng Chính phủ"
    assert form_name("NOT_A_FORM", date(2027, 1, 1)) == "NOT_A_FORM"
