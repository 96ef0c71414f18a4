"""The rollup on synthetic event sequences: incremental == rebuild == any interleaving of streams, and a node's
counters are its own reports plus its children's (hypothesis, in-memory SQLite with a tiny unit list)."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool

from projections.rollup import RollupProjection, figures, queries
from projections.rollup.evolve import COUNTERS
from projections.rollup.tables import metadata, rollup_count, rollup_slot
from services.kernel import contracts as c
from services.kernel.adminunits import AdminUnit, AdminUnitCatalog, UnitLevel, UnitType
from services.kernel.events import Event
from tests.factories import interleave

D = date(2026, 1, 1)
TINY = AdminUnitCatalog(
    [
        AdminUnit("01", UnitLevel.PROVINCE, UnitType.TINH, "Tỉnh Một", None, D),
        AdminUnit("02", UnitLevel.PROVINCE, UnitType.TINH, "Tỉnh Hai", None, D),
        AdminUnit("00001", UnitLevel.COMMUNE, UnitType.XA, "Xã Một", "01", D),
        AdminUnit("00002", UnitLevel.COMMUNE, UnitType.XA, "Xã Hai", "01", D),
        AdminUnit("00003", UnitLevel.COMMUNE, UnitType.XA, "Xã Ba", "02", D),
    ]
)
VN = {"code": "VN", "path": "VN", "level": "CENTRAL", "name": "Trung ương"}
P01 = {"code": "01", "path": "VN/01", "level": "PROVINCE", "name": "Tỉnh Một"}
C1 = {"code": "00001", "path": "VN/01/00001", "level": "COMMUNE", "name": "Xã Một"}
C2 = {"code": "00002", "path": "VN/01/00002", "level": "COMMUNE", "name": "Xã Hai"}
C3 = {"code": "00003", "path": "VN/02/00003", "level": "COMMUNE", "name": "Xã Ba"}
PHASES = [
    {"code": "P1", "name": "GĐ1", "start_date": date(2026, 1, 1), "end_date": date(2027, 12, 31), "review": "SO_KET"}
]


def duty(code: str, period: str, levels: list[str], kinds: list[str], under: str | None, **deadline: Any) -> dict:  # type: ignore[type-arg]
    """A ReportingDuty datum (deadline 'trước ngày 01/12' unless told)."""
    rule = deadline or {"deadline_kind": "BEFORE_DAY_OF_YEAR", "deadline_month": 12, "deadline_day": 1}
    base = {"deadline_kind": "NONE_STATED", "deadline_month": None, "deadline_day": None, "deadline_date": None}
    return {
        "code": code,
        "reporter_levels": levels,
        "reporter_under": under,
        "reporter_kinds": kinds,
        "reporter_name": None,
        "period": period,
        **base,
        **rule,
    }


class Events:
    """Valid events with per-stream versions, in the order they are built (a store order)."""

    def __init__(self) -> None:
        self.out: list[Event] = []
        self.versions: Counter[str] = Counter()
        self.report_versions: Counter[str] = Counter()

    def add(self, cls: type[Event], stream: str, data: dict, org: dict, when: datetime | None = None) -> Event:  # type: ignore[type-arg]
        self.versions[stream] += 1
        at = when or datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=len(self.out))
        meta = {"event_id": str(uuid.uuid4()), "stream_id": stream, "stream_version": self.versions[stream]}
        event = cls(meta={**meta, "occurred_at": at, "org_unit": org}, data=data, position=len(self.out) + 1)
        self.out.append(event)
        return event

    def unit(self, parent: str, code: str, kind: str) -> dict[str, Any]:
        ref = {"code": code, "path": f"{parent}/{code}", "level": "UNIT", "name": f"Đơn vị {code}"}
        data = {"unit": ref, "parent_path": parent, "name": ref["name"], "unit_kind": kind}
        self.add(c.OrgUnitRegistered, f"orgunit-{code}", data, ref)
        return ref

    def plan(self, plan_id: str, issuer: dict, implements: list[str], duties: list[dict], **doc: Any) -> None:  # type: ignore[type-arg]
        data = {
            "plan_id": plan_id,
            "issuer": issuer,
            "document_number": doc.get("number", "1"),
            "document_symbol": "KH-UBND",
            "issue_date": doc.get("issue_date", date(2026, 4, 1)),
            "title": f"Kế hoạch {plan_id}",
            "implements": implements,
            "phases": doc.get("phases", PHASES),
            "reporting_duties": duties,
            "plan_deadline": doc.get("plan_deadline"),
        }
        self.add(c.PlanIssued, f"plan-{plan_id}", data, issuer)

    def number(self, plan_id: str, issuer: dict, issue_date: date) -> None:  # type: ignore[type-arg]
        data = {"plan_id": plan_id, "document_number": "7", "issue_date": issue_date}
        self.add(c.PlanNumberAssigned, f"plan-{plan_id}", data, issuer)

    def amend(self, plan_id: str, issuer: dict, phases: list[dict]) -> None:  # type: ignore[type-arg]
        data = {"plan_id": plan_id, "amendment_no": 1, "reason": "Điều chỉnh", "title": None, "phases": phases}
        self.add(c.PlanAmended, f"plan-{plan_id}", data, issuer)

    def criteria(self, plan_id: str, issuer: dict, indicators: list[tuple[str, str, str, float]]) -> None:  # type: ignore[type-arg]
        items = [
            {
                "code": "I.1",
                "title": "Tiêu chí",
                "indicators": [
                    {"code": code, "name": code, "unit": unit, "comparator": cmp, "threshold": t, "threshold_max": None}
                    for code, unit, cmp, t in indicators
                ],
            }
        ]
        data = {
            "criteria_id": f"{plan_id}/{indicators[0][0]}",
            "plan_id": plan_id,
            "subject_category": "AGENCY_LOCALITY",
        }
        self.add(c.CriteriaRegistered, f"plan-{plan_id}", {**data, "items": items}, issuer)

    def submit(self, plan_id: str, unit: dict, period: str, values: dict[str, float], late: bool = False) -> None:  # type: ignore[type-arg]
        rid = f"{plan_id}:{unit['code']}:{period}"
        self.report_versions[rid] += 1
        data = {
            "report_id": rid,
            "plan_id": plan_id,
            "unit": unit,
            "period": period,
            "version": self.report_versions[rid],
            "values": [{"indicator_code": k, "value": v, "note": None} for k, v in values.items()],
            "deadline": date(int(period[-4:]), 11, 30),
            "late": late,
        }
        self.add(c.ReportSubmitted, f"report-{rid}", data, unit)

    def review(self, plan_id: str, unit: dict, period: str, outcome: str) -> None:  # type: ignore[type-arg]
        rid = f"{plan_id}:{unit['code']}:{period}"
        data = {"report_id": rid, "version": self.report_versions[rid], "outcome": outcome, "reviewer": P01}
        self.add(c.ReportReviewed, f"report-{rid}", data, unit)

    def register(self, plan_id: str, unit: dict, year: int, targets: dict[str, float]) -> None:  # type: ignore[type-arg]
        data = {"plan_id": plan_id, "unit": unit, "year": year}
        data["targets"] = [{"indicator_code": k, "value": v, "note": None} for k, v in targets.items()]
        self.add(c.TargetsRegistered, f"registration-{plan_id}:{unit['code']}:{year}", data, unit)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """Every row of every rollup table, sorted."""
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in metadata.sorted_tables}


def project(engine: Engine, batches: list[list[Event]], catalog: AdminUnitCatalog = TINY) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """Fresh rollup tables, the batches applied one transaction each; the resulting rows."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
    projection = RollupProjection(catalog)
    with engine.begin() as conn:
        projection.setup(conn)
    for batch in batches:
        with engine.begin() as conn:
            projection.apply(conn, batch)
    return snapshot(engine)


