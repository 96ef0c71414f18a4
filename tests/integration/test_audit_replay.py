"""Replay from the store into shadow read models after the demo, on SQLite and PostgreSQL: equal to live; swap."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, inspect, select

from projections import tracking
from services.audit.replay import compare, replay, swap
from services.bootstrap import Node, bootstrap
from services.demo import run_demo
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import Settings


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    built = bootstrap(Settings(data_dir=tmp_path, node_id="central", webhooks_enabled=False), engine=engine)
    built.init_db()
    run_demo(built)
    built.runner.run_until_idle()
    return built


def test_replay_into_shadows_equals_live_for_every_read_model(node: Node) -> None:
    result = replay(node.engine, node.store, node.codec, EVENT_TYPES, node.projections)
    assert result.position == node.store.head_position() and result.events == result.position
    for projection in node.projections:
        for diff in compare(node.engine, projection):
            assert diff.equal, (projection.name, diff)
    names = set(inspect(node.engine).get_table_names())
    assert "shadow_awards_proposal" in names and "shadow_rollup_count" in names
    head = node.store.head_position()  # no side effect: the live tracking records are untouched
    assert node.runner.positions() == {p.name: head for p in node.projections}


def test_partial_replay_differs_then_swap_promotes_it(node: Node) -> None:
    awards = next(p for p in node.projections if p.name == "awards")
    first = node.store.read_all(0, 10_000, types=["AwardProposed"])[0].position
    result = replay(node.engine, node.store, node.codec, EVENT_TYPES, [awards], to_position=first)
    diffs = {d.table: d for d in compare(node.engine, awards)}
    assert diffs["awards_proposal"].shadow_rows == 1 and diffs["awards_proposal"].differing_keys
    swap(node.engine, awards, result.position)
    with node.engine.connect() as conn:
        assert tracking.get_position(conn, "awards") == first
        assert conn.execute(select(func.count()).select_from(awards.metadata.tables["awards_proposal"])).scalar() == 1
    assert "shadow_awards_proposal" not in inspect(node.engine).get_table_names()
    node.runner.run_until_idle()  # the live tail carries on from the swapped position
    replay(node.engine, node.store, node.codec, EVENT_TYPES, [awards])
    assert all(d.equal for d in compare(node.engine, awards))
