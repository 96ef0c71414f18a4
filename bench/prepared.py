"""A node loaded with a generated history and its read models rebuilt, the starting point of the query
benchmark: fresh (dropped afterwards), or kept in a named PostgreSQL schema for later runs (``thidua bench load
--schema``), which is how the national-scale dataset is prepared once and queried many times.

Preparing prints what each step cost: generating (the real handlers, in memory), loading (COPY) and rebuilding
every read model (the embedded runner from position 0).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from rich.console import Console
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from projections import tracking
from services.bootstrap import Node, bootstrap
from services.kernel.db import make_engine
from services.kernel.settings import Settings

from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .dataset import load, spool, temporary_folder
from .generator import Scale

marker = Table(
    "bench_dataset",
    MetaData(),
    Column("units", Integer, nullable=False),
    Column("years", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("staff_titles", Integer, nullable=False, server_default="0"),
    comment="What thidua bench load put in this schema.",
)


@contextmanager
def prepared(
    settings: Settings, scale: Scale, schema: str | None, folder: Path, console: Console
) -> Iterator[tuple[Node[Settings], Scale]]:
    """A loaded node and the scale it holds (a kept schema's own scale when it was loaded before)."""
    if schema is None:
        with fresh_node(settings, "postgres") as (node, *_):
            prepare(settings, node, scale, console)
            yield node, scale
        return
    node = kept_node(settings, schema, folder)
    engine = node.engine
    try:
        marker.metadata.create_all(engine)
        with engine.begin() as conn:  # schemas loaded before staff titles existed
            conn.execute(
                text("ALTER TABLE bench_dataset ADD COLUMN IF NOT EXISTS staff_titles integer NOT NULL DEFAULT 0")
            )
            held = conn.execute(select(marker)).first()
        if held is None:
            prepare(settings, node, scale, console)
        else:
            scale = Scale(held.units, held.years, held.seed, staff_titles=held.staff_titles)
            console.print(
                f"schema {schema} holds {held.events:,} events ({held.units:,} units x {held.years} years, "
                f"{held.staff_titles} LĐTT per unit-year)"
            )
        yield node, scale
    finally:
        node.close()


def kept_node(settings: Settings, schema: str, folder: Path, pool_size: int = 4) -> Node[Settings]:
    """A node on the PostgreSQL schema ``schema`` (created if missing, its tables at the code's revision)."""
    url = settings.effective_database_url
    with make_engine(url).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    scoped = f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"
    engine = make_engine(scoped, pool_size=pool_size)
    node = bootstrap(settings.model_copy(update={"database_url": scoped, "data_dir": folder}), engine=engine)
    try:
        node.init_db()
    except BaseException:
        node.close()
        raise
    return node


def prepare(settings: Settings, node: Node, scale: Scale, console: Console) -> list[Row]:
    """Generate, load and rebuild into ``node``'s empty database; print and return what each step cost."""
    with temporary_folder() as tmp:
        history = spool(settings, scale, Path(tmp))
        loading = timed(lambda: load(node.engine, history))
    marker.metadata.create_all(node.engine)
    started = time.perf_counter()
    node.runner.run_until_idle()
    rebuild = time.perf_counter() - started
    with node.engine.begin() as conn:
        conn.execute(
            insert(marker),
            [
                {
                    "units": scale.units,
                    "years": scale.years,
                    "seed": scale.seed,
                    "events": history.events,
                    "staff_titles": scale.staff_titles,
                }
            ],
        )
    events = history.events
    rows = [
        Row("memory", "generate: real handlers, in memory", events, [history.seconds], history.rss_mb),
        Row("postgres", "load: COPY of the generated rows", events, [loading], peak_rss_mb()),
        Row(
            "postgres",
            f"rebuild: embedded runner, {len(node.projections)} read models",
            events,
            [rebuild],
            peak_rss_mb(),
            "load: COPY of the generated rows",
        ),
    ]
    print_rows(console, f"dataset: {scale.units:,} units x {scale.years} years = {events:,} events", rows)
    return rows


def rebuilt(node: Node, console: Console) -> Row:
    """Drop ``node``'s read models and rebuild them from its store with the node's own embedded runner, timed
    (progress every 100,000 events); print the table beside the store's read + decode of the same events."""
    from .rebuild import read_decode

    events = node.store.head_position()
    with node.engine.begin() as conn:
        for projection in node.projections:
            projection.metadata.drop_all(conn)
        tracking.metadata.drop_all(conn)
    node.runner.setup()
    ceiling = timed(lambda: read_decode(node.store))
    started, done, mark = time.perf_counter(), 0, 100_000
    while (count := node.runner.run_once()) > 0:
        done += count
        if done >= mark:
            console.print(f"  {done:,} events in {time.perf_counter() - started:,.0f} s")
            mark += 100_000
    rows = [
        Row("postgres", "store: read + decode (ceiling)", events, [ceiling], peak_rss_mb()),
        Row(
            "postgres",
            f"rebuild: embedded runner, {len(node.projections)} read models",
            done,
            [time.perf_counter() - started],
            peak_rss_mb(),
            "store: read + decode (ceiling)",
        ),
    ]
    print_rows(console, f"rebuild of a kept dataset: {events:,} events", rows)
    return rows[1]
