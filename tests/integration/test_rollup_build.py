"""The rollup's set-based build from scratch (``projections.rollup.build``: one work over every batch, rows written
once at the end by COPY) against its incremental path, every row of every table: on synthetic histories (amended
plans, late criteria, reviews, targets, several provinces; hypothesis, SQLite in memory), on a fixed history and on
a generated one, on SQLite and PostgreSQL; with a capacity small enough that the build writes out and reads back
several times. The comparison itself is shown to fail on a changed row."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from projections import versions
from projections.base import Projection, from_scratch
from projections.rollup import RollupProjection
from projections.rollup.tables import metadata, rollup_slot
from services.kernel import contracts as c
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.events import Event
from tests.factories import interleave
from tests.integration.test_order_free import generated
from tests.integration.test_rollup_scenarios import (
    C1,
    C2,
    C3,
    P01,
    PHASES,
    TINY,
    VN,
    Events,
    chunks,
    duty,
    memory_engine,
    project,
    scenarios,
    snapshot,
)

Tables = dict[str, list[tuple[Any, ...]]]


def built(engine: Engine, batches: list[list[Event]], capacity: int, catalog: AdminUnitCatalog = TINY) -> Tables:
    """Fresh rollup tables built from scratch by the set-based path (``from_scratch``), batch by batch, written at
    the end in the last batch's transaction; the resulting rows."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
    projection = RollupProjection(catalog)
    projection.build_capacity = capacity
    with engine.begin() as conn:
        projection.setup(conn)
    apply_from_scratch(engine, projection, batches)
    return snapshot(engine)


def apply_from_scratch(engine: Engine, projection: Projection, batches: list[list[Event]]) -> None:
    """Apply ``batches`` (a transaction each) as a build from scratch, its rows written at the end."""
    with from_scratch([projection]) as finish:
        for batch in batches:
            with engine.begin() as conn:
                projection.apply(conn, batch)
        with engine.begin() as conn:
            finish(conn)


def differences(expected: Tables, found: Tables) -> list[str]:
    """The tables whose rows differ (an empty list: the same rows everywhere)."""
    assert expected.keys() == found.keys()
    return [name for name in expected if expected[name] != found[name]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.randoms(use_true_random=False), st.integers(1, 8))
def test_a_set_based_build_equals_the_incremental_path(events: list[Event], rng: random.Random, capacity: int) -> None:
    engine = memory_engine()
    incremental = project(engine, [[e] for e in events])
    assert differences(incremental, built(engine, [events], 10_000)) == []
    assert differences(incremental, built(engine, chunks(events, rng), capacity)) == []  # writes out and reads back
    assert differences(incremental, built(engine, chunks(interleave(events, rng), rng), capacity)) == []


def bloc(ev: Events, code: str, members: list[str]) -> None:
    """A khối thi đua of province VN/01 (registered again: its latest members stand)."""
    data = {"bloc_code": code, "name": f"Khối {code}", "kind": "KHOI", "province": P01, "members": members}
    ev.add(c.EmulationBlocRegistered, f"bloc-{code}", {**data, "source_document": None}, P01)


def fixed_history() -> list[Event]:
    """Plans over two provinces, a draft numbered later, an amended plan, criteria after the reports they judge,
    registrations, submissions, returns and acceptances; a plan binding the members of a khối thi đua, the bloc
    registered (before a member is) and registered again with other members."""
    ev = Events()
    units = [C1, C2, C3, *(ev.unit(p, f"U-{i}", "AGENCY") for i, p in enumerate(["VN/01", "VN/02", C1["path"]]))]
    ev.plan("p0", VN, [], [], phases=[])
    duties = [duty("R1", "ANNUAL", ["UNIT", "COMMUNE"], [], None), duty("R2", "SO_KET", ["COMMUNE"], [], "VN/01")]
    ev.plan("p1", P01, ["p0"], duties, plan_deadline=date(2026, 6, 30))
    ev.plan("p2", C1, ["p1"], [duty("R1", "ANNUAL", ["UNIT"], [], C1["path"])], number=None, issue_date=None)
    for i, unit in enumerate(units):
        ev.register("p1", unit, 2026, {"X": 10.0 + i, "Z": 4.0})
        ev.submit("p1", unit, "2026", {"X": 40.0 + 5 * i, "Z": float(i)}, late=i % 2 == 0)
        ev.review("p1", unit, "2026", "RETURNED" if i == 1 else "ACCEPTED")
        ev.submit("p2", unit, "2027", {"Y": float(i)})
    ev.submit("p1", units[1], "2026", {"X": 70.0}, late=True)  # after the return
    ev.criteria("p0", VN, [("X", "%", "GE", 50.0), ("Y", "mô hình", "GE", 3.0)])  # late: re-judges the slots
    ev.criteria("p1", P01, [("Z", "%", "LE", 5.0)])
    ev.amend("p1", P01, [{**PHASES[0], "end_date": date(2026, 12, 31)}])
    ev.number("p2", C1, date(2026, 7, 5))
    ev.submit("p1", units[4], "SO_KET_2027", {"X": 1.0})
    member = {**duty("R3", "ANNUAL", ["UNIT"], [], "VN/01"), "reporter_member_of": "KHOI_THI_DUA"}
    ev.plan("p3", P01, ["p1"], [member])
    bloc(ev, "K1", [units[3]["path"], "VN/01/U-9"])
    late = ev.unit("VN/01", "U-9", "AGENCY")  # a member registered after its bloc
    ev.submit("p3", late, "2026", {"X": 55.0})
    bloc(ev, "K1", [units[5]["path"], "VN/01/U-9"])
    ev.submit("p3", units[5], "2027", {"Z": 2.0})
    return ev.out


def on_backend(engine: Engine) -> None:
    """The fixed history both ways on ``engine`` (the rollup's live tables, created and dropped here)."""
    events = fixed_history()
    try:
        incremental = project(engine, [events[i : i + 3] for i in range(0, len(events), 3)])
        assert sum(map(len, incremental.values())) > 40
        for capacity in (10_000, 5):
            assert (
                differences(incremental, built(engine, [events[i : i + 4] for i in range(0, len(events), 4)], capacity))
                == []
            )
        rng = random.Random(3)
        assert differences(incremental, built(engine, chunks(interleave(events, rng), rng), 5)) == []
        # the comparison can fail: one changed row is found, by table
        with engine.begin() as conn:
            conn.execute(
                update(rollup_slot).where(rollup_slot.c.unit_path == C1["path"]).values(late=True, status="LATE")
            )
        assert differences(incremental, snapshot(engine)) == ["rollup_slot"]
    finally:
        metadata.drop_all(engine)


def test_a_set_based_build_equals_the_incremental_path_on_each_backend(engine: Engine) -> None:
    on_backend(engine)


def test_the_product_build_equals_the_incremental_path_on_a_generated_history(engine: Engine, tmp_path: Path) -> None:
    """The node's rollup applied by the embedded runner (incremental, position order) against a blue/green build of
    it (order-free order, set-based, COPY on PostgreSQL), every row."""
    node, _ = generated(engine, tmp_path)
    rollup = next(p for p in node.projections if p.name == "rollup")
    node.runner.run_until_idle()
    with engine.connect() as conn:
        expected = {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in metadata.sorted_tables}
    assert len(expected["rollup_slot"]) > 100
    with engine.begin() as conn:
        conn.execute(
            versions.readmodel_version.update()
            .where(versions.readmodel_version.c.projection == "rollup")
            .values(version=0)
        )
    assert node.builder().build_many([rollup])
    with engine.connect() as conn:
        found = {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in metadata.sorted_tables}
    assert differences(expected, found) == []
