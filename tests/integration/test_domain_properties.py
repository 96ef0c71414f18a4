"""Property: any sequence of commands either appends events that keep every aggregate's invariants,
or fails with a domain error and appends nothing (SQLite, from a template with the seeds imported)."""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.bootstrap import Node, bootstrap
from services.kernel.db import make_engine
from services.kernel.errors import ThiduaError
from services.kernel.events import decode_event
from services.kernel.settings import Settings
from services.kernel.store import GENESIS_HASH, link_hash
from services.kernel.tables import lookup
from services.kernel.tables import metadata as store_metadata
from services.planning.commands import AssignPlanNumber, IssueGuidance, IssuePlan
from services.planning.seed_import import import_seeds
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport
from tests.domain_fixtures import LAO_CAI_COMMUNE, at, register
from tests.factories import SYSTEM_ACTOR

pytestmark = pytest.mark.slow
DAI_SON = "VN/31/11086"
SCHOOL, SHOP = f"{DAI_SON}/U-1", f"{DAI_SON}/DN-1"
UNITS = [DAI_SON, SCHOOL, SHOP, LAO_CAI_COMMUNE, "VN/15", "VN/46", "VN/31", "VN", "VN/46/19753", "VN/31/U-404"]
PLANS = ["dai-son-draft-2026-06", "lao-cai-draft-2026-05", "hue-220-2026", "vn-462-2026", "new-a", "nope"]
FORMS = ["GK_XA", "BK_TINH", "BK_TTG", "CO_TINH", "HCLD_3", "GK_SO", "GK_UNIT", "XYZ"]
OCCASIONS = ["ANNUAL", "SO_KET", "TONG_KET", "DOT_XUAT", "BAD"]
PERIODS = ["2026", "2027", "SO_KET_2027", "2031", "20x6"]
DAYS = [at(2026, 6, 1), at(2026, 11, 30), at(2026, 12, 2), at(2027, 12, 15)]
PROPOSALS = ["p0", "p1", "p2"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    node = _node(folder / "t.db")
    import_seeds(node.bus.handle)
    register(node, DAI_SON, "U-1", "Trường Tiểu học Đại Sơn")
    register(node, DAI_SON, "DN-1", "Công ty Đại Sơn", kind="ENTERPRISE", category="ENTERPRISE")
    node.engine.dispose()
    return folder / "t.db"


def _node(path: Path) -> Node:
    engine = make_engine(f"sqlite:///{path}")
    store_metadata.create_all(engine)
    return bootstrap(Settings(data_dir=path.parent), engine=engine)


units, plans, days = st.sampled_from(UNITS), st.sampled_from(PLANS), st.sampled_from(DAYS)
actors = st.sampled_from([SCHOOL, DAI_SON, "VN/31", "VN", LAO_CAI_COMMUNE, "VN/15"])  # where routes pass
likely_reports = st.sampled_from([f"dai-son-draft-2026-06:{u}:2026" for u in ("U-1", "DN-1")])
proposals = st.sampled_from(PROPOSALS)
report_ids = likely_reports | st.builds(
    lambda p, u, per: f"{p}:{u.rsplit('/', 1)[-1]}:{per}", plans, units, st.sampled_from(PERIODS)
)
maybe = lambda s: st.none() | s  # noqa: E731
commands = st.one_of(
    st.builds(SubmitReport, plans, units, st.sampled_from(PERIODS), days, st.just(SYSTEM_ACTOR)),
    st.builds(
        ReviewReport,
        report_ids,
        actors,
        st.sampled_from(["ACCEPTED", "RETURNED", "X"]),
        days,
        st.just(SYSTEM_ACTOR),
        maybe(st.just("Thiếu số liệu")),
    ),
    st.builds(
        RegisterTargets,
        st.just("r"),
        plans,
        units,
        st.sampled_from([2026, 2031]),
        st.lists(
            st.builds(
                lambda c: {"indicator_code": c, "value": 1.0, "note": None}, st.sampled_from(["LC-38", "LC-01", "NOPE"])
            ),
            max_size=2,
        ).map(tuple),
        days,
        st.just(SYSTEM_ACTOR),
    ),
    st.builds(
        ProposeAward,
        proposals,
        actors,
        st.sampled_from(["COLLECTIVE", "INDIVIDUAL", "HOUSEHOLD"]),
        st.just("Nguyễn Văn A"),
        actors,
        st.sampled_from(FORMS),
        st.sampled_from(OCCASIONS),
        st.just("Tốt"),
        days,
        st.just(SYSTEM_ACTOR),
        maybe(plans),
    ),
    st.builds(ForwardAward, proposals, actors, days, st.just(SYSTEM_ACTOR)),
    st.builds(ForwardAward, proposals, actors, days, st.just(SYSTEM_ACTOR)),
    st.builds(ReturnAward, proposals, actors, st.just("Bổ sung"), days, st.just(SYSTEM_ACTOR)),
    st.builds(
        DecideAward,
        proposals,
        actors,
        st.sampled_from(["APPROVED", "REJECTED"]),
        days,
        st.just(SYSTEM_ACTOR),
        maybe(st.sampled_from(["12/QĐ-UBND", "7/QĐ-TTg"])),
        maybe(st.just(date(2027, 12, 20))),
        maybe(st.just("Chưa đủ tiêu chuẩn")),
    ),
    st.builds(
        IssuePlan,
        st.sampled_from(["new-a", "new-b"]),
        units,
        st.sampled_from(["KH-UBND", "bad"]),
        st.just("Kế hoạch"),
        days,
        st.just(SYSTEM_ACTOR),
        maybe(st.sampled_from(["220", "5"])),
        maybe(st.just(date(2026, 7, 1))),
        implements=st.lists(plans, max_size=1).map(tuple),
    ),
    st.builds(
        AssignPlanNumber,
        plans,
        st.sampled_from(["220", "9", "x"]),
        st.just(date(2026, 7, 2)),
        days,
        st.just(SYSTEM_ACTOR),
    ),
    st.builds(
        IssueGuidance,
        st.just("g"),
        units,
        st.just("Hướng dẫn"),
        st.lists(units, max_size=2).map(tuple),
        days,
        st.just(SYSTEM_ACTOR),
    ),
)


# Flows that mostly follow the rules (so accepted paths are exercised), with random actors mixed in.
ROUTES = [  # (proposer, form, occasion, plan, units along the route)
    (SCHOOL, "GK_XA", "SO_KET", "dai-son-draft-2026-06", [SCHOOL, DAI_SON]),
    (LAO_CAI_COMMUNE, "BK_TINH", "TONG_KET", "lao-cai-draft-2026-05", [LAO_CAI_COMMUNE, "VN/15"]),
    ("VN/46", "BK_TTG", "SO_KET", "hue-220-2026", ["VN/46", "VN"]),
]


@st.composite
def award_flow(draw: st.DrawFn) -> list[Any]:
    proposer, form, occasion, plan, along = draw(st.sampled_from(ROUTES))
    pid = draw(proposals | st.integers(0, 99).map(lambda i: f"f{i}"))
    acting = st.sampled_from([*along, *along, *along, SCHOOL, "VN/31", "VN/15"])  # mostly the right units
    flow: list[Any] = [
        ProposeAward(
            pid,
            proposer,
            "COLLECTIVE",
            "Tập thể",
            proposer,
            form,
            occasion,
            "Tốt",
            at(2027, 12, 10),
            SYSTEM_ACTOR,
            plan_id=plan,
        )
    ]
    flow += [ForwardAward(pid, draw(acting), at(2027, 12, 11), SYSTEM_ACTOR) for _ in range(draw(st.integers(0, 4)))]
    if draw(st.integers(0, 4)) == 0:
        flow.append(ReturnAward(pid, draw(acting), "Bổ sung hồ sơ", at(2027, 12, 12), SYSTEM_ACTOR))
    flow.append(
        DecideAward(
            pid,
            draw(acting),
            draw(st.sampled_from(["APPROVED", "REJECTED"])),
            at(2027, 12, 20),
            SYSTEM_ACTOR,
            "12/QĐ-UBND",
            date(2027, 12, 20),
            draw(maybe(st.just("Chưa đạt"))),
        )
    )
    return flow


@st.composite
def report_flow(draw: st.DrawFn) -> list[Any]:
    unit = draw(st.sampled_from([SCHOOL, SHOP]))
    rid = f"dai-son-draft-2026-06:{unit.rsplit('/', 1)[-1]}:2026"
    flow: list[Any] = []
    for _ in range(draw(st.integers(1, 3))):
        flow.append(SubmitReport("dai-son-draft-2026-06", unit, "2026", draw(days), SYSTEM_ACTOR))
        flow.append(
            ReviewReport(
                rid,
                draw(st.sampled_from([DAI_SON, DAI_SON, "VN/31", SCHOOL])),
                draw(st.sampled_from(["ACCEPTED", "RETURNED", "RETURNED"])),
                draw(days),
                SYSTEM_ACTOR,
                draw(maybe(st.just("Thiếu số liệu"))),
            )
        )
    return flow


sequences = st.lists(award_flow() | report_flow() | commands.map(lambda c: [c]), min_size=1, max_size=8).map(
    lambda flows: [c for flow in flows for c in flow]
)


def _lookups(node: Node) -> int:
    with node.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(lookup)).scalar_one()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequences)