def assert_nodes_sum_their_children(engine: Engine) -> None:
    """Every counter row equals its direct children's own reports plus their rows (a node's own reports are not in
    its row), and every node with a report below it has a row."""
    with engine.connect() as conn:
        rows = conn.execute(select(rollup_count)).all()
        by_key = {(r.node_path, r.period, r.plan_id): {k: getattr(r, k) for k in COUNTERS} for r in rows}
        owners = {(s.unit_path, s.period) for s in conn.execute(select(rollup_slot))}
        nodes = {(node, period, plan) for node, period, plan in by_key} | {
            (path, period, plan) for path, period in owners for plan in {p for _, _, p in by_key}
        }
        for node, period, plan in nodes:
            expected: Counter[str] = Counter()
            for child, p2, plan2 in nodes:
                if (p2, plan2) == (period, plan) and child.rsplit("/", 1)[0] == node and child != node:
                    expected.update(queries.own_counts(conn, child, period, plan))
                    expected.update(by_key.get((child, period, plan), {}))
            total = by_key.get((node, period, plan), dict.fromkeys(COUNTERS, 0))
            assert total == {k: expected[k] for k in COUNTERS}, (node, period, plan)


def memory_engine() -> Engine:
    return create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})


KINDS = ["AGENCY", "PUBLIC_SERVICE_UNIT", "ENTERPRISE", "COOPERATIVE", "VILLAGE"]
AMOUNTS = st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2))


