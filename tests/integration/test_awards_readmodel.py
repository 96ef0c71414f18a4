"""The award pipeline read model on SQLite and PostgreSQL: the demo's awards checked against the story told in
``services/demo/year.py`` and ``services/demo/data.py``, rebuilt in any cross-stream order, redelivered, returned."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from projections import tracking
from projections.awards import AwardsProjection, queries
from projections.base import Projection
from projections.runner import EmbeddedRunner
from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.bootstrap import Node, bootstrap
from services.demo.data import DAI_SON, LAO_CAI, UNITS
from services.demo.year import run_demo
from services.kernel.events import Event, decode_event
from services.kernel.settings import Settings
from tests.factories import SYSTEM_ACTOR, interleave

# The demo's story (README "Try it: the demo"), written down here rather than read back from the demo's code.
NAMES = {code: name for _, code, name, *_ in UNITS} | {"19753": "Nguyễn Thị Hoa"}  # a person of Phường Phú Xuân
STORY = {  # proposal: (form, nominee code, state, holder path, holder authority, steps in history, decision)
    "gk-ds-2026-1": (
        "GK_XA",
        "THCS-DS",
        "APPROVED",
        DAI_SON,
        "CHU_TICH_UBND_XA",
        3,
        ("215/QĐ-UBND", date(2026, 12, 20)),
    ),
    "bk-lc-2026-1": (
        "BK_TINH",
        "DN-BATXAT",
        "APPROVED",
        LAO_CAI,
        "CHU_TICH_UBND_TINH",
        3,
        ("3105/QĐ-UBND", date(2026, 12, 28)),
    ),
    "bkttg-hue-2027-1": ("BK_TTG", "SKHCN-46", "PENDING", "VN", "THU_TUONG", 3, None),  # the sở head acts once
    "gk-px-2027-1": (
        "GK_XA",
        "19753",
        "APPROVED",
        "VN/46/19753",
        "CHU_TICH_UBND_XA",
        3,
        ("45/QĐ-UBND", date(2027, 12, 9)),
    ),
    "bk-ds-2027-1": ("BK_TINH", "TH-DS", "PENDING", "VN/31", "CHU_TICH_UBND_TINH", 2, None),
}  # hcld-ds-2030-1 and co-lc-2026-1 were refused: they must not appear anywhere


def runner_for(node: Node, *projections: Projection, batch_size: int = 500) -> EmbeddedRunner:
    """An embedded runner of just ``projections`` (other read models are not this test's business)."""
    runner = EmbeddedRunner(node.engine, node.store, node.codec, node.bus.types, list(projections), batch_size)
    runner.setup()
    return runner


def stored_events(node: Node) -> list[Event]:
    """Every event of the node in store order."""
    return [decode_event(s.body, node.codec, node.bus.types, s.position) for s in node.store.read_all(0, 1_000_000)]


def snapshot(engine: Engine, projection: Projection) -> dict[str, list[dict[str, Any]]]:
    """Every row of the read model, table by table, in primary-key order."""
    with engine.connect() as conn:
        return {
            t.name: [r._asdict() for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in projection.metadata.sorted_tables
        }


def rebuild(engine: Engine, projection: Projection, events: list[Event], rnd: random.Random) -> None:
    """Empty the read model, then apply ``events`` interleaved across streams, in random batches."""
    with engine.begin() as conn:
        for table in reversed(projection.metadata.sorted_tables):
            conn.execute(table.delete())
    order = interleave(events, rnd)
    while order:
        size = rnd.randint(1, 40)
        with engine.begin() as conn:
            projection.apply(conn, order[:size])
        order = order[size:]


@pytest.fixture
def demo(engine: Engine, tmp_path) -> tuple[Node, EmbeddedRunner]:  # type: ignore[no-untyped-def]
    node = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    runner = runner_for(node, AwardsProjection())
    run_demo(node)
    runner.run_until_idle()
    return node, runner


def test_the_demo_awards_match_the_story(demo: tuple[Node, EmbeddedRunner]) -> None:
    node, _ = demo
    with node.engine.connect() as conn:
        rows = {r["proposal_id"]: r for r in queries.proposals(conn, {}, limit=100)}
        found = {pid: queries.proposal(conn, pid) for pid in STORY}
        registry = queries.conferred(conn, limit=100)
        groups = queries.waiting_groups(conn)
    assert set(rows) == set(STORY)
    for pid, (form, nominee, state, holder, authority, steps, decision) in STORY.items():
        row = rows[pid]
        assert (row["form_code"], row["nominee_code"], row["nominee_name"]) == (form, nominee, NAMES[nominee])
        assert (row["state"], row["holder_path"], row["holder_authority"]) == (state, holder, authority), pid
        assert row["holder_index"] == len(found[pid]["route"]) - 1  # type: ignore[index]  # reached its decider
        assert len(found[pid]["steps"]) == steps, pid  # type: ignore[index]
        assert (row["decision_number"], row["decision_date"]) == (decision or (None, None))
    approved = sorted((d, pid) for pid, (*_, d) in STORY.items() if d)
    assert [(r["decision_date"], r["proposal_id"]) for r in registry] == [(d[1], pid) for d, pid in approved]
    assert [(r["decision_number"], r["nominee_name"]) for r in registry] == [
        (d[0], NAMES[STORY[pid][1]]) for d, pid in approved
    ]
    waiting = {(pid, s[3], s[4]) for pid, s in STORY.items() if s[2] == "PENDING"}
    assert {(g["holder_path"], g["holder_authority"], g["count"], g["to_decide"]) for g in groups} == {
        (holder, authority, 1, 1) for _, holder, authority in waiting
    }


def test_a_rebuild_in_any_cross_stream_order_equals_the_incremental_rows(demo: tuple[Node, EmbeddedRunner]) -> None:
    node, runner = demo
    _more_flows(node)
    runner.run_until_idle()
    live = snapshot(node.engine, AwardsProjection())
    assert len(live["awards_proposal"]) == len(STORY) + 3
    events = stored_events(node)
    for seed in range(3):
        rebuild(node.engine, AwardsProjection(), events, random.Random(seed))
        assert snapshot(node.engine, AwardsProjection()) == live, seed


def test_redelivery_from_zero_changes_nothing(demo: tuple[Node, EmbeddedRunner]) -> None:
    node, runner = demo
    before = snapshot(node.engine, AwardsProjection())
    with node.engine.begin() as conn:
        tracking.reset_position(conn, "awards")  # at-least-once: everything again, in other batch sizes
    runner.batch_size = 7
    runner.run_until_idle()
    assert snapshot(node.engine, AwardsProjection()) == before


def _more_flows(node: Node) -> None:
    """A return and a rejection (the demo has neither), and one proposal still with its proposer."""
    handle, school, when = node.bus.handle, f"{DAI_SON}/MN-DS", datetime(2027, 12, 2, 2, tzinfo=UTC)
    for pid in ("ret-1", "rej-1", "new-1"):
        handle(
            ProposeAward(
                pid,
                school,
                "COLLECTIVE",
                NAMES["MN-DS"],
                school,
                "GK_XA",
                "SO_KET",
                "Tốt",
                when,
                SYSTEM_ACTOR,
                plan_id="dai-son-draft-2026-06",
            )
        )
    handle(ForwardAward("ret-1", school, when, SYSTEM_ACTOR))
    handle(ReturnAward("ret-1", DAI_SON, "Thiếu biên bản họp Hội đồng", when, SYSTEM_ACTOR))
    handle(ForwardAward("rej-1", school, when, SYSTEM_ACTOR))
    handle(DecideAward("rej-1", DAI_SON, "REJECTED", when, SYSTEM_ACTOR, reason="Chưa đủ tiêu chuẩn"))


def test_returns_and_rejections_close_a_proposal_without_a_registry_entry(demo: tuple[Node, EmbeddedRunner]) -> None:
    node, runner = demo
    _more_flows(node)
    runner.run_until_idle()
    with node.engine.connect() as conn:
        returned, rejected, fresh = (queries.proposal(conn, p) for p in ("ret-1", "rej-1", "new-1"))
        registry = {r["proposal_id"] for r in queries.conferred(conn, limit=100)}
        groups = {(g["holder_path"], g["holder_authority"]): g for g in queries.waiting_groups(conn, DAI_SON)}
    assert returned and rejected and fresh
    assert (returned["state"], returned["holder_index"], returned["closing_reason"]) == (
        "RETURNED",
        0,
        "Thiếu biên bản họp Hội đồng",
    )
    assert [s["action"] for s in returned["steps"]] == ["PROPOSED", "FORWARDED", "RETURNED"]
    assert (rejected["state"], rejected["closing_reason"]) == ("REJECTED", "Chưa đủ tiêu chuẩn")
    assert registry == {"gk-ds-2026-1", "bk-lc-2026-1", "gk-px-2027-1"}
    at_school = groups[(f"{DAI_SON}/MN-DS", "THU_TRUONG_DON_VI")]
    assert (at_school["count"], at_school["at_proposer"], at_school["to_decide"]) == (1, 1, 0)
