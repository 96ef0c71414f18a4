"""``thidua bench latency``: a command accepted (the bus call returning, as the API answers 201 after it) →
visible in the node's rollup read model, at steady offered rates, open loop.

Setup (not timed): the first year of a generated history is loaded and the read models caught up. Then, for
each rate, the next ``rate × seconds`` ``SubmitReport`` commands of the following years (all valid: the plans
and units exist) are offered on a fixed schedule, whatever the system does: a dispatcher releases command *k*
at t0 + k/rate to a pool of threads that run it through ``node.bus.handle`` (one command per transaction, as
the API does); a command that waited more than ``MAX_DELAY`` seconds for a thread is shed (counted, not sent).

Visible means: on the embedded path, the rollup projection's tracked position has reached the command's last
event (the tail runs in a thread of the same process, woken after each commit, as ``thidua serve`` runs it);
on the Kafka path, the worker's rollup has recorded the command's event id (a ``thidua relay`` process polling
every ``relay_poll_seconds``, one ``thidua worker`` process with its batch settings, as deployed). A watcher
polls the database, so visible times are late by up to its poll interval. The ceiling is the handlers'
closed-loop rate (one thread, no schedule) measured in the same run, with the same tail (or relay) running.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, select

from bench.harness import end_offsets, postgres_schema, wait_for
from projections import tracking
from services.kernel.settings import Settings
from services.pipeline.relay import build_relay
from services.pipeline.topics import Topics
from services.reporting.commands import SubmitReport

from .common import LatencyRow, Row, fresh_node, peak_rss_mb, percentile, print_latencies, print_rows
from .dataset import load, spool, temporary_folder
from .generator import YEARS, Scale, chosen_communes, year_commands
from .kafka import WorkerProcess, fresh_topics, relay_process

ROLLUP = "rollup"
CEILING = "handlers, closed loop (ceiling)"
MAX_DELAY = 2.0


@dataclass
class Sample:
    """One offered command: when it was due, accepted; its last event; when the rollup showed it."""

    due: float = 0.0
    accepted: float = 0.0
    position: int = 0
    event_id: str = ""
    visible: float = 0.0
    shed: bool = False


def offer(
    handle: Callable[[Any], Any],
    commands: list[Any],
    samples: list[Sample],
    rate: float,
    threads: int,
    accepted: Callable[[Sample], None],
    max_delay: float = MAX_DELAY,
) -> None:
    """Release ``commands`` at ``rate`` per second to ``threads`` workers (open loop), filling ``samples``; a
    command that waited more than ``max_delay`` seconds for a worker is shed; one ``handle`` answers None for is
    left not accepted."""
    work: queue.Queue[tuple[Any, Sample] | None] = queue.Queue()

    def worker() -> None:
        while (item := work.get()) is not None:
            command, sample = item
            if time.perf_counter() - sample.due > max_delay:
                sample.shed = True
                continue
            result = handle(command)
            if result is None:  # refused (the handle counts it): not accepted
                continue
            sample.position, sample.event_id = result.positions[-1], result.event_ids[-1]
            sample.accepted = time.perf_counter()
            accepted(sample)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    t0 = time.perf_counter()
    for k, (command, sample) in enumerate(zip(commands, samples, strict=True)):
        sample.due = t0 + k / rate
        time.sleep(max(0.0, sample.due - time.perf_counter()))
        work.put((command, sample))
    for _ in pool:
        work.put(None)
    for thread in pool:
        thread.join()


class PositionWatcher:
    """Embedded path: polls the rollup's tracked store position every ``poll`` seconds."""

    def __init__(self, engine: Engine, poll: float = 0.005) -> None:
        self.engine, self.poll = engine, poll
        self.seen: list[tuple[float, int]] = []  # (time, position), position non-decreasing
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def accepted(self, sample: Sample) -> None:
        """Nothing to do per sample: positions are matched afterwards."""

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.wait(self.poll):
                self.seen.append((time.perf_counter(), tracking.get_position(conn, ROLLUP)))
                conn.rollback()

    def settle(self, samples: list[Sample], timeout: float = 600) -> None:
        """Wait until the rollup shows every accepted sample, then give each its visible time."""
        last = max((s.position for s in samples if s.accepted), default=0)
        wait_for(lambda: self.seen and self.seen[-1][1] >= last, timeout, 0.05, "the rollup caught up")
        self.stop.set()
        self.thread.join()
        positions = [p for _, p in self.seen]
        for s in samples:
            if s.accepted:
                s.visible = self.seen[bisect_left(positions, s.position)][0]


class EventIdWatcher:
    """Kafka path: polls the worker's rollup for the event ids of accepted samples every ``poll`` seconds."""

    def __init__(self, engine: Engine, poll: float = 0.02) -> None:
        self.engine, self.poll = engine, poll
        self.incoming: collections.deque[Sample] = collections.deque()
        self.pending: dict[str, Sample] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def accepted(self, sample: Sample) -> None:
        """Watch this sample's event id from now on."""
        self.incoming.append(sample)

    def _run(self) -> None:
        table = tracking.projection_event
        with self.engine.connect() as conn:
            while not self.stop.wait(self.poll):
                while self.incoming:
                    sample = self.incoming.popleft()
                    self.pending[sample.event_id] = sample
                if not self.pending:
                    continue
                ids = list(self.pending)[:2000]
                query = select(table.c.event_id).where(table.c.projection == ROLLUP, table.c.event_id.in_(ids))
                found = [row[0] for row in conn.execute(query)]
                conn.rollback()
                now = time.perf_counter()
                for event_id in found:
                    self.pending.pop(event_id).visible = now

    def settle(self, samples: list[Sample], timeout: float = 600) -> None:
        """Wait until every accepted sample is visible."""
        wait_for(lambda: all(s.visible for s in samples if s.accepted), timeout, 0.05, "the worker's rollup")
        self.stop.set()
        self.thread.join()