def plans(ev: Events, draw: st.DrawFn) -> None:
    """A national plan with criteria, a province plan with duties, a commune draft below it; maybe amended."""
    ev.plan("p0", VN, [], [], phases=[])
    ev.criteria("p0", VN, [("X", "%", "GE", 50.0), ("Y", "mô hình", "GE", 3.0)])
    kinds = draw(st.lists(st.sampled_from(["AGENCY", "ENTERPRISE", "LOCALITY"]), max_size=2, unique=True))
    duties = [duty("R1", "ANNUAL", ["UNIT", "COMMUNE"], kinds, None), duty("R2", "SO_KET", ["COMMUNE"], [], "VN/01")]
    ev.plan("p1", P01, ["p0"], duties, plan_deadline=date(2026, 6, 30))
    if draw(st.booleans()):
        ev.criteria("p1", P01, [("Z", "%", "LE", 5.0)])
    local = [duty("R1", "ANNUAL", ["UNIT"], [], C1["path"], deadline_kind="NONE_STATED")]
    ev.plan("p2", C1, ["p1"], local, number=None, issue_date=None)
    if draw(st.booleans()):
        ev.amend("p1", P01, [{**PHASES[0], "end_date": date(2026, 12, 31)}])  # the phase now ends in 2026
    if draw(st.booleans()):
        ev.number("p2", C1, date(2026, 7, 5))


def reports(ev: Events, draw: st.DrawFn, units: list[dict[str, Any]]) -> None:
    """Submissions (one version at a time: a new one only after a return), reviews and registrations."""
    outcome: dict[str, str | None] = {}
    for _ in range(draw(st.integers(0, 10))):
        plan, unit = draw(st.sampled_from(["p1", "p2"])), draw(st.sampled_from(units))
        period = draw(st.sampled_from(["2026", "2027", "SO_KET_2027"]))
        if draw(st.booleans()):
            targets = draw(st.dictionaries(st.sampled_from("XYZ"), AMOUNTS, max_size=2))
            ev.register(plan, unit, int(period[-4:]), targets)
            continue
        rid = f"{plan}:{unit['code']}:{period}"
        if rid in outcome and outcome[rid] == "ACCEPTED":
            continue
        if rid in outcome and outcome[rid] is None:
            ev.review(plan, unit, period, "RETURNED")
        ev.submit(
            plan, unit, period, draw(st.dictionaries(st.sampled_from("XYZ"), AMOUNTS, max_size=2)), draw(st.booleans())
        )
        outcome[rid] = draw(st.sampled_from([None, "ACCEPTED", "RETURNED"]))
        if outcome[rid]:
            ev.review(plan, unit, period, outcome[rid])  # type: ignore[arg-type]


@st.composite
def scenarios(draw: st.DrawFn) -> list[Event]:
    ev = Events()
    units = [C1, C2, C3]
    for i in range(draw(st.integers(0, 5))):
        parent = draw(st.sampled_from(["VN/01", "VN/02", *[u["path"] for u in units]]))
        units.append(ev.unit(parent, f"U-{i}", draw(st.sampled_from(KINDS))))
    plans(ev, draw)
    reports(ev, draw, units)
    return ev.out