def test_commands_append_valid_events_or_nothing(template: Path, tmp_path: Path, sequence: list[Any]) -> None:
    db = tmp_path / f"run-{id(sequence)}.db"
    shutil.copy(template, db)
    node = _node(db)
    try:
        for command in sequence:
            head, lookups = node.store.head_position(), _lookups(node)
            try:
                node.bus.handle(command)
            except ThiduaError as refusal:
                event(f"refused {refusal.code}")
                assert (node.store.head_position(), _lookups(node)) == (head, lookups), command
            else:
                event(f"accepted {type(command).__name__}")
                assert node.store.head_position() > head
        check_invariants(node)
    finally:
        node.engine.dispose()
        db.unlink()


def check_invariants(node: Node) -> None:
    """Hash chain, one document number per issuer and year, and the award and report life cycles."""
    streams: dict[str, list[Any]] = defaultdict(list)
    prev = GENESIS_HASH
    for stored in node.store.read_all(0, 100_000):
        assert stored.prev_hash == prev and stored.hash == link_hash(prev, stored.body)
        prev = stored.hash
        streams[stored.stream_id].append(decode_event(stored.body, node.codec, node.bus.types))
    documents: set[tuple[str, int, str]] = set()
    for stream, events in streams.items():
        assert [e.meta["stream_version"] for e in events] == list(range(1, len(events) + 1))
        if stream.startswith("plan-"):
            _check_plan(events, documents)
        elif stream.startswith("award-"):
            _check_award(events)
        elif stream.startswith("report-"):
            _check_report(events)


