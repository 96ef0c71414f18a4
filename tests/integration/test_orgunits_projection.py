"""The embedded loop end to end: command → event store → tail → org-unit read model, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from projections import tracking
from projections.orgunits import queries
from projections.orgunits.tables import orgunit_unit
from services.bootstrap import Node, bootstrap
from services.kernel.errors import OrgUnitExists, UnknownOrgUnit
from services.kernel.settings import Settings
from services.registry.commands import RegisterOrgUnit
from tests.factories import SYSTEM_ACTOR, guidance_issued

WHEN = datetime(2026, 5, 4, 8, 30, tzinfo=UTC)


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    built = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    built.init_db()
    return built


def register(node: Node, parent: str, code: str, name: str = "Trường Tiểu học Đại Sơn") -> None:
    node.bus.handle(
        RegisterOrgUnit(
            parent, code, name, "PUBLIC_SERVICE_UNIT", WHEN, SYSTEM_ACTOR, subject_category="AGENCY_LOCALITY"
        )
    )


def rows(node: Node) -> dict[str, dict]:  # type: ignore[type-arg]
    with node.engine.connect() as conn:
        return {r.path: r._asdict() for r in conn.execute(select(orgunit_unit).where(orgunit_unit.c.source == "EVENT"))}


def test_reference_rows_are_seeded_once(node: Node) -> None:
    node.init_db()  # second start: no duplicates
    with node.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(orgunit_unit)).scalar_one()
        dai_son = conn.execute(select(orgunit_unit).where(orgunit_unit.c.code == "11086")).one()
    assert count == 1 + 34 + 3321
    assert (dai_son.path, dai_son.parent_path, dai_son.name) == ("VN/31/11086", "VN/31", "Xã Đại Sơn")


def test_registered_units_reach_the_read_model(node: Node) -> None:
    register(node, "VN/31/11086", "U-00042")
    register(node, "VN/31/11086/U-00042", "TO-1", "Tổ chuyên môn 1")
    node.store.append("guidance-1", 0, [guidance_issued()])  # an event this read model ignores
    assert node.runner.run_until_idle() == 4  # and the node key's announcement (ignored too)
    units = rows(node)
    assert set(units) == {"VN/31/11086/U-00042", "VN/31/11086/U-00042/TO-1"}
    assert units["VN/31/11086/U-00042"]["parent_path"] == "VN/31/11086"
    assert units["VN/31/11086/U-00042/TO-1"]["depth"] == 4
    assert node.runner.lag()["orgunits"] == 0 and set(node.runner.lag().values()) == {0}
    assert node.runner.run_until_idle() == 0


def test_replaying_from_zero_changes_nothing(node: Node) -> None:
    register(node, "VN/31/11086", "U-00042")
    node.runner.run_until_idle()
    before = rows(node)
    with node.engine.begin() as conn:
        tracking.reset_position(conn, "orgunits")  # at-least-once delivery: everything again
    node.runner.run_until_idle()
    assert rows(node) == before


def test_handler_refusals_write_nothing(node: Node) -> None:
    register(node, "VN/31/11086", "U-00042")
    with pytest.raises(OrgUnitExists):
        register(node, "VN/31/11086", "U-00042")
    with pytest.raises(UnknownOrgUnit):
        register(node, "VN/46/11086", "U-7")  # 11086 is a commune of Hải Phòng (31), not of Huế (46)
    with pytest.raises(UnknownOrgUnit):
        register(node, "VN/31/11086/U-404", "U-8")
    with pytest.raises(OrgUnitExists):
        register(node, "VN/31", "11086")  # an official code cannot be registered again
    assert node.store.head_position() == 2  # the node key's announcement and the first registration


def test_subtree_and_ancestor_queries(node: Node) -> None:
    register(node, "VN/31/11086", "U-00042")
    register(node, "VN/31/11086/U-00042", "TO-1", "Tổ chuyên môn 1")
    register(node, "VN/31", "SO-NV", "Sở Nội vụ thành phố Hải Phòng")
    node.runner.run_until_idle()
    with node.engine.connect() as conn:
        chain = queries.ancestors(conn, "VN/31/11086/U-00042/TO-1")
        below_dai_son = queries.subtree(conn, "VN/31/11086")
        hai_phong = queries.subtree(conn, "VN/31", max_depth=1)
        bac_ninh_dai_son = queries.subtree(conn, "VN/24/07627")
    assert [a["code"] for a in chain] == ["VN", "31", "11086", "U-00042"]
    assert [u["path"] for u in below_dai_son] == ["VN/31/11086", "VN/31/11086/U-00042", "VN/31/11086/U-00042/TO-1"]
    assert len(hai_phong) == 1 + 114 + 1  # the city, its 114 communes and the sở; not the units below communes
    assert [u["code"] for u in bac_ninh_dai_son] == ["07627"]  # the other "Đại Sơn" has no units
