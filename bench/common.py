"""Shared pieces of the benchmarks: fresh databases per backend, timing, peak RSS and the result table."""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from services.bootstrap import Node, bootstrap
from services.kernel.db import make_engine
from services.kernel.settings import Settings
from services.pipeline.harness import postgres_schema


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


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(work: Callable[[], Any]) -> float:
    """Seconds ``work`` took."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@contextmanager
def fresh_node(settings: Settings, backend: str) -> Iterator[tuple[Node, Engine, str, str]]:
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


def print_rows(console: Console, title: str, rows: list[Row]) -> None:
    """The result table: events/s at the median run, peak RSS, the ceiling and the ratio to it."""
    rates = {(r.backend, r.stage): r.rate for r in rows}
    heads = ("backend", "stage", "events", "runs", "median s", "events/s", "peak RSS MB", "vs", "ratio")
    table = Table(*heads, title=title)
    for r in rows:
        ref = rates.get((r.backend, r.ceiling)) if r.ceiling else None
        ratio = f"{r.rate / ref:.2f}" if ref else "-"
        table.add_row(r.backend, r.stage, f"{r.count:,}", str(len(r.seconds)), f"{statistics.median(r.seconds):.2f}",
                      f"{r.rate:,.0f}", f"{r.rss_mb:.0f}", r.ceiling or "-", ratio)  # fmt: skip
    console.print(table)
