"""The generated history as the benchmarks use it: streamed through the handlers into a spool file, then
bulk-loaded into a store as many times as a benchmark needs, in constant memory.

The spool holds, per append, the stream id, the store rows (encoded and hash-linked by ``EventStore._row``) and
the write-side lookups, pickled in chunks of ``CHUNK`` appends. Loading writes those rows by COPY (PostgreSQL)
or executemany (SQLite): byte-for-byte what ``store.append_many`` would have written, at the database's speed
(the bulk import itself is measured by ``thidua bench append``).
"""

from __future__ import annotations

import collections
import pickle
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from services.kernel.db import is_postgres
from services.kernel.settings import Settings
from services.kernel.tables import event as event_table
from services.kernel.tables import lookup as lookup_table

from .common import batched, fresh_node, peak_rss_mb
from .generator import Scale
from .memory import GeneratorLog, history

CHUNK = 500  # appends per pickled chunk and per load transaction
COLUMNS = [c.name for c in event_table.columns if c.name != "position"]
Stored = tuple[str, list[dict[str, Any]], list[tuple[str, str, str]]]  # (stream id, rows, lookups) of one append


@dataclass
class Spool:
    """A generated history on disk: where, how much, and what generating it cost."""

    path: Path
    scale: Scale
    events: int = 0
    appends: int = 0
    commands: int = 0
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0
    rss_mb: float = 0.0
    held: int = 0  # most streams the generator held in memory at once

    def chunks(self) -> Iterator[list[Stored]]:
        """The appends, ``CHUNK`` at a time, in the order they were generated."""
        with self.path.open("rb") as source:
            while True:
                try:
                    yield pickle.load(source)  # noqa: S301 - our own temporary file
                except EOFError:
                    return


def spool(settings: Settings, scale: Scale, folder: Path) -> Spool:
    """Run the generator through the real handlers and write its appends to ``folder`` (constant memory)."""
    started = time.perf_counter()
    result = Spool(folder / f"history-{scale.units}x{scale.years}-{scale.seed}.pickle", scale)
    with fresh_node(settings, "sqlite") as (node, *_), result.path.open("wb") as out:
        log = GeneratorLog(node.store, node.bus.types, scale.seed)
        for batch in batched(history(scale, node, log), CHUNK):
            chunk = [(a.stream_id, a.rows, a.lookups) for _, appends in batch for a in appends]
            pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
            result.commands += len(batch)
            result.appends += len(chunk)
            result.counts.update(r["event_type"] for _, rows, _ in chunk for r in rows)
            result.held = max(result.held, log.held())
    result.events = sum(result.counts.values())
    result.seconds = time.perf_counter() - started
    result.rss_mb = peak_rss_mb()
    return result


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    """A folder for a spool, removed afterwards."""
    return tempfile.TemporaryDirectory(prefix="thidua-bench-spool-")


def load(engine: Engine, history: Spool) -> int:
    """Write the spooled rows and lookups into the (empty) store of ``engine``; return the events written."""
    written = 0
    for chunk in history.chunks():
        rows = [r for _, stored, _ in chunk for r in stored]
        lookups = [{"kind": k, "key": key, "ref": ref} for _, _, found in chunk for k, key, ref in found]
        if is_postgres(engine):
            copy_rows(engine, rows)
        else:
            with engine.begin() as conn:
                conn.execute(insert(event_table), rows)
        if lookups:
            with engine.begin() as conn:
                conn.execute(insert(lookup_table), lookups)
        written += len(rows)
    return written


def copy_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """The rows through psycopg's ``COPY event (...) FROM STDIN``, in one transaction."""
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY event ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for r in rows:
                copy.write_row([r[c] for c in COLUMNS])
        raw.commit()
    finally:
        raw.close()
