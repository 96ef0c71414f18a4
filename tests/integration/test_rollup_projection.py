"""The rollup on the demo's simulated year, on SQLite and PostgreSQL: its numbers against an independent
computation from ``services/demo/data.py``, incremental == rebuild == an interleaving of streams."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import Engine

from projections.rollup import figures, queries
from projections.runner import EmbeddedRunner
from services.bootstrap import Node, bootstrap
from services.demo.data import DAI_SON, DAI_SON_REPORTS, HUE, LAO_CAI, LAO_CAI_BLOCS, LAO_CAI_TARGETS, UNITS
from services.demo.year import run_demo
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import decode_event
from services.kernel.settings import Settings
from tests.factories import interleave
from tests.integration.test_rollup_scenarios import assert_nodes_sum_their_children, project, snapshot

# The duty families as the write side defines them (services/registry/lookup.py), written out again here.
AGENCY_FAMILY = {"AGENCY", "PUBLIC_SERVICE_UNIT", "MTTQ", "SOCIO_POLITICAL"}
ENTERPRISE_FAMILY = {"ENTERPRISE", "COOPERATIVE"}


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    """The demo's year in the store, and the rollup alone applied to it in small batches (7 events each)."""
    built = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    run_demo(built)
    mine = [p for p in built.projections if p.name == "rollup"]  # the rollup alone, whatever other read models do
    runner = EmbeddedRunner(engine, built.store, built.codec, EVENT_TYPES, mine, batch_size=7)
    runner.setup()
    runner.run_until_idle()
    return built


def units_under(parent_prefix: str) -> dict[str, str]:
    return {code: kind for parent, code, _, kind, *_ in UNITS if (parent + "/").startswith(parent_prefix + "/")}


def direct(parent_path: str, families: set[str], receivers: set[str]) -> set[str]:
    """Units directly under ``parent_path`` of ``families``, the receiving offices (agency types) left out."""
    return {
        code
        for parent, code, _, kind, _, _, agency in UNITS
        if parent == parent_path and kind in families and agency not in receivers
    }


def test_dai_son_2026_matches_an_independent_computation(node: Node) -> None:
    # R1 of xã Đại Sơn: units directly below VN/31/11086 of the AGENCY and ENTERPRISE families, but not Phòng VH-XH
    # (the reports go through it) nor Phòng Kinh tế, held to its own R2, which states no date.
    r1 = direct(DAI_SON, AGENCY_FAMILY | ENTERPRISE_FAMILY, {"PHONG_VHXH", "PHONG_KINH_TE"})
    bound = r1 | {"PKT-DS"}
    reported = {code: date(2026, month, day) for code, day, month in DAI_SON_REPORTS}
    due = date(2026, 12, 1)  # "trước ngày 01/12": 01/12 onwards is late, under R1 only
    late = {code for code, day in reported.items() if day >= due and code in r1} | {"TH-DS"}  # TH-DS resubmitted 04/12
    on_time = (set(reported) & r1) - late
    with node.engine.connect() as conn:
        counts = queries.counts(conn, [DAI_SON, "VN/31"], "2026")
        missing = queries.reports(conn, DAI_SON, "2026", "missing", None, None, 100)
        late_rows = queries.reports(conn, DAI_SON, "2026", "late", None, None, 100)
    numbers = figures.reporting(counts[DAI_SON])
    assert (len(bound), len(reported), len(late)) == (8, 7, 3)
    assert numbers["expected"] == len(bound) and numbers["submitted"] == len(reported)
    assert (numbers["on_time"], numbers["late"], numbers["missing"], numbers["undated"]) == (len(on_time), 3, 1, 1)
    assert numbers["reporting_rate"] == round(len(reported) / len(bound), 4) == 0.875
    assert numbers["on_time_rate"] == round(len(on_time) / len(r1), 4) == 0.4286  # over the dated duty's reports
    assert {r["unit_path"].rsplit("/")[-1] for r in missing} == bound - set(reported) == {"HTX-DS"}
    assert {r["unit_path"].rsplit("/")[-1] for r in late_rows} == late
    assert numbers["accepted"] == 3 and numbers["returned"] == 0  # THCS-DS, DN-DS1 and TH-DS's version 2
    assert counts["VN/31"] == counts[DAI_SON]  # Hải Phòng's only reports are Đại Sơn's


def test_provinces_expect_their_communes_and_bound_units(node: Node) -> None:
    official = node.official_units
    # Huế's R1: sở, ban, ngành directly under the city (not Sở KH&CN, Sở Nội vụ: they receive it) and its communes.
    hue_units = direct(HUE, AGENCY_FAMILY, {"SO_KHCN", "SO_NOI_VU"})
    # Lào Cai's R1: the members of its khối thi đua (demo: the sở registered in 15-K01, the communes 15-K12 lists),
    # never Sở Nội vụ, which receives it.
    k01 = {f"{LAO_CAI}/{c}" for parent, c, _, _, _, bloc, agency in UNITS if bloc == "15-K01" and agency != "SO_NOI_VU"}
    lao_cai_bound = k01 | set(next(m for code, _, m in LAO_CAI_BLOCS if code == "15-K12"))
    provinces = [HUE, LAO_CAI, "VN/75", "VN/31"]
    with node.engine.connect() as conn:
        counts = queries.counts(conn, [*provinces, "VN"], "2026")
    hue, lao_cai = counts[HUE], counts[LAO_CAI]
    assert hue["expected"] == len(official.communes("46")) + len(hue_units) == 41
    assert hue["submitted"] == hue["undated"] == 2  # SNNMT-46 and Phường Phú Xuân; Huế states no deadline
    assert hue["extra_submitted"] == 1 and figures.reporting(hue)["on_time_rate"] is None  # BV-KL is not bound
    assert lao_cai["expected"] == len(lao_cai_bound) == 5
    registered = set(LAO_CAI_TARGETS)
    assert (lao_cai["registered"], lao_cai["extra_registered"]) == (
        len(registered & lao_cai_bound),
        len(registered - lao_cai_bound),
    )
    assert (lao_cai["target_units"], lao_cai["target_met"]) == (len(LAO_CAI_TARGETS), 0)  # reports carry no figures
    total: Counter[str] = Counter()
    for province in provinces:
        total.update(counts[province])
    assert {k: total[k] for k in counts["VN"]} == counts["VN"]


def test_nodes_sum_their_children_and_incremental_equals_rebuild_and_an_interleaving(node: Node) -> None:
    assert_nodes_sum_their_children(node.engine)
    incremental = snapshot(node.engine)
    events = [decode_event(s.body, node.codec, EVENT_TYPES, s.position) for s in node.store.read_all(0, 10_000)]
    assert project(node.engine, [events], node.official_units) == incremental
    mixed = interleave(events, random.Random(462))
    assert mixed != events
    assert project(node.engine, [mixed[i : i + 5] for i in range(0, len(mixed), 5)], node.official_units) == incremental
