"""The guidance read model on both backends: incremental == rebuild, any interleaving of streams, and the demo."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select

from projections import tracking
from projections.guidance import GuidanceProjection
from projections.guidance.compose import guidance
from projections.guidance.tables import metadata
from services.awards import load_authority_matrix
from services.bootstrap import Node, bootstrap
from services.demo.data import DAI_SON, LAO_CAI, LAO_CAI_TARGETS
from services.demo.year import run_demo
from services.kernel.errors import UnknownOrgUnit
from services.kernel.events import Event, decode_event
from services.kernel.settings import Settings
from services.kernel.vntime import business_day
from services.planning.commands import AmendPlan, AssignPlanNumber, IssueGuidance
from tests.domain_fixtures import at
from tests.factories import SYSTEM_ACTOR

MATRIX = load_authority_matrix()
ON = date(2026, 12, 15)
CHAIN = ["vn-462-2026", "hai-phong-2159-2026", "dai-son-draft-2026-06"]


def demo(node: Node) -> Node:
    """``node`` after ``thidua demo`` and two guidance documents, tailed in small batches (incremental)."""
    node.runner.projections = [p for p in node.runner.projections if p.name == "guidance"]  # this read model only
    node.init_db()
    run_demo(node)
    node.runner.run_until_idle()
    handle = node.bus.handle
    handle(IssueGuidance("hd-hp-1", "VN/31", "Hướng dẫn khen thưởng sơ kết", (DAI_SON,), at(2027, 10, 1), SYSTEM_ACTOR))
    handle(IssueGuidance("hd-lc-1", LAO_CAI, "Hướng dẫn đăng ký thi đua", (LAO_CAI,), at(2026, 5, 20), SYSTEM_ACTOR))
    node.runner.run_until_idle()
    return node


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    """The demo on each backend."""
    return demo(bootstrap(Settings(data_dir=tmp_path, node_id="p31", projection_batch_size=7), engine=engine))


@pytest.fixture(scope="module")
def sqlite_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """The demo once on SQLite, for the read-only checks."""
    folder = tmp_path_factory.mktemp("guidance")
    built = demo(bootstrap(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/g.db", projection_batch_size=7)))
    yield built
    built.close()


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the guidance tables, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            keys = [c.name for c in table.primary_key.columns]
            rows = [r._asdict() for r in conn.execute(select(table))]
            out[table.name] = sorted(rows, key=lambda r: [str(r[k]) for k in keys])
    return out


def stored_events(node: Node) -> list[Event]:
    return [decode_event(s.body, node.codec, node.bus.types, s.position) for s in node.store.read_all(0, 100_000)]


def interleave(events: list[Event], rng: random.Random) -> list[Event]:
    """A random order of ``events`` that keeps each stream's own order (what Kafka partitions guarantee)."""
    streams: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        streams[event.stream_id].append(event)
    tokens = [s for s, evs in streams.items() for _ in evs]
    rng.shuffle(tokens)
    cursors = {s: iter(evs) for s, evs in streams.items()}
    return [next(cursors[s]) for s in tokens]


def replay(node: Node, events: list[Event], rng: random.Random | None = None) -> None:
    """Fresh tables, then ``events`` applied in batches (random sizes with ``rng``, else one batch)."""
    metadata.drop_all(node.engine)
    metadata.create_all(node.engine)
    projection, start = GuidanceProjection(), 0
    while start < len(events):
        size = rng.randint(1, 12) if rng else len(events)
        with node.engine.begin() as conn:
            projection.apply(conn, events[start : start + size])
        start += size


def test_incremental_equals_rebuild_and_any_interleaving(node: Node) -> None:
    handle = node.bus.handle
    handle(AssignPlanNumber("dai-son-draft-2026-06", "150", date(2026, 6, 25), at(2026, 6, 25), SYSTEM_ACTOR))
    handle(AmendPlan("lao-cai-draft-2026-05", "Điều chỉnh tên", at(2026, 7, 1), SYSTEM_ACTOR, title="Kế hoạch (sửa)"))
    node.runner.run_until_idle()
    live = snapshot(node.engine)
    assert len(live["guidance_report"]) == 13 and len(live["guidance_document_target"]) == 2
    assert len(live["guidance_bloc"]) == 2 and {u["agency_type"] for u in live["guidance_unit"]} >= {"SO_NOI_VU"}
    events = stored_events(node)
    with node.engine.begin() as conn:
        tracking.reset_position(conn, "guidance")
    metadata.drop_all(node.engine)
    metadata.create_all(node.engine)
    node.runner.batch_size = 10_000
    node.runner.run_until_idle()  # rebuild from scratch, one batch
    assert snapshot(node.engine) == live
    for seed in (1, 2):
        replay(node, interleave(events, random.Random(seed)), random.Random(seed))
        assert snapshot(node.engine) == live