def chunks(events: list[Event], rng: random.Random) -> list[list[Event]]:
    out, i = [], 0
    while i < len(events):
        size = rng.randint(1, 6)
        out.append(events[i : i + size])
        i += size
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.randoms(use_true_random=False))
def test_incremental_equals_rebuild_equals_any_interleaving(events: list[Event], rng: random.Random) -> None:
    engine = memory_engine()
    incremental = project(engine, [[e] for e in events])
    assert_nodes_sum_their_children(engine)
    assert project(engine, [events]) == incremental  # rebuild: everything in one batch
    assert project(engine, chunks(interleave(events, rng), rng)) == incremental  # a Kafka worker's order
    assert project(engine, [events, events]) == incremental  # at-least-once: a replay changes nothing


def test_a_parent_plan_arriving_last_still_judges_the_reports_below() -> None:
    ev = Events()
    ev.plan("p0", VN, [], [], phases=[])
    ev.criteria("p0", VN, [("X", "%", "GE", 50.0)])
    ev.plan("p1", P01, ["p0"], [])
    ev.plan("p2", C1, ["p1"], [duty("R1", "ANNUAL", ["UNIT"], [], C1["path"])])
    unit = ev.unit(C1["path"], "U-1", "AGENCY")
    ev.submit("p2", unit, "2026", {"X": 60.0})
    store_order = ev.out
    parent_last = [e for e in store_order if e.stream_id != "plan-p1"] + [
        e for e in store_order if e.stream_id == "plan-p1"
    ]
    engine = memory_engine()
    expected = project(engine, [[e] for e in store_order])
    assert project(engine, [[e] for e in parent_last]) == expected
    with engine.connect() as conn:
        (x,) = queries.indicator_plans(conn, "VN/01", "2026", None, None, None, 100)
    assert (x["indicator_code"], x["reports"], x["met"], x["definition"]["comparator"]) == ("X", 1, 1, "GE")


def test_indicators_roll_up_by_their_rule_and_units_meet_their_own_targets() -> None:
    ev = Events()
    ev.plan("p1", P01, [], [duty("R1", "ANNUAL", ["COMMUNE"], [], None)])
    ev.criteria("p1", P01, [("X", "%", "GE", 50.0), ("Y", "mô hình", "GE", 3.0)])
    ev.register("p1", C1, 2026, {"X": 55.0})
    ev.register("p1", C2, 2026, {"X": 45.0, "Y": 1.0})
    ev.submit("p1", C1, "2026", {"X": 60.0, "Y": 2.0})
    ev.submit("p1", C2, "2026", {"X": 40.0, "Y": 2.0}, late=True)
    engine = memory_engine()
    project(engine, [ev.out])
    with engine.connect() as conn:
        found = queries.indicator_plans(conn, "VN/01", "2026", None, None, None, 100)
        rows = {r["indicator_code"]: figures.indicator(r) for r in found}
        counts = queries.counts(conn, ["VN/01"], "2026")["VN/01"]
    x, y = rows["X"], rows["Y"]
    assert (x["aggregation"], x["value"], x["units_meeting"], x["share_meeting"]) == ("MEAN", 50.0, 1, 0.5)
    assert (y["aggregation"], y["value"], y["meets_target"], y["share_meeting"]) == ("SUM", 4.0, True, 0.0)
    assert figures.own_targets(counts) == {"units": 2, "met": 1, "share": 0.5}  # C1: 60 ≥ 55; C2: 40 < 45
    reported = figures.reporting(counts)
    assert (reported["expected"], reported["on_time"], reported["late"], counts["registered"]) == (2, 1, 1, 2)


def test_child_plans_against_the_parent_deadline() -> None:
    ev = Events()
    ev.plan("p1", P01, [], [], plan_deadline=date(2026, 6, 30))  # "trong Quý II/2026"
    ev.plan("c1", C1, ["p1"], [], issue_date=date(2026, 6, 20))
    ev.plan("c2", C2, ["p1"], [], number=None, issue_date=None)  # a draft is not issued yet
    ev.plan("c2b", C2, [], [], issue_date=date(2026, 5, 1))  # a plan of its own initiative: not implementing
    engine = memory_engine()
    project(engine, [ev.out])
    assert child_plan_states(engine) == {"c1": "ON_TIME", "c2": "DRAFT"}
    later = Events()
    later.versions = ev.versions
    later.number("c2", C2, date(2026, 7, 5))  # numbered after 30/6
    with engine.begin() as conn:
        RollupProjection(TINY).apply(conn, later.out)
    assert child_plan_states(engine) == {"c1": "ON_TIME", "c2": "LATE"}