def _check_plan(events: list[Any], documents: set[tuple[str, int, str]]) -> None:
    issuer = events[0].data["issuer"]["path"]
    for e in events:
        if e.NAME in ("PlanIssued", "PlanNumberAssigned") and e.data["document_number"]:
            key = (issuer, e.data["issue_date"].year, e.data["document_number"])
            assert key not in documents, key
            documents.add(key)


def _check_award(events: list[Any]) -> None:
    assert events[0].NAME == "AwardProposed"
    route, holder = events[0].data["route"], 0
    assert route[0]["role"] == "PROPOSE" and route[-1]["role"] == "DECIDE"
    for i, e in enumerate(events[1:], start=1):
        assert e.meta["org_unit"]["path"] == route[holder]["org_unit"]["path"]  # only the holder acts
        if e.NAME == "AwardForwarded":
            assert route[holder]["role"] != "DECIDE"
            holder += 1
        else:
            assert i == len(events) - 1  # a return or a decision closes the proposal
            if e.NAME == "AwardDecided":
                assert holder == len(route) - 1


def _check_report(events: list[Any]) -> None:
    version, reviewed = 0, None
    for e in events:
        if e.NAME == "ReportSubmitted":
            assert version == 0 or reviewed == "RETURNED"
            assert e.data["version"] == version + 1
            version, reviewed = version + 1, None
        else:
            assert reviewed is None and e.data["version"] == version
            reviewed = e.data["outcome"]
