"""``thidua bench asof``: the first as-of answer about a province, from a history the node has not rebuilt for that
question: the rollup rebuilt for the province's subtree only (its events and its ancestors', found by
``ix_event_subtree_type``), beside two ceilings measured in the same run — reading + decoding the subtree's events
(every type), and reading + decoding the events the rebuild replays (the rollup's types). It also prints how many
events were replayed against the subtree's (goal ≤ 1.2×) and the time against read + decode (goal ≤ 1.5×), and what
the same answer costs in another process once the rebuild exists (reused through ``readmodel_asof``). A second table
gives the same ratios by CPU seconds, this process's and the PostgreSQL server's (``bench.rebuild.CpuClock``).

The national dataset of ``thidua bench load --staff-titles 1`` was built at an older revision: ``--source-schema``
copies its events once into a schema at the code's revision (``--schema``, kept and reused), leaving it untouched.
Without a source schema a generated history is loaded into a fresh schema.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, inspect, select, text

from projections.rollup import codes, queries, views
from projections.rollup.evolve import ALL_PLANS
from projections.scan import scoped_batches, scoped_query
from services.audit.asof import AsOfCache, AsOfPoint
from services.bootstrap import Node
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import decode_event
from services.kernel.settings import Settings

from .common import fresh_node, timed
from .dataset import load, spool, temporary_folder
from .generator import Scale
from .prepared import kept_node
from .rebuild import CpuClock

SUBTREE, REPLAYED, FIRST = "read+decode subtree", "read+decode replayed", "first answer"  # stages timed by CPU


@dataclass
class Measured:
    """One province's numbers over the runs."""

    path: str
    position: int
    subtree_events: int
    replayed: int = 0
    read_subtree: list[float] = field(default_factory=list)
    read_replayed: list[float] = field(default_factory=list)
    first_answer: list[float] = field(default_factory=list)
    reused_answer: list[float] = field(default_factory=list)
    full_replay: list[float] = field(default_factory=list)
    cpu: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # stage → (client, server) per run


def run_asof(
    settings: Settings,
    scale: Scale,
    source_schema: str | None,
    schema: str | None,
    provinces: list[str],
    at: float,
    period: str,
    repeat: int,
    full: bool,
    console: Console,
) -> list[Measured]:
    """Prepare the events, then measure each province ``repeat`` times; print the table."""
    with temporary_folder() as tmp, _node(settings, scale, source_schema, schema, Path(tmp), console) as node:
        head = node.store.head_position()
        position = max(1, int(head * at))
        found = [_measure(node, f"VN/{p}", position, period, repeat, full) for p in _provinces(node, provinces)]
    _print(console, f"thidua bench asof: first answer as of position {position:,} of {head:,}", found)
    _print_cpu(console, found)
    return found


@contextmanager
def _node(
    settings: Settings, scale: Scale, source_schema: str | None, schema: str | None, folder: Path, console: Console
) -> Iterator[Node]:
    if source_schema is None:
        with fresh_node(settings, "postgres") as (node, engine, *_):
            load(engine, spool(settings, scale, folder))
            yield node
        return
    node = kept_node(settings, schema or f"{source_schema}_asof", folder, pool_size=6)
    try:
        _copy_events(node, source_schema, console)
        yield node
    finally:
        node.close()


def _copy_events(node: Node, source: str, console: Console) -> None:
    """The source schema's events (and imported-event records) copied into the node's schema, once."""
    with node.engine.begin() as conn:
        wanted: int = conn.execute(text(f'SELECT count(*) FROM "{source}".event')).scalar_one()
        held: int = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    if held == wanted:
        console.print(f"{held:,} events already copied from {source}")
        return
    started = time.perf_counter()
    with node.engine.begin() as conn:
        for table in ("foreign_event", "event"):
            mine = {c["name"] for c in inspect(conn).get_columns(table)}
            theirs = {c["name"] for c in inspect(conn).get_columns(table, schema=source)}
            columns = ", ".join(f'"{c}"' for c in sorted(mine & theirs))
            conn.execute(text(f"TRUNCATE {table}"))
            conn.execute(text(f'INSERT INTO {table} ({columns}) SELECT {columns} FROM "{source}".{table}'))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('event', 'position'), max(position)) FROM event"))
    with node.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE event"))
    console.print(f"copied {wanted:,} events from {source} in {time.perf_counter() - started:,.0f} s")


