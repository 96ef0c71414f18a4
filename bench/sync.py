"""``thidua bench sync``: a command accepted at a province node → visible in its own rollup, imported by its
parent (central) and visible in the parent's rollup, at steady offered rates, open loop.

Two nodes as deployed for sync (docs/sync.md): Lào Cai (the child) under central (the parent), each in its own
PostgreSQL schema, each with its own ``thidua sync`` process on the real broker (``bench.federation``). The child's
commands run through its bus in this process with its embedded tail in a thread (as ``thidua serve`` runs them, as
in ``thidua bench latency``); the parent's read models are kept by a real ``thidua serve`` process (its embedded
tail polls the store every ``projection_poll_seconds``: the imports are written by another process).

Setup (not timed in the tables): the first year of a generated history is written with the child's node id and
loaded into its store, both syncs are started and the parent imports what the rules send up (reports,
registrations, units, plans); both rollups catch up. Then the handlers' closed-loop rate is measured (ceiling of
the throughput: ``threads`` threads each taking the next command as soon as the last returned), and for each rate
``SubmitReport`` commands are offered as in ``bench.latency.offer``.

Per accepted command: *child rollup* = the child's rollup position reached its event (watcher every 5 ms);
*imported at parent* = ``foreign_event.imported_at`` of its event at the parent (the importer's clock, taken in
the import transaction); *parent rollup* = the parent's rollup position reached the imported event's local
position (watcher every 10 ms). The latency ceiling is the child-local latency of the same commands; the floor
of the transport is a raw produce → consume round trip through one topic of the broker at the same rate (the
kafka-python producer as the sync builds it, a consumer polling as the importer does).
"""

from __future__ import annotations

import math
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench.federation import Federation, SyncNode
from bench.harness import Process, wait_for
from projections.rollup.tables import rollup_count, rollup_slot
from services.kernel.settings import Settings
from services.kernel.tables import foreign_event
from services.pipeline.topics import Topics
from services.sync.outbound import Outbound
from services.sync.rules import Topology, load_rules

from .common import LatencyRow, Row, peak_rss_mb, percentile, print_latencies, print_rows, process_mb
from .dataset import load, spool, temporary_folder
from .generator import Scale
from .kafka import kafka_round_trip
from .latency import MAX_DELAY, PositionWatcher, Sample, offer, offered_reports, take

CHILD, PARENT = "laocai", "central"
TREE: dict[str, str | None] = {PARENT: None, CHILD: PARENT}
CEILING = "handlers, closed loop (ceiling)"
AT_CHILD, AT_PARENT, FLOOR = "child (Lào Cai)", "parent (central)", "Kafka floor"


@dataclass(frozen=True)
class Plan:
    """What to offer: closed-loop commands, rates, seconds per rate, threads."""

    closed_loop: int
    rates: list[float]
    seconds: float
    threads: int


@dataclass
class Arrival:
    """An accepted command's event at the parent: its local position, when imported and when its rollup showed it."""

    accepted: float
    position: int = 0
    imported: float = 0.0
    visible: float = 0.0


def run_sync(settings: Settings, scale: Scale, plan: Plan, console: Console) -> tuple[list[Row], list[LatencyRow]]:
    """Build the two nodes, load the first year of ``scale`` at the child, measure every rate; print the tables."""
    loaded = Scale(scale.units, 1, scale.seed)
    servers = settings.kafka_bootstrap_servers or ""
    with (
        temporary_folder() as tmp,
        Federation(settings.effective_database_url, servers, Path(tmp), TREE, settings.sync_poll_seconds) as fed,
    ):
        child, parent = fed[CHILD], fed[PARENT]
        history = spool(settings.model_copy(update={"node_id": child.node_id}), loaded, Path(tmp))
        load(child.node.engine, history)
        child.node.runner.run_until_idle()
        up, seconds = _sync_history(fed, child, parent)
        console.print(
            f"setup: {history.events:,} events loaded at the child, {up:,} sent up and imported by the "
            f"parent in {seconds:.1f} s ({up / seconds:,.0f} events/s, sync started cold)"
        )
        with _child_tail(child, settings), NodeServe(parent, Path(tmp)) as serve:
            rows, latencies = _measure(child, parent, offered_reports(child.node, loaded), plan, servers)
            peaks = _peaks(child, parent, serve)
        console.print(f"check: the parent's rollup equals the child's ({same_rollup(child, parent)})")
    title = f"thidua bench sync: SubmitReport at the child, open loop, over {history.events:,} loaded events"
    print_rows(console, title + " — throughput", rows, unit="commands")
    print_latencies(console, title + " — accepted → visible", latencies)
    print_processes(console, peaks)
    return rows, latencies


