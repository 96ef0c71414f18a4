"""Order-free read models and the blue/green rebuild of every read model at once (``Builder.build_many``).

A read model that declares ``apply_first`` (``projections.base.FACTS_FIRST``) claims that plan, criteria and bloc
events first, then every other event by org unit and position, build exactly the tables position order builds: a
build from scratch reads the store once in that order for all of them (``Builder.build_many``). Checked here table by
table, every row, for each read model that declares it, on a generated history (reports, reviews, targets, awards,
yearly titles over several provinces); and the blue/green rebuild of all five read models together against the
embedded runner's tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from bench.dataset import load, spool
from bench.generator import Scale
from projections import versions
from projections.base import Projection
from projections.bluegreen import apply_first
from projections.scan import scoped_query
from projections.shadow import create_deferred, prepare_shadows, shadow_connection, shadow_metadata
from services.bootstrap import Node, bootstrap
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import decode_event
from services.kernel.settings import Settings

Tables = dict[str, list[tuple[Any, ...]]]


def generated(engine: Engine, tmp_path: Path) -> tuple[Node, int]:
    """A node on ``engine`` whose store holds a generated history; its number of events."""
    settings = Settings(node_id="bench", data_dir=tmp_path, webhooks_enabled=False)
    history = spool(settings, Scale(units=120, years=2, seed=7, staff_titles=1), tmp_path)
    node = bootstrap(settings, engine=engine)
    node.init_db()
    load(engine, history)
    return node, history.events


def tables(engine: Engine, projection: Projection, prefix: str = "") -> Tables:
    """Every row of every table of ``projection`` (its ``prefix`` shadows), sorted, by live table name."""
    with engine.connect() as conn:
        return {
            t.name.removeprefix(prefix): sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in (shadow_metadata(projection, prefix) if prefix else projection.metadata).sorted_tables
        }


def built_in_order(node: Node, projection: Projection, prefix: str, first: frozenset[str] | None, head: int) -> Tables:
    """``projection`` built from scratch into ``prefix`` shadows from its events read in ``first``'s order (None:
    position order), in batches of 700."""
    engine = node.engine
    prepare_shadows(engine, [projection], prefix, defer=True)
    types = getattr(projection, "event_types", None)
    with engine.connect() as conn:
        rows = conn.execute(scoped_query(types, "", 0, head, first)).all()
    with shadow_connection(engine, [projection], prefix) as conn:
        for start in range(0, len(rows), 700):
            batch = rows[start : start + 700]
            events = [decode_event(body, node.codec, EVENT_TYPES, position) for position, body in batch]
            with conn.begin():
                projection.apply(conn, events)
    create_deferred(engine, [projection], prefix)
    positions = [position for position, _ in rows]
    if first is not None and types is not None and not types <= first:  # (plans reads only the first types)
        assert positions != sorted(positions)  # the order really differs from position order
    return tables(engine, projection, prefix)


def test_every_order_free_read_model_builds_the_same_tables_in_its_order(engine: Engine, tmp_path: Path) -> None:
    node, head = generated(engine, tmp_path)
    order_free = [p for p in node.projections if apply_first(p)]
    assert {p.name for p in order_free} == {"guidance", "orgunits", "plans", "rollup"}
    for projection in order_free:
        in_position_order = built_in_order(node, projection, "pos_", None, head)
        assert sum(map(len, in_position_order.values())) > 20, projection.name
        assert built_in_order(node, projection, "ord_", apply_first(projection), head) == in_position_order, (
            projection.name
        )


def test_a_blue_green_rebuild_of_every_read_model_equals_the_embedded_runner(engine: Engine, tmp_path: Path) -> None:
    """Every read model made stale, then built together (one read of the store: the order-free ones in their order,
    the awards in position order) and switched in: every table holds what the embedded runner wrote."""
    node, head = generated(engine, tmp_path)
    node.runner.run_until_idle()
    expected = {p.name: tables(engine, p) for p in node.projections}
    with engine.begin() as conn:
        conn.execute(versions.readmodel_version.update().values(version=0))
    switched = node.builder().build_many(node.projections)
    assert sorted((s.projection, s.position) for s in switched) == sorted((p.name, head) for p in node.projections)
    for projection in node.projections:
        assert tables(engine, projection) == expected[projection.name], projection.name
    with engine.connect() as conn:
        live = versions.live_versions(conn)
    assert all(versions.current(live, p) for p in node.projections)
