"""Guidance's build from scratch (``projections.guidance.fold``: one fold over every batch, nothing loaded from the
empty tables, each row written once at the end) against its incremental path (a fold per batch), every row of every
table, on a generated history, on SQLite and PostgreSQL; with a capacity small enough that the build writes out and
reads back many times. The comparison itself is shown to fail on a changed row."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select, update

from projections.guidance import GuidanceProjection
from projections.guidance.tables import guidance_report, metadata
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import Event, decode_event
from services.kernel.tables import event as event_table
from tests.integration.test_order_free import Tables, generated, tables
from tests.integration.test_rollup_build import apply_from_scratch


def built(engine: Engine, batches: list[list[Event]], capacity: int | None) -> Tables:
    """Fresh guidance tables from ``batches``, each in its own transaction: incrementally (``capacity`` None) or
    built from scratch holding at most ``capacity`` rows; the resulting rows."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
    projection = GuidanceProjection()
    if capacity is None:
        for batch in batches:
            with engine.begin() as conn:
                projection.apply(conn, batch)
        return tables(engine, projection)
    projection.build_capacity = capacity
    apply_from_scratch(engine, projection, batches)
    return tables(engine, projection)


def test_a_build_from_scratch_equals_the_incremental_path(engine: Engine, tmp_path: Path) -> None:
    node, _ = generated(engine, tmp_path)
    with engine.connect() as conn:
        rows = conn.execute(select(event_table.c.position, event_table.c.body).order_by(event_table.c.position)).all()
    events = [decode_event(body, node.codec, EVENT_TYPES, position) for position, body in rows]
    batches = [events[i : i + 300] for i in range(0, len(events), 300)]
    try:
        incremental = built(engine, batches, None)
        assert len(incremental["guidance_report"]) > 100 and len(incremental["guidance_unit"]) > 100
        for capacity in (1_000_000, 7):  # all held to the end; written out and read back at almost every batch
            assert built(engine, batches, capacity) == incremental
        # the comparison can fail: one changed row is found
        with engine.begin() as conn:
            first = incremental["guidance_report"][0][0]
            conn.execute(update(guidance_report).where(guidance_report.c.report_id == first).values(outcome="X"))
        assert tables(engine, GuidanceProjection()) != incremental
    finally:
        metadata.drop_all(engine)