def test_demo_guidance_of_a_dai_son_school(node: Node) -> None:
    with node.engine.connect() as conn:
        view = guidance(conn, node.official_units, MATRIX, "THCS-DS", ON)
    assert view["unit"]["path"] == "VN/31/11086/THCS-DS"
    assert [p["plan_id"] for p in view["plans"]] == CHAIN
    assert [c["subject_category"] for c in view["criteria"]] == ["AGENCY_LOCALITY"]
    r1 = next(d for d in view["reporting_duties"] if d["code"] == "R1")
    assert (r1["plan_id"], r1["current"]["deadline"], r1["current"]["state"]) == (CHAIN[2], "2026-11-30", "SUBMITTED")
    assert r1["current"]["report"]["review"] == "ACCEPTED" and r1["next"]["state"] == "DUE"
    forms = {(a["occasion"], a["form_code"]): a for a in view["award_forms"]}
    gk = forms[("ANNUAL", "GK_XA")]
    assert (gk["basis"], gk["decider"]["authority"]) == ("BY_AUTHORITY", "CHU_TICH_UBND_XA")
    assert gk["decider"]["authority_label"] == "Chủ tịch Ủy ban nhân dân cấp xã"
    assert gk["decider"]["org_unit"] == {"path": DAI_SON, "name": "Xã Đại Sơn"}
    bk = forms[("SO_KET", "BK_TINH")]
    assert [s["org_unit"]["path"] for s in bk["route"]] == ["VN/31/11086/THCS-DS", DAI_SON, "VN/31"]
    assert bk["decider"]["org_unit"]["name"] == "Thành phố Hải Phòng" and bk["route"][-1]["role"] == "DECIDE"
    assert [d["guidance_id"] for d in view["guidance_documents"]] == ["hd-hp-1"]


def test_demo_states_of_late_and_missing_reports(sqlite_node: Node) -> None:
    node = sqlite_node
    with node.engine.connect() as conn:
        states = {
            code: next(d for d in guidance(conn, node.official_units, MATRIX, code, ON)["reporting_duties"])["current"]
            for code in ("TH-DS", "TYT-DS", "HTX-DS")
        }
    assert states["TH-DS"]["state"] == "LATE" and states["TH-DS"]["report"]["version"] == 2  # returned, resubmitted
    assert states["TYT-DS"]["state"] == "LATE" and states["HTX-DS"]["state"] == "MISSING"


def test_demo_targets_of_lao_cai_units(sqlite_node: Node) -> None:
    node = sqlite_node
    with node.engine.connect() as conn:
        for path, targets in LAO_CAI_TARGETS.items():
            view = guidance(conn, node.official_units, MATRIX, path.rsplit("/", 1)[1], ON)
            assert [p["plan_id"] for p in view["plans"]] == ["vn-462-2026", "lao-cai-draft-2026-05"]
            (registration,) = view["targets"]
            found = [(t["indicator_code"], t["value"]) for t in registration["targets"]]
            assert found == targets and all(c.startswith("LC-") for c, _ in found)
            assert all(t["indicator"]["name"] for t in registration["targets"])  # each beside its indicator


def test_guidance_reaches_the_addressed_subtree_only(sqlite_node: Node) -> None:
    node = sqlite_node

    def documents(code: str) -> list[str]:
        with node.engine.connect() as conn:
            view = guidance(conn, node.official_units, MATRIX, code, ON)
        return [d["guidance_id"] for d in view["guidance_documents"]]

    assert documents("11086") == documents("HTX-DS") == ["hd-hp-1"]
    assert documents("31") == documents("07627") == documents("10507") == []  # above, the other Đại Sơn, a sibling
    assert documents("15") == documents("DN-BATXAT") == ["hd-lc-1"] and documents("SKHCN-46") == []


def test_award_routes_match_the_routes_the_write_side_computed(sqlite_node: Node) -> None:
    node = sqlite_node
    proposed = [e for e in stored_events(node) if e.NAME == "AwardProposed"]
    assert len(proposed) == 5
    with node.engine.connect() as conn:
        for event in proposed:
            d = event.data
            view = guidance(conn, node.official_units, MATRIX, d["proposer"]["code"], business_day(event.occurred_at))
            offer = next(
                a
                for a in view["award_forms"]
                if (a["plan_id"], a["occasion"], a["form_code"]) == (d["plan_id"], d["occasion"], d["form_code"])
            )
            expected = [(s["org_unit"]["path"], s["role"], s["authority"]) for s in d["route"]]
            assert [(s["org_unit"]["path"], s["role"], s["authority"]) for s in offer["route"]] == expected


def test_unknown_units_are_refused(sqlite_node: Node) -> None:
    node = sqlite_node
    with node.engine.connect() as conn, pytest.raises(UnknownOrgUnit):
        guidance(conn, node.official_units, MATRIX, "NOPE-1", ON)