def same_rollup(child: SyncNode, parent: SyncNode) -> str:
    """Raise unless the parent's rollup counters and report slots are the child's (the parent has no events of
    its own, so they must be equal once it caught up); say how many rows were compared."""
    sizes = []
    for table in (rollup_count, rollup_slot):
        query = select(table).order_by(*table.primary_key.columns)
        with child.node.engine.connect() as mine, parent.node.engine.connect() as theirs:
            expected, found = mine.execute(query).all(), theirs.execute(query).all()
        if expected != found:
            raise RuntimeError(f"{table.name}: parent's {len(found):,} rows differ from child's {len(expected):,}")
        sizes.append(f"{len(found):,} {table.name} rows")
    return ", ".join(sizes)


def routed_up(child: SyncNode) -> int:
    """How many events of the child's store its rules send to the parent (the sender's own decision)."""
    rules = load_rules(child.settings.sync_rules_file)
    outbound = Outbound(child.node.engine, child.node.store, Topology.from_settings(child.settings), rules, _none)
    parent, count, position = child.settings.parent_node, 0, 0
    while batch := child.node.store.read_all(position, 5000):
        count += sum(parent in outbound.targets(s) for s in batch)
        position = batch[-1].position
    outbound.close()
    return count


def _none() -> Any:
    raise AssertionError("counting only: nothing is sent")


def _sync_history(fed: Federation, child: SyncNode, parent: SyncNode) -> tuple[int, float]:
    up = routed_up(child)
    started = time.perf_counter()
    fed.start_all()
    wait_for(lambda: parent.imported() >= up or _died(fed), 3600, 0.2, "the parent imported the loaded history")
    if _died(fed):
        raise RuntimeError("a sync process stopped: see its log in " + str(fed.tmp))
    seconds = time.perf_counter() - started
    parent.node.runner.run_until_idle()
    return up, seconds


def _died(fed: Federation) -> bool:
    return any(n.process is not None and not n.process.alive() for n in fed.nodes.values())


@contextmanager
def _child_tail(child: SyncNode, settings: Settings) -> Iterator[None]:
    """The child's embedded tail in a thread, woken after each commit (as ``thidua serve`` runs it)."""
    stop = threading.Event()
    args = (stop, settings.projection_poll_seconds)
    tail = threading.Thread(target=child.node.runner.run_forever, args=args, daemon=True)
    tail.start()
    try:
        yield
    finally:
        stop.set()
        child.node.runner.wakeup.set()
        tail.join()


