"""``thidua pipeline bench``: events/s through the relay and through Faust workers, on a fresh schema and topics.

The store gets ``N`` unit registrations (100 per stream, streams spread over the partitions); the relay publishes
them (idempotent producer, acks=all, the recorded position after every batch); ``thidua worker`` processes
apply them to the org-unit read model in another schema; the embedded tail applies them again for comparison.
Everything it creates (schemas, topics) is removed afterwards.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from kafka.admin import KafkaAdminClient
from rich.console import Console
from rich.table import Table

from projections.runner import EmbeddedRunner
from services.bootstrap import bootstrap
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import Settings

from .harness import Process, append_units, applied_count, caught_up, end_offsets, postgres_schema, wait_for
from .relay import build_relay
from .topics import Topics, ensure_topics, topic_specs
from .worker import selected_projections


def run_bench(
    settings: Settings, events: int, workers: int, console: Console, projections: str | None = None
) -> list[tuple[str, int, float]]:
    """Run the benchmark, print a table and return (stage, events, seconds) rows."""
    url = settings.effective_database_url
    if not url.startswith("postgresql"):
        raise SystemExit("the benchmark needs PostgreSQL: set THIDUA_DATABASE_URL (make services-up)")
    bootstrap_servers = settings.kafka_bootstrap_servers or ""
    node_id = f"bench{uuid.uuid4().hex[:6]}"
    rows: list[tuple[str, int, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp,
        postgres_schema(url, "bench") as (store_engine, store_url),
        postgres_schema(url, "benchrm") as (_, read_model_url),
    ):
        update = {
            "node_id": node_id,
            "data_dir": Path(tmp),
            "database_url": store_url,
            "worker_projections": projections,
        }
        base = settings.model_copy(update=update)
        node = bootstrap(base, engine=store_engine)
        node.init_db()
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers.split(","))
        topics = Topics(node_id)
        try:
            ensure_topics(admin, topic_specs(base))
            rows.append(_timed("append to the store (setup)", lambda: append_units(node.store, events)))
            relay = build_relay(node, base)
            relay.setup()
            rows.append(_timed(f"relay (batch {base.relay_batch_size}, acks=all)", relay.run_until_idle))
            relay.close()
            chosen = selected_projections(node, base)
            names = [p.name for p in chosen]
            rows += _workers(base, read_model_url, workers, events, Path(tmp), topics, names)
            runner = EmbeddedRunner(
                node.engine, node.store, node.codec, EVENT_TYPES, chosen, base.projection_batch_size
            )
            rows.append(_timed("embedded tail (same read models, for comparison)", runner.run_until_idle))
        finally:
            admin.delete_topics([*topics.events, topics.dead_letters, topics.schemas])
            admin.close()
            node.close()
    models = ", ".join(p.name for p in chosen)
    title = f"thidua pipeline bench: {events} events, read models: {models}"
    table = Table("stage", "events", "seconds", "events/s", title=title)
    for stage, count, seconds in rows:
        table.add_row(stage, str(count), f"{seconds:.2f}", f"{count / seconds:,.0f}" if seconds else "-")
    console.print(table)
    return rows


def _timed(stage: str, work: object) -> tuple[str, int, float]:
    started = time.perf_counter()
    count = work()  # type: ignore[operator]
    return stage, int(count), time.perf_counter() - started


def _workers(
    base: Settings, url: str, count: int, events: int, tmp: Path, topics: Topics, names: list[str]
) -> list[tuple[str, int, float]]:
    from services.kernel.db import make_engine

    env = {
        **os.environ,
        "THIDUA_DATABASE_URL": url,
        "THIDUA_NODE_ID": base.node_id,
        "THIDUA_DATA_DIR": str(tmp / "worker"),
        "THIDUA_KAFKA_BOOTSTRAP_SERVERS": base.kafka_bootstrap_servers or "",
        "THIDUA_WORKER_WEB_ENABLED": "0",
        "THIDUA_LOG_LEVEL": "WARNING",
        "THIDUA_WORKER_PROJECTIONS": base.worker_projections or "",
    }
    end = end_offsets(base.kafka_bootstrap_servers or "", topics.events)
    engine = make_engine(url)
    started = time.perf_counter()
    procs = [Process(["worker"], env, tmp / f"worker-{i}.log") for i in range(count)]
    try:
        first = wait_for(lambda: applied_count(engine) and time.perf_counter(), 120, 0.05, "first batch")
        at_first = applied_count(engine)
        wait_for(lambda: all(caught_up(engine, n, end) for n in names), 1800, 0.2, "workers caught up")
        done = time.perf_counter()
    finally:
        for proc in procs:
            proc.stop()
        engine.dispose()
    label = f"{count} Faust worker{'s' if count > 1 else ''} (batch {base.worker_batch_size})"
    return [
        (f"{label}, from process start", events, done - started),
        (f"{label}, steady (after the first batch)", events - at_first, done - first),
    ]
