"""``thidua bench projectors``: the read models applied from Kafka by one worker (the real ``thidua worker``
process) and from the store by the embedded tail, each against the ceiling of its own source: for the worker, raw
consume + decode + COPY of the same messages into a plain table (no read-model logic); for the embedded tail, the
store's read + decode of the same events.

Each run loads the generated history into a fresh store and relays it to fresh topics (setup, not timed). Then,
timed: the Kafka ceiling on the topics, a worker on an empty read-model schema until every read model has applied
every partition's end offset (steady: from its first committed batch; and from its process start), the store
ceiling, and the embedded tail over the same events from the store. The worker's memory is sampled every half
second.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from rich.console import Console

from bench.harness import postgres_schema
from projections.runner import EmbeddedRunner
from services import migrations
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import Settings

from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .dataset import load, spool, temporary_folder
from .generator import Scale
from .kafka import WorkerRun, consume, fresh_topics, publish_all, run_worker
from .rebuild import STORE_CEILING, read_decode

CEILING = "raw consume + decode + COPY (ceiling)"


def run_projectors(settings: Settings, scale: Scale, repeat: int, console: Console) -> list[Row]:
    """Measure the worker, the embedded tail and the ceiling ``repeat`` times; print and return the rows."""
    ceiling, steady, started, store_ceiling, embedded, runs = [], [], [], [], [], []
    url = settings.effective_database_url
    with temporary_folder() as tmp:
        history = spool(settings, scale, Path(tmp))
        for _ in range(repeat):
            with fresh_node(settings, "postgres") as (node, engine, *_), fresh_topics(settings) as mine:
                load(engine, history)
                publish_all(node, mine)
                with postgres_schema(url, "benchsink") as (sink_engine, _):
                    ceiling.append(timed(lambda: consume(mine, node.codec, sink_engine, mine.worker_batch_size)))
                with postgres_schema(url, "benchrm") as (read_model_engine, read_model_url):
                    migrations.upgrade(read_model_engine)  # the worker refuses a database not at the code's revision
                    run = run_worker(mine, read_model_url, [p.name for p in node.projections], Path(tmp))
                if not run.finished:
                    raise SystemExit(f"the worker applied only {run.applied:,} of {history.events:,} events in time")
                runs.append(run)
                steady.append(run.done - run.first_batch)
                started.append(run.done - run.started)
                sizes = settings.projection_batch_size, settings.effective_catchup_batch_size
                store_ceiling.append(timed(lambda: read_decode(node.store)))
                runner = EmbeddedRunner(engine, node.store, node.codec, EVENT_TYPES, node.projections, *sizes)
                embedded.append(timed(runner.run_until_idle))
    models = len(node.projections)
    after_first = history.events - round(statistics.median(r.applied_at_first for r in runs))
    steady_rss, peak = worker_rss(runs)
    kafka, events = "kafka → postgres", history.events
    rows = [
        Row(kafka, CEILING, events, ceiling, peak_rss_mb()),
        Row(kafka, f"1 worker, {models} read models, steady", after_first, steady, steady_rss, CEILING),
        Row(kafka, "1 worker, from process start", events, started, steady_rss, CEILING),
        Row("store → postgres", STORE_CEILING, events, store_ceiling, peak_rss_mb()),
        Row("store → postgres", f"embedded tail, {models} read models", events, embedded, peak_rss_mb(), STORE_CEILING),
    ]
    title = f"thidua bench projectors: {history.events:,} events, worker batch {settings.worker_batch_size}"
    print_rows(console, title, rows)
    console.print(
        f"worker RSS: steady {steady_rss:.0f} MB (median of the second half of its samples), peak {peak:.0f} MB; "
        f"worker CPU after its first batch: {steady_cpu_us(runs, history.events):.0f} µs per event (median; the "
        "figure to compare on a loaded machine)"
    )
    return rows


def steady_cpu_us(runs: list[WorkerRun], events: int) -> float:
    """The worker process's CPU (all threads) per event applied after its first batch, µs, median of the runs."""
    return statistics.median((r.cpu_at_done - r.cpu_at_first) / max(events - r.applied_at_first, 1) * 1e6 for r in runs)


def worker_rss(runs: list[WorkerRun]) -> tuple[float, float]:
    """(steady, peak) resident memory of the worker runs, MB."""
    return statistics.median(r.steady_rss_mb for r in runs), max(r.peak_rss_mb for r in runs)