class NodeServe:
    """A node's ``thidua serve`` (API and embedded tail) on a free port; stopped by its pid."""

    def __init__(self, node: SyncNode, folder: Path, extra_env: Mapping[str, str] | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**node.env(), "THIDUA_LOG_LEVEL": "WARNING", **(extra_env or {})}
        self.proc = Process(["serve", "--port", str(self.port)], env, folder / f"serve-{node.name}.log")

    def __enter__(self) -> NodeServe:
        try:
            wait_for(self._ready, 60, 0.2, "the parent's thidua serve")
        except BaseException:
            self.proc.stop()
            raise
        return self

    def _ready(self) -> bool:
        if not self.proc.alive():
            raise RuntimeError(f"thidua serve stopped: {self.proc.log()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()


def _measure(
    child: SyncNode, parent: SyncNode, offered: Iterator[Any], plan: Plan, servers: str
) -> tuple[list[Row], list[LatencyRow]]:
    ceiling = take(offered, plan.closed_loop)
    samples = [Sample() for _ in ceiling]
    started = time.perf_counter()  # closed loop: every command due at once, ``threads`` take the next when done
    offer(child.node.bus.handle, ceiling, samples, math.inf, plan.threads, lambda _: None, math.inf)
    rows = [Row(AT_CHILD, CEILING, len(ceiling), [time.perf_counter() - started], peak_rss_mb())]
    _wait_imported(parent, {s.event_id: Arrival(0.0) for s in samples})  # the next rate starts with nothing in flight
    latencies: list[LatencyRow] = []
    body = child.node.store.read_all(samples[-1].position - 1, 1)[0].body  # a ReportSubmitted, as sent up
    for rate in plan.rates:
        floor = kafka_round_trip(
            servers,
            Topics(child.node_id).prefix + f".{child.node_id}.bench-roundtrip",
            body,
            int(rate * plan.seconds),
            rate,
        )
        found, lat = _offer_rate(child, parent, take(offered, int(rate * plan.seconds)), rate, plan.threads)
        rows += found
        latencies += [LatencyRow(FLOOR, f"{rate:,.0f}/s: produce → consume", floor, peak_rss_mb()), *lat]
    return rows, latencies


def _offer_rate(
    child: SyncNode, parent: SyncNode, commands: list[Any], rate: float, threads: int
) -> tuple[list[Row], list[LatencyRow]]:
    samples = [Sample() for _ in commands]
    at_child, at_parent = PositionWatcher(child.node.engine), PositionWatcher(parent.node.engine, 0.01)
    offer(child.node.bus.handle, commands, samples, rate, threads, at_child.accepted, MAX_DELAY)
    at_child.settle(samples)
    accepted = [s for s in samples if s.accepted]
    arrivals = arrivals_at(parent, accepted, at_parent)
    first, rss = samples[0].due, peak_rss_mb()
    child_span = max(s.accepted for s in accepted) - first
    parent_span = max(a.visible for a in arrivals.values()) - first
    label = f"offered {rate:,.0f}/s"
    rows = [
        Row(AT_CHILD, f"{label}: accepted", len(accepted), [child_span], rss, CEILING),
        Row(AT_PARENT, f"{label}: visible in the parent's rollup", len(arrivals), [parent_span], rss, CEILING),
    ]
    shed = sum(s.shed for s in samples)
    waits = [s.accepted - s.due for s in accepted]
    note = (
        f"shed {shed:,}; due → accepted p50 {percentile(waits, 50) * 1000:.0f} ms, "
        f"p99 {percentile(waits, 99) * 1000:.0f} ms"
    )
    local = f"{rate:,.0f}/s: accepted → child's rollup"
    latencies = [
        LatencyRow(AT_CHILD, local, [s.visible - s.accepted for s in accepted], rss, None, note),
        LatencyRow(
            AT_PARENT,
            f"{rate:,.0f}/s: accepted → imported at the parent",
            [a.imported - a.accepted for a in arrivals.values()],
            rss,
            f"{rate:,.0f}/s: produce → consume",
        ),
        LatencyRow(
            AT_PARENT,
            f"{rate:,.0f}/s: accepted → parent's rollup",
            [a.visible - a.accepted for a in arrivals.values()],
            rss,
            local,
        ),
    ]
    return rows, latencies


def arrivals_at(parent: SyncNode, accepted: list[Sample], watcher: PositionWatcher) -> dict[str, Arrival]:
    """The events of the ``accepted`` samples at the parent, by event id: when imported there and when the parent's
    rollup (``watcher``) showed them."""
    arrivals = {s.event_id: Arrival(s.accepted) for s in accepted}
    _wait_imported(parent, arrivals)
    mirrored = [Sample(accepted=a.accepted, position=a.position) for a in arrivals.values()]
    watcher.settle(mirrored)
    for arrival, seen in zip(arrivals.values(), mirrored, strict=True):
        arrival.visible = seen.visible
    return arrivals


def _wait_imported(parent: SyncNode, arrivals: dict[str, Arrival], timeout: float = 900) -> None:
    """Wait until the parent imported every event id of ``arrivals``; fill their local position and import time
    (``imported_at`` is wall-clock: moved onto ``perf_counter``'s scale)."""
    offset = time.time() - time.perf_counter()
    table = foreign_event
    pending = set(arrivals)

    def poll() -> bool:
        for chunk in _chunks(sorted(pending), 1000):
            query = select(table.c.event_id, table.c.position, table.c.imported_at).where(table.c.event_id.in_(chunk))
            with parent.node.engine.connect() as conn:
                found: list[Any] = list(conn.execute(query))
                for event_id, position, imported_at in found:
                    arrival = arrivals[event_id]
                    arrival.position, arrival.imported = int(position), _seconds(imported_at) - offset
                    pending.discard(event_id)
        return not pending

    wait_for(poll, timeout, 0.05, "the parent imported the offered reports")


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Peak:
    """A process of the benchmark and its peak resident memory."""

    process: str
    role: str
    peak_mb: float


def _peaks(child: SyncNode, parent: SyncNode, serve: NodeServe) -> list[Peak]:
    def hwm(proc: Process | None) -> float:
        return process_mb(proc.pid, "VmHWM") if proc is not None else 0.0

    return [
        Peak("this benchmark", "child's bus (API stand-in) and embedded tail, watchers, load", peak_rss_mb()),
        Peak("thidua sync (child)", "sends the child's events up, imports what comes down", hwm(child.process)),
        Peak("thidua sync (parent)", "imports the child's events, sends plans down", hwm(parent.process)),
        Peak("thidua serve (parent)", "the parent's API and embedded tail (its rollup)", hwm(serve.proc)),
    ]


def print_processes(console: Console, peaks: list[Peak]) -> None:
    """Peak RSS of every process of the run."""
    table = Table("process", "role", "peak RSS MB", title="thidua bench sync — processes", box=box.MARKDOWN)
    for p in peaks:
        table.add_row(p.process, p.role, f"{p.peak_mb:.0f}")
    console.print(table)
