"""Shared pieces of the benchmarks: fresh databases per backend, timing, peak RSS and the result table."""

from __future__ import annotations

import itertools
import math
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from bench.harness import postgres_schema
from services.bootstrap import Node, bootstrap
from services.kernel.db import make_engine
from services.kernel.errors import InvalidSetting
from services.kernel.settings import Settings

T = TypeVar("T")


@dataclass
class Row:
    """One measured line: what, how many, the median seconds of its runs, and the ceiling it is compared to."""

    backend: str
    stage: str
    count: int
    seconds: list[float]
    rss_mb: float
    ceiling: str | None = None

    @property
    def rate(self) -> float:
        """Events per second at the median run."""
        median = statistics.median(self.seconds)
        return self.count / median if median else 0.0


def wide_console() -> Console:
    """A console whose tables are not squeezed when the output is a file or a pipe (tables are Markdown)."""
    return Console(width=max(Console().width, 280))


def require(settings: Settings, kafka: bool = False) -> None:
    """Stop with a clear message unless PostgreSQL (and Kafka) are configured (``make services-up``)."""
    if not settings.effective_database_url.startswith("postgresql"):
        raise InvalidSetting(
            'Phép đo này cần PostgreSQL: đặt THIDUA_DATABASE_URL (eval "$(bash infra/services.sh env)").',
            'This benchmark needs PostgreSQL: set THIDUA_DATABASE_URL (eval "$(bash infra/services.sh env)").',
        )
    if kafka:
        settings.require_kafka("thidua bench")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter); ``itertools.batched`` arrives with Python 3.12."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_mb(pid: int, key: str = "VmRSS") -> float:
    """A memory line of another process's /proc/<pid>/status (VmRSS, VmHWM) in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed(work: Callable[[], Any]) -> float:
    """Seconds ``work`` took."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@contextmanager
def fresh_node(settings: Settings, backend: str) -> Iterator[tuple[Node[Settings], Engine, str, str]]:
    """A bootstrapped node on an empty database: (node, engine, url, postgres schema or '')."""
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
            engine = make_engine(url)
            node = bootstrap(settings.model_copy(update={"database_url": url, "data_dir": Path(tmp)}), engine=engine)
            node.init_db()
            try:
                yield node, engine, url, ""
            finally:
                node.close()
            return
        with postgres_schema(settings.effective_database_url, "bench") as (engine, url):
            node = bootstrap(settings.model_copy(update={"database_url": url, "data_dir": Path(tmp)}), engine=engine)
            node.init_db()
            schema = url.rsplit("search_path%3D", 1)[-1]
            yield node, engine, url, schema


def print_rows(console: Console, title: str, rows: list[Row], unit: str = "events") -> None:
    """The result table: ``unit``/s at the median run, peak RSS, the ceiling and the ratio to it."""
    rates = {(r.backend, r.stage): r.rate for r in rows}
    by_stage = {r.stage: r.rate for r in rows}  # a ceiling measured on another path (e.g. Kafka for the store tail)
    heads = ("backend", "stage", unit, "runs", "median s", f"{unit}/s", "peak RSS MB", "vs", "ratio")
    table = Table(*heads, title=title, box=box.MARKDOWN)
    for r in rows:
        ref = rates.get((r.backend, r.ceiling), by_stage.get(r.ceiling)) if r.ceiling else None
        ratio = f"{r.rate / ref:.2f}" if ref else "-"
        table.add_row(
            r.backend,
            r.stage,
            f"{r.count:,}",
            str(len(r.seconds)),
            f"{statistics.median(r.seconds):.2f}",
            f"{r.rate:,.0f}",
            f"{r.rss_mb:.0f}",
            r.ceiling or "-",
            ratio,
        )
    console.print(table)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class LatencyRow:
    """One measured latency distribution (seconds), with the ceiling it is compared to and a free note."""

    backend: str
    stage: str
    samples: list[float]
    rss_mb: float
    ceiling: str | None = None
    note: str = ""

    def ms(self, q: float) -> float:
        """The ``q``-th percentile in milliseconds."""
        return percentile(self.samples, q) * 1000


def print_latencies(console: Console, title: str, rows: list[LatencyRow]) -> None:
    """The latency table: p50/p95/p99/max, peak RSS, the ceiling and the ratio of its p50 to this p50."""
    p50 = {r.stage: r.ms(50) for r in rows}
    heads = ("backend", "stage", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "peak RSS MB", "vs", "ratio", "note")
    table = Table(*heads, title=title, box=box.MARKDOWN)
    for r in rows:
        ref = p50.get(r.ceiling) if r.ceiling else None
        ratio = f"{ref / r.ms(50):.2f}" if ref and r.ms(50) else "-"
        cells = [f"{r.ms(q):.1f}" for q in (50, 95, 99, 100)]
        table.add_row(
            r.backend, r.stage, f"{len(r.samples):,}", *cells, f"{r.rss_mb:.0f}", r.ceiling or "-", ratio, r.note
        )
    console.print(table)