def run_latency(
    settings: Settings,
    scale: Scale,
    rates: list[float],
    seconds: float,
    paths: list[str],
    threads: int,
    closed_loop: int,
    console: Console,
) -> tuple[list[Row], list[LatencyRow]]:
    """Load the first year of ``scale``, then measure each path at each rate; print and return the rows."""
    loaded = Scale(scale.units, 1, scale.seed)
    rows: list[Row] = []
    latencies: list[LatencyRow] = []
    with temporary_folder() as tmp:
        history = spool(settings, loaded, Path(tmp))
        for path in paths:
            with fresh_node(settings, "postgres") as (node, engine, *_):
                load(engine, history)
                node.runner.run_until_idle()
                offered = offered_reports(node, loaded)
                run = _embedded if path == "embedded" else _kafka
                found, lat = run(settings, node, offered, (closed_loop, rates, seconds, threads), Path(tmp))
                rows += found
                latencies += lat
    title = f"thidua bench latency: SubmitReport offered open loop over {history.events:,} loaded events"
    print_rows(console, title + " — throughput", rows, unit="commands")
    print_latencies(console, title + " — accepted → visible in the rollup", latencies)
    return rows, latencies


def offered_reports(node: Any, scale: Scale) -> Iterator[Any]:
    """The ``SubmitReport`` commands of the years after the first, for the communes of ``scale``."""
    communes = chosen_communes(node.official_units, scale)
    for year in YEARS[1:]:
        yield from (c for c in year_commands(year, communes, scale) if isinstance(c, SubmitReport))


def take(commands: Iterator[Any], count: int) -> list[Any]:
    """The next ``count`` commands; stop with a message when fewer are left."""
    taken = [c for _, c in zip(range(count), commands, strict=False)]
    if len(taken) < count:
        raise SystemExit(f"not enough reports left to offer ({len(taken)} < {count}): raise --units")
    return taken


Plan = tuple[int, list[float], float, int]  # closed-loop commands, offered rates, seconds per rate, threads


def _embedded(
    settings: Settings, node: Any, offered: Iterator[Any], plan: Plan, folder: Path
) -> tuple[list[Row], list[LatencyRow]]:
    stop = threading.Event()
    tail = threading.Thread(target=node.runner.run_forever, args=(stop, settings.projection_poll_seconds), daemon=True)
    tail.start()
    try:
        return _measure("embedded tail", node, offered, plan, lambda: PositionWatcher(node.engine))
    finally:
        stop.set()
        node.runner.wakeup.set()
        tail.join()


def _kafka(
    settings: Settings, node: Any, offered: Iterator[Any], plan: Plan, folder: Path
) -> tuple[list[Row], list[LatencyRow]]:
    url = settings.effective_database_url
    with fresh_topics(settings) as mine, postgres_schema(url, "benchrm") as (rm_engine, rm_url):
        published = build_relay(node, mine)  # not run here: its position tells how far the relay process is
        with relay_process(mine, node.settings.effective_database_url, folder) as relay:
            with WorkerProcess(mine, rm_url, folder) as worker:
                wait_for(lambda: published.lag() == 0 or not relay.alive(), 600, 0.1, "the relay published the history")
                if not relay.alive():
                    raise RuntimeError(f"the relay stopped: {relay.log()[-2000:]}")
                end = end_offsets(mine.kafka_bootstrap_servers or "", Topics(mine.node_id).events)
                worker.wait_caught_up([p.name for p in node.projections], end, 1800)
                found = _measure("relay + 1 worker", node, offered, plan, lambda: EventIdWatcher(rm_engine))
            rss = f"worker RSS {worker.run.steady_rss_mb:.0f} MB (peak {worker.run.peak_rss_mb:.0f})"
            return found[0], [LatencyRow(**{**r.__dict__, "note": f"{r.note}; {rss}"}) for r in found[1]]


def _measure(
    backend: str, node: Any, offered: Iterator[Any], plan: Plan, watcher: Callable[[], Any]
) -> tuple[list[Row], list[LatencyRow]]:
    closed_loop, rates, seconds, threads = plan
    ceiling = take(offered, closed_loop)
    started = time.perf_counter()
    for command in ceiling:
        node.bus.handle(command)
    rows = [Row(backend, CEILING, len(ceiling), [time.perf_counter() - started], peak_rss_mb())]
    latencies = []
    for rate in rates:
        commands = take(offered, int(rate * seconds))
        samples = [Sample() for _ in commands]
        watch = watcher()
        offer(node.bus.handle, commands, samples, rate, threads, watch.accepted)
        watch.settle(samples)
        accepted = [s for s in samples if s.accepted]
        span = max(s.accepted for s in accepted) - samples[0].due
        rows.append(Row(backend, f"offered {rate:,.0f}/s: achieved", len(accepted), [span], peak_rss_mb(), CEILING))
        waits = [s.accepted - s.due for s in accepted]
        note = (
            f"achieved {len(accepted) / span:,.0f}/s, shed {sum(s.shed for s in samples):,}; due → accepted "
            f"p50 {percentile(waits, 50) * 1000:.0f} ms, p99 {percentile(waits, 99) * 1000:.0f} ms"
        )
        visible = [s.visible - s.accepted for s in accepted]
        latencies.append(LatencyRow(backend, f"{rate:,.0f} commands/s offered", visible, peak_rss_mb(), None, note))
    return rows, latencies
