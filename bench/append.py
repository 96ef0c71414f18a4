"""``thidua bench append``: events/s through the command handlers (one command per transaction) and the bulk
import (``store.append_many``, many streams per transaction), against a ceiling (the same rows by raw executemany,
and COPY on PostgreSQL) and a peer (the ``eventsourcing`` library's recorder writing the same bodies).

Signed appends are measured A/B in the same run: the bulk import and the handlers with the node's key
(every batch sealed) and without one (as before signed appends), compared with each other. The repeats are interleaved
(stage after stage, then again), so a slow moment of a shared machine hits every stage alike."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, insert

from services.bootstrap import Node
from services.kernel.settings import Settings
from services.kernel.tables import event as event_table
from services.kernel.tables import lookup as lookup_table

from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .dataset import CHUNK, copy_rows
from .generator import Scale
from .memory import Append, history

Work = Callable[[Node, Engine, str], object]  # (node, engine, postgres schema) -> anything
Stage = tuple[str, int, Work, str | None]  # (name, events, work, ceiling)
CEILING = "raw executemany (ceiling)"
BULK = "bulk import, store.append_many"
UNSIGNED = "bulk import, unsigned (before signed appends)"


def materialised(settings: Settings, scale: Scale) -> list[tuple[Any, list[Append]]]:
    """The generated history (commands with their appends) in memory, once for every stage (~10 KB per event:
    this benchmark is for sizes up to a few hundred thousand events; the others stream from ``bench.dataset``)."""
    with fresh_node(settings, "sqlite") as (node, *_):
        return list(history(scale, node))


@dataclass(frozen=True)
class Workload:
    """The generated history in memory: every append, and the first commands for the handlers' stages."""

    appends: list[Append]
    events: int
    commands: list[tuple[Any, list[Append]]]
    handled: int  # events the commands append


def workload(settings: Settings, scale: Scale, handler_commands: int) -> Workload:
    """The history of ``scale`` and its first ``handler_commands`` commands."""
    data = materialised(settings, scale)
    appends = [a for _, group in data for a in group]
    commands = data[:handler_commands]
    handled = sum(len(a.rows) for _, group in commands for a in group)
    return Workload(appends, sum(len(a.rows) for a in appends), commands, handled)


def run_append(
    settings: Settings, scale: Scale, backends: Sequence[str], handler_commands: int, repeat: int, console: Console
) -> list[Row]:
    """Measure every stage on every backend ``repeat`` times; print and return the rows."""
    load = workload(settings, scale, handler_commands)
    appends, events, commands, handled = load.appends, load.events, load.commands, load.handled
    rows: list[Row] = []
    for backend in backends:
        handlers = f"handlers, 1 command/tx ({len(commands):,} cmds)"
        stages: list[Stage] = [
            (CEILING, events, lambda n, e, s: _executemany(e, appends), None),
            (UNSIGNED, events, lambda n, e, s: _bulk(_unsigned(n), appends), CEILING),
            (BULK, events, lambda n, e, s: _bulk(n, appends), UNSIGNED),
            ("eventsourcing recorder (peer)", events, _peer_work(settings, backend, appends), CEILING),
            (
                f"{handlers}, unsigned",
                handled,
                lambda n, e, s: [_unsigned(n).bus.handle(c) for c, _ in commands],
                CEILING,
            ),
            (handlers, handled, lambda n, e, s: [n.bus.handle(c) for c, _ in commands], f"{handlers}, unsigned"),
        ]
        if backend == "postgres":
            stages.insert(1, ("raw COPY (ceiling)", events, lambda n, e, s: _copy(e, appends), None))
        seconds: dict[str, list[float]] = {stage: [] for stage, *_ in stages}
        for _ in range(repeat):
            for stage, _count, work, _ceiling in stages:
                with fresh_node(settings, backend) as (node, engine, _url, schema):
                    seconds[stage].append(timed(lambda: work(node, engine, schema)))  # noqa: B023
        rows += [
            Row(backend, stage, count, seconds[stage], peak_rss_mb(), ceiling) for stage, count, _, ceiling in stages
        ]
    print_rows(console, f"thidua bench append: {scale.units:,} units x {scale.years} years = {events:,} events", rows)
    return rows


def _unsigned(node: Node) -> Node:
    """The node with a store that seals nothing (the store as it was before signed appends)."""
    node.store.signer = None
    return node


def _chunks(appends: list[Append]) -> list[list[Append]]:
    return [appends[i : i + CHUNK] for i in range(0, len(appends), CHUNK)]


def _bulk(node: Any, appends: list[Append]) -> None:
    for chunk in _chunks(appends):
        with node.engine.begin() as conn:
            node.store.append_many(conn, [(a.stream_id, a.expected_version, a.events) for a in chunk])
            lookups = [dict(kind=kind, key=key, ref=ref) for a in chunk for kind, key, ref in a.lookups]
            if lookups:
                conn.execute(insert(lookup_table), lookups)


def _executemany(engine: Any, appends: list[Append]) -> None:
    for chunk in _chunks(appends):
        with engine.begin() as conn:
            conn.execute(insert(event_table), [r for a in chunk for r in a.rows])


def _copy(engine: Any, appends: list[Append]) -> None:
    for chunk in _chunks(appends):
        copy_rows(engine, [r for a in chunk for r in a.rows])


def _peer_work(settings: Settings, backend: str, appends: list[Append]) -> Work:
    """The peer's stage for one backend (the schema comes from the fresh node)."""
    return lambda node, engine, schema: _peer(settings, backend, schema, appends)


def _peer(settings: Settings, backend: str, schema: str, appends: list[Append]) -> None:
    from eventsourcing.persistence import StoredEvent

    recorder = _recorder(settings, backend, schema)
    for chunk in _chunks(appends):
        batch = [
            StoredEvent(_uuid(a.stream_id), a.expected_version + i, r["event_type"], r["body"])
            for a in chunk
            for i, r in enumerate(a.rows, start=1)
        ]
        recorder.insert_events(batch)


def _uuid(stream_id: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, stream_id)


def _recorder(settings: Settings, backend: str, schema: str) -> Any:
    if backend == "sqlite":
        import tempfile

        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

        path = tempfile.mktemp(prefix="es-bench-", suffix=".db")
        recorder: Any = SQLiteApplicationRecorder(SQLiteDatastore(path))
    else:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
        from sqlalchemy.engine import make_url

        url = make_url(settings.effective_database_url)
        store = PostgresDatastore(
            url.database or "", url.host or "", url.port or 5432, url.username or "", url.password or "", schema=schema
        )
        recorder = PostgresApplicationRecorder(store)
    recorder.create_table()
    return recorder