def child_plan_states(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {p["plan_id"]: figures.child_plan(p)["state"] for p in queries.child_plans(conn, "VN/01")}


def test_a_node_that_reports_itself_adds_its_own_report_to_what_is_below_it() -> None:
    """Counter rows hold what is below a node; its own report is read from its slot and added back."""
    ev = Events()
    ev.plan("p1", P01, [], [duty("R1", "ANNUAL", ["COMMUNE", "UNIT"], [], None)])
    ev.criteria("p1", P01, [("X", "%", "GE", 50.0)])
    unit = ev.unit(C1["path"], "U-1", "AGENCY")
    ev.submit("p1", C1, "2026", {"X": 60.0})  # the commune's own report
    ev.submit("p1", unit, "2026", {"X": 30.0})  # its unit's
    engine = memory_engine()
    project(engine, [ev.out])
    with engine.connect() as conn:
        counts = queries.counts(conn, [C1["path"], unit["path"], P01["path"]], "2026")
        (commune,) = queries.indicators_by_code(conn, C1["path"], "2026")
        (per_plan,) = queries.indicator_plans(conn, C1["path"], "2026", None, None, None, 10)
        (leaf,) = queries.indicator_plans(conn, unit["path"], "2026", None, None, None, 10)
        (province,) = queries.indicators_by_code(conn, P01["path"], "2026")
    assert [(counts[p]["expected"], counts[p]["submitted"]) for p in (C1["path"], unit["path"], P01["path"])] == [
        (2, 2),
        (1, 1),
        (3, 2),  # Xã Hai is bound too and has not reported
    ]
    assert (commune["plans"], commune["reports"], commune["met"], commune["total_micro"]) == (1, 2, 1, 90_000_000)
    assert (per_plan["plan_id"], per_plan["reports"], per_plan["total_micro"]) == ("p1", 2, 90_000_000)
    assert per_plan["definition"]["comparator"] == "GE"
    assert (leaf["reports"], leaf["total_micro"], leaf["node_path"]) == (1, 30_000_000, unit["path"])
    assert (province["plans"], province["reports"], province["total_micro"]) == (1, 2, 90_000_000)


def test_criteria_re_judge_only_the_slots_of_their_plan_and_the_plans_below_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two communes' plans define the same code; one registers its criteria after the other's reports: only its own
    slots (and those below its plan) are re-judged, not every slot in the country using the code."""
    from projections.rollup import store

    ev = Events()
    ev.plan("p0", VN, [], [], phases=[])
    ev.plan("c1", C1, ["p0"], [duty("R1", "ANNUAL", ["UNIT"], [], C1["path"])])
    ev.plan("c2", C2, ["p0"], [duty("R1", "ANNUAL", ["UNIT"], [], C2["path"])])
    ev.criteria("c1", C1, [("X", "%", "GE", 50.0)])
    one, two = ev.unit(C1["path"], "U-1", "AGENCY"), ev.unit(C2["path"], "U-2", "AGENCY")
    ev.submit("c1", one, "2026", {"X": 60.0})
    ev.submit("c2", two, "2026", {"X": 40.0})  # judged once c2's criteria arrive
    ev.criteria("c2", C2, [("X", "%", "GE", 30.0)])
    asked: list[list[tuple[str, str, str]]] = []
    real = store.keys_using_codes
    monkeypatch.setattr(store, "keys_using_codes", lambda *a: asked.append(real(*a)) or asked[-1])
    engine = memory_engine()
    project(engine, [ev.out])
    assert asked[-1] == [("c2", "2026", two["path"])]  # c1's slot uses X too, and is left alone
    with engine.connect() as conn:
        met = {r["plan_id"]: r["met"] for r in queries.indicator_plans(conn, "VN", "2026", None, "X", None, 10)}
    assert met == {"c1": 1, "c2": 1}  # 60 ≥ 50 under c1's definition, 40 ≥ 30 under c2's
