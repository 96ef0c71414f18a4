"""Every read model on the demo's year, on SQLite and PostgreSQL: the tables do not depend on how the events are
batched (1, 7 or 1,000 per transaction, as the tail and the rebuild cut them), on a Kafka worker's interleaving of
streams, or on the whole history being delivered again."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, select

from projections.base import Projection
from services.bootstrap import Node, bootstrap
from services.demo.year import run_demo
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import Event, decode_event
from services.kernel.settings import Settings
from tests.factories import interleave

Tables = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    built = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    run_demo(built)
    return built


def history(node: Node) -> list[Event]:
    return [decode_event(s.body, node.codec, EVENT_TYPES, s.position) for s in node.store.read_all(0, 100_000)]


def project(node: Node, batches: Sequence[Sequence[Event]]) -> Tables:
    """Empty read-model tables, then each batch applied to every read model in its own transaction: every row."""
    projections: list[Projection] = node.projections
    for projection in projections:
        projection.metadata.drop_all(node.engine)
        projection.metadata.create_all(node.engine)
        with node.engine.begin() as conn:
            projection.setup(conn)
    for batch in batches:
        for projection in projections:
            with node.engine.begin() as conn:
                projection.apply(conn, batch)
    with node.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for projection in projections
            for table in projection.metadata.sorted_tables
        }


def cut(events: list[Event], size: int) -> list[list[Event]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def test_the_tables_do_not_depend_on_the_batches(node: Node) -> None:
    events = history(node)
    assert len(events) > 50
    one_by_one = project(node, cut(events, 1))
    assert sum(map(len, one_by_one.values())) > 500
    assert project(node, cut(events, 7)) == one_by_one
    assert project(node, cut(events, 1_000)) == one_by_one
    assert project(node, [events, events]) == one_by_one  # at-least-once: the history again changes nothing


def test_nor_on_the_interleaving_of_streams(node: Node) -> None:
    events = history(node)
    store_order = project(node, cut(events, 50))
    assert project(node, cut(interleave(events, random.Random(7)), 13)) == store_order
    assert project(node, [interleave(events, random.Random(8))]) == store_order