def _provinces(node: Node, wanted: list[str]) -> list[str]:
    """The province codes asked; ``largest`` is the one with the most events (for a generated sample)."""
    if "largest" not in wanted:
        return wanted
    with node.engine.connect() as conn:
        query = text(
            "SELECT substr(org_unit_path, 4, 2) FROM event WHERE org_unit_path LIKE 'VN/%' "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        largest = str(conn.execute(query).scalar_one())
    return [largest if p == "largest" else p for p in wanted]


def _read_decode(node: Node, types: frozenset[str] | None, scope: str, position: int) -> int:
    """Read the events of ``scope`` up to ``position`` (of ``types``) as a rebuild does, and decode each."""
    seen = 0
    for rows in scoped_batches(node.engine, types, scope, 0, position, node.settings.effective_catchup_batch_size):
        for at, body in rows:
            decode_event(body, node.codec, EVENT_TYPES, at)
        seen += len(rows)
    return seen


def _answer(cache: AsOfCache, point: AsOfPoint, path: str, period: str, models: list[str], scope: str) -> None:
    """The rollup of ``path`` for ``period`` as the API answers it (``GET /org-units/{code}/rollup``)."""
    with cache.connect(point, models, scope) as conn:
        unit = queries.unit_by_code(conn, path.rsplit("/", 1)[-1])
        assert unit is not None, path
        views.summary(conn, unit, period, ALL_PLANS, codes.CodeCatalog())


def _cache(node: Node) -> AsOfCache:
    """What a process of the node makes (``services.api.asof.make_cache``)."""
    batch = node.settings.effective_catchup_batch_size
    return AsOfCache(node.engine, node.store, node.codec, EVENT_TYPES, node.projections, 8, batch)


def _measure(node: Node, path: str, position: int, period: str, repeat: int, full: bool) -> Measured:
    rollup = next(p for p in node.projections if p.name == "rollup")
    types = rollup.event_types  # type: ignore[attr-defined]
    with node.engine.connect() as conn:
        count = select(func.count()).select_from(scoped_query(None, path, 0, position).subquery())
        found = Measured(path, position, int(conn.execute(count).scalar_one()))
    point = AsOfPoint(node.store.clock(), position, node.store.head_position())
    clock = CpuClock(node.engine)
    for _ in range(repeat):
        found.read_subtree.append(clock.timed(SUBTREE, lambda: _read_decode(node, None, path, position)))
        found.read_replayed.append(clock.timed(REPLAYED, lambda: _read_decode(node, types, path, position)))
        first = _cache(node)
        first.start()
        key = first.key(position, ["rollup"], path)
        first.discard(key)  # a first answer: nothing cached for the question
        found.first_answer.append(
            clock.timed(FIRST, lambda: _answer(first, point, path, period, ["rollup"], path))  # noqa: B023
        )
        for stage, spent in clock.spent.items():
            found.cpu.setdefault(stage, []).append(spent)
        found.replayed = first.status(position, ["rollup"], path)["entry"]["events_applied"]
        other = _cache(node)  # another process of the node
        found.reused_answer.append(timed(lambda: _answer(other, point, path, period, ["rollup"], path)))  # noqa: B023
        assert other.stats.builds == 0 and other.stats.copies == 0
        if full:  # the previous first answer: every read model over the whole history
            old = _cache(node)
            old.start()
            old.discard(old.key(position))
            found.full_replay.append(timed(lambda: _answer(old, point, path, period, [], "")))  # noqa: B023
            old.discard(old.key(position))
    return found


def _print_cpu(console: Console, found: list[Measured]) -> None:
    """Median CPU seconds (this process + the PostgreSQL server) of the ceilings and the first answer, and the first
    answer's ratio to each ceiling: steadier than wall time on a shared machine (the server's CPU is the whole
    cluster's: run it alone on its cluster)."""
    heads = ("subtree", *(f"{stage} CPU s (client + server)" for stage in (SUBTREE, REPLAYED, FIRST)))
    table = Table(*heads, "÷ subtree", "÷ replayed", title="CPU seconds, medians", box=box.MARKDOWN)
    med = statistics.median
    for m in found:
        cpu = {stage: (med(c for c, _ in runs), med(s for _, s in runs)) for stage, runs in m.cpu.items()}
        total = {stage: sum(spent) for stage, spent in cpu.items()}
        cells = [f"{total[s]:.2f} ({cpu[s][0]:.2f} + {cpu[s][1]:.2f})" for s in (SUBTREE, REPLAYED, FIRST)]
        ratios = (f"{total[FIRST] / total[s]:.2f}" if total[s] else "-" for s in (SUBTREE, REPLAYED))
        table.add_row(m.path, *cells, *ratios)
    console.print(table)


def _print(console: Console, title: str, found: list[Measured]) -> None:
    heads = (
        "subtree",
        "subtree events",
        "replayed",
        "replayed / subtree",
        "read+decode subtree s",
        "read+decode replayed s",
        "first answer s",
        "÷ read+decode subtree",
        "÷ read+decode replayed",
        "another process s",
        "full replay s (before)",
        "runs",
    )
    table = Table(*heads, title=title, box=box.MARKDOWN)
    med = statistics.median
    for m in found:
        first, subtree, replayed = med(m.first_answer), med(m.read_subtree), med(m.read_replayed)
        table.add_row(
            m.path,
            f"{m.subtree_events:,}",
            f"{m.replayed:,}",
            f"{m.replayed / m.subtree_events:.2f}",
            f"{subtree:.2f}",
            f"{replayed:.2f}",
            f"{first:.2f}",
            f"{first / subtree:.2f}",
            f"{first / replayed:.2f}",
            f"{med(m.reused_answer):.3f}",
            f"{med(m.full_replay):.0f}" if m.full_replay else "-",
            str(len(m.first_answer)),
        )
    console.print(table)
