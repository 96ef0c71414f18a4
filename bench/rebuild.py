"""``thidua bench rebuild``: every read model rebuilt from the store (a fresh embedded runner from position 0),
from Kafka (a real ``thidua worker`` on empty read models, from its process start until it has applied every
partition), and blue/green (each read model's new version built beside the live one from the store and switched
in: ``projections.bluegreen``), each against a ceiling on the same source: read + decode of the same events, no
projection work."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.harness import postgres_schema
from projections import versions
from projections.runner import EmbeddedRunner
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import decode_event
from services.kernel.settings import Settings
from services.kernel.store import EventStore

from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .dataset import Spool, load, spool, temporary_folder
from .generator import Scale
from .kafka import consume, fresh_topics, publish_all, run_worker

STORE_CEILING = "store: read + decode (ceiling)"
KAFKA_CEILING = "kafka: consume + decode (ceiling)"
BLUE_GREEN_CEILING = "store: read + decode (ceiling, blue/green runs)"


def run_rebuild(
    settings: Settings,
    scale: Scale,
    backends: list[str],
    sources: list[str],
    repeat: int,
    timeout: float,
    console: Console,
) -> list[Row]:
    """Load the generated history, then time full rebuilds ``repeat`` times per backend and source; the table is
    printed after each source (a long Kafka rebuild does not hide the store's result)."""
    rows: list[Row] = []
    with temporary_folder() as tmp:
        history = spool(settings, scale, Path(tmp))
        for backend in backends:
            if "store" in sources:
                rows += _from_store(settings, backend, history, repeat, console)
                print_rows(console, f"thidua bench rebuild: {history.events:,} events", rows)
            if "bluegreen" in sources:
                rows += _blue_green(settings, backend, history, repeat)
                print_rows(console, f"thidua bench rebuild: {history.events:,} events", rows)
            if "kafka" in sources and backend == "postgres":
                rows += _from_kafka(settings, history, repeat, timeout, Path(tmp), console)
                print_rows(console, f"thidua bench rebuild: {history.events:,} events", rows)
    return rows


def _from_store(settings: Settings, backend: str, history: Spool, repeat: int, console: Console) -> list[Row]:
    """Per run, on a fresh node: the ceiling, the embedded runner from position 0 on fresh tables, then every read
    model made stale and rebuilt blue/green together (``Builder.build_many``: what a node does when read models
    change version), with the rows each wrote (PostgreSQL)."""
    ceiling, embedded, rebuild, written = [], [], [], []
    cpu: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        with fresh_node(settings, backend) as (node, engine, *_):
            load(engine, history)
            clock = CpuClock(engine)
            ceiling.append(clock.timed(STORE_CEILING, lambda: read_decode(node.store)))
            sizes = settings.projection_batch_size, node.settings.effective_catchup_batch_size  # by the node's backend
            runner = EmbeddedRunner(engine, node.store, node.codec, EVENT_TYPES, node.projections, *sizes)
            embedded.append(clock.timed("embedded runner", runner.run_until_idle))
            rebuild.append(clock.timed("blue/green rebuild", lambda: _all_stale_then_built(node)))
            for stage, spent in clock.spent.items():
                cpu.setdefault(stage, []).append(spent)
            if backend == "postgres":
                written.append(rows_written(engine, node.projections))  # the built tables' (the old ones are gone)
    print_cpu(console, f"CPU seconds, client + server ({backend}, {history.events:,} events, medians)", cpu)
    if written:
        print_written(
            console,
            f"rows written per event by the blue/green rebuild ({history.events:,} events, median)",
            written,
            history.events,
        )
    count, rss = len(node.projections), peak_rss_mb()
    return [
        Row(backend, STORE_CEILING, history.events, ceiling, rss),
        Row(backend, f"store: embedded runner, {count} read models", history.events, embedded, rss, STORE_CEILING),
        Row(backend, f"store: blue/green rebuild, {count} read models", history.events, rebuild, rss, STORE_CEILING),
    ]


class CpuClock:
    """Wall seconds of a stage, and the CPU seconds it cost this process (every thread) and the PostgreSQL server
    (its backends, live and ended: the postmaster's children and what it reaped; the whole cluster, so run alone)."""

    def __init__(self, engine: Engine) -> None:
        self.postmaster = _postmaster(engine)
        self.spent: dict[str, tuple[float, float]] = {}

    def timed(self, stage: str, work: Callable[[], Any]) -> float:
        client, server = time.process_time(), self.server()
        wall = timed(work)
        self.spent[stage] = (time.process_time() - client, self.server() - server)
        return wall

    def server(self) -> float:
        """CPU seconds of the server so far (0 on SQLite)."""
        if self.postmaster is None:
            return 0.0
        tick = os.sysconf("SC_CLK_TCK")
        total = sum(_stat(self.postmaster)[11:15])  # its own and its reaped children's user + system
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[1] == self.postmaster:
                total += fields[11] + fields[12]
        return total / tick


def _stat(pid: int) -> list[int]:
    """/proc/<pid>/stat after the command name, as numbers from field 4 on (index 1: ppid); [] when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [0, *(int(f) if f.lstrip("-").isdigit() else 0 for f in fields[1:])]


def _postmaster(engine: Engine) -> int | None:
    """The pid of the local PostgreSQL server's postmaster (None: SQLite, or a server whose files this user cannot
    read)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        folder = conn.execute(text("SHOW data_directory")).scalar()
    try:
        return int(Path(str(folder), "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return None


def print_cpu(console: Console, title: str, runs: dict[str, list[tuple[float, float]]]) -> None:
    """Median client and server CPU seconds per stage, and each stage's ratio to the ceiling's by total CPU."""
    table = Table(
        "stage", "client CPU s", "server CPU s", "total CPU s", "ceiling ÷ total", title=title, box=box.MARKDOWN
    )
    medians = {
        stage: (statistics.median(c for c, _ in spent), statistics.median(s for _, s in spent))
        for stage, spent in runs.items()
    }
    ceiling = sum(medians.get(STORE_CEILING, (0.0, 0.0)))
    for stage, (client, server) in medians.items():
        ratio = f"{ceiling / (client + server):.2f}" if client + server else "-"
        table.add_row(stage, f"{client:.2f}", f"{server:.2f}", f"{client + server:.2f}", ratio)
    console.print(table)


def _all_stale_then_built(node: Any) -> None:
    """Every read model's recorded number set to 0 (another version), then all built and switched in together."""
    table = versions.readmodel_version
    with node.engine.begin() as conn:
        conn.execute(table.update().values(version=0))
    switched = node.builder().build_many(node.projections)
    assert len(switched) == len(node.projections)


def _blue_green(settings: Settings, backend: str, history: Spool, repeat: int) -> list[Row]:
    """Each read model made stale (its recorded number set to 0) on a node whose read models are caught up, then
    its new version built into ``next_`` tables and switched in (``Builder.build``), one read model at a time."""
    ceiling: list[float] = []
    builds: dict[str, list[float]] = {}
    for _ in range(repeat):
        with fresh_node(settings, backend) as (node, engine, *_):
            load(engine, history)
            node.runner.run_until_idle()
            ceiling.append(timed(lambda: read_decode(node.store)))
            for projection in node.projections:
                builds.setdefault(projection.name, []).append(_stale_then_built(node, projection))
    stage = "store: blue/green build + switch of {}"
    rss = peak_rss_mb()
    return [
        Row(backend, BLUE_GREEN_CEILING, history.events, ceiling, rss),
        *(Row(backend, stage.format(n), history.events, s, rss, BLUE_GREEN_CEILING) for n, s in builds.items()),
    ]


def _stale_then_built(node: Any, projection: Any) -> float:
    """Seconds to build and switch in ``projection`` after its recorded number was set to 0 (another version)."""
    table = versions.readmodel_version
    with node.engine.begin() as conn:
        conn.execute(table.update().where(table.c.projection == projection.name).values(version=0))
    return timed(lambda: node.builder().build(projection))


def _from_kafka(
    settings: Settings, history: Spool, repeat: int, timeout: float, folder: Path, console: Console
) -> list[Row]:
    ceiling, rebuild, rss, applied = [], [], [], history.events
    url = settings.effective_database_url
    for _ in range(repeat):
        with fresh_node(settings, "postgres") as (node, engine, *_), fresh_topics(settings) as mine:
            load(engine, history)
            publish_all(node, mine)
            ceiling.append(timed(lambda: consume(mine, node.codec)))
            with postgres_schema(url, "benchrm") as (_, read_model_url):
                run = run_worker(mine, read_model_url, [p.name for p in node.projections], folder, timeout)
            rebuild.append(run.done - run.started)
            rss.append(run.peak_rss_mb)
            if not run.finished:
                console.print(
                    f"the worker had applied {run.applied:,} of {history.events:,} events when stopped "
                    f"after {run.done - run.started:,.0f} s (--worker-timeout)"
                )
                applied = min(applied, run.applied)
    stage = f"kafka: 1 Faust worker, {len(node.projections)} read models, from process start"
    if applied < history.events:
        stage += f" (UNFINISHED: {applied:,} applied)"
    return [
        Row("postgres", KAFKA_CEILING, history.events, ceiling, peak_rss_mb()),
        Row("postgres", stage, applied, rebuild, max(rss), KAFKA_CEILING),
    ]


def rows_written(engine: Engine, projections: Sequence[Any]) -> dict[str, int]:
    """Rows each read model inserted, updated and deleted in this PostgreSQL schema so far (pg_stat_user_tables,
    read once the statistics of the writers' transactions have been flushed)."""
    engine.dispose()  # the writers' backends end, and flush their table statistics as they do (an idle one may
    time.sleep(1.5)  # keep them up to 10 s: the rebuild's last transaction, which holds most rows now, was missed)
    owner = {t.name: p.name for p in projections for t in p.metadata.sorted_tables}
    query = text(
        "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables "
        "WHERE schemaname = current_schema()"
    )
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            name, count = str(row.relname), int(row.n)
            if name in owner:
                found[owner[name]] = found.get(owner[name], 0) + int(count)
                found[name] = int(count)
    return found


def print_written(console: Console, title: str, runs: list[dict[str, int]], events: int) -> None:
    """Rows written per event, by read model and by table (median of the runs)."""
    table = Table("read model or table", "rows written", "per event", title=title, box=box.MARKDOWN)
    for name in sorted(runs[0], key=lambda n: (n.split("_")[0], "_" in n, n)):
        median = statistics.median(r.get(name, 0) for r in runs)
        if median:
            table.add_row(name if "_" not in name else f"  {name}", f"{median:,.0f}", f"{median / events:.2f}")
    console.print(table)


def read_decode(store: EventStore) -> int:
    """Read every stored event in batches of 1,000 and decode it (what a rebuild cannot avoid)."""
    position, seen = 0, 0
    while batch := store.read_all(position, 1000):
        for stored in batch:
            decode_event(stored.body, store.codec, EVENT_TYPES, stored.position)
        position, seen = batch[-1].position, seen + len(batch)
    return seen
