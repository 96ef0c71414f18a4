"""``thidua bench rebuild``: all read models rebuilt from the store (the embedded runner from position 0),
against a ceiling (read + decode of the same events, no projection work)."""

from __future__ import annotations

from rich.console import Console

from projections.runner import EmbeddedRunner
from services.kernel.contracts import EVENT_TYPES
from services.kernel.events import decode_event
from services.kernel.settings import Settings

from .append import _bulk, dataset
from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .generator import Scale


def run_rebuild(settings: Settings, scale: Scale, backends: list[str], repeat: int, console: Console) -> list[Row]:
    """Load the generated history, then time a full rebuild ``repeat`` times per backend."""
    appends = [a for _, group in dataset(settings, scale) for a in group]
    events = sum(len(a.rows) for a in appends)
    rows: list[Row] = []
    for backend in backends:
        ceiling, rebuild = [], []
        for _ in range(repeat):
            with fresh_node(settings, backend) as (node, *_):
                _bulk(node, appends)
                ceiling.append(timed(lambda: _read_decode(node)))  # noqa: B023
                runner = EmbeddedRunner(node.engine, node.store, node.codec, EVENT_TYPES, node.projections,
                                        settings.projection_batch_size)  # fmt: skip
                rebuild.append(timed(runner.run_until_idle))
        rows.append(Row(backend, "read + decode (ceiling)", events, ceiling, peak_rss_mb()))
        rows.append(Row(backend, f"rebuild {len(node.projections)} read models", events, rebuild, peak_rss_mb(),
                        "read + decode (ceiling)"))  # fmt: skip
    print_rows(console, f"thidua bench rebuild: {events:,} events from the store", rows)
    return rows


def _read_decode(node: object) -> int:
    store, codec = node.store, node.codec  # type: ignore[attr-defined]
    position, seen = 0, 0
    while batch := store.read_all(position, 1000):
        for stored in batch:
            decode_event(stored.body, codec, EVENT_TYPES, stored.position)
        position, seen = batch[-1].position, seen + len(batch)
    return seen
