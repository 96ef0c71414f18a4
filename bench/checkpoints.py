"""``thidua bench checkpoints``: what witnessed checkpoints cost (docs/benchmarks.md § 8).

On a signed history of the generated events (bulk import, every batch sealed):

* the first C2SP checkpoint, which builds the RFC 6962 tree over the whole log (once, at the upgrade);
* a checkpoint after K new events (it extends the tree from the last checkpoint's compact range);
* a witness round after K new events: the origin's consistency proof, the witness's checks, cosignature and record,
  the origin's check and record (both logs in the same backend, as two nodes would be);
* ``audit verify`` of the whole log (seals, tree, checkpoints);
* the handlers (one command per transaction) with automatic checkpoints every second, against the same commands
  without: the price of an unwitnessed window of seconds, A/B in one run.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from bench.harness import append_units
from services.audit import witness
from services.audit.anchors import node_trusted_keys
from services.audit.checkpoints import Checkpointer, start_checkpoints, write_checkpoint
from services.audit.keys import load_keyring
from services.audit.verify import verify_chain
from services.kernel.settings import Settings

from .append import _bulk, workload
from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .generator import Scale

NEW = (100, 1_000, 10_000)


def run_checkpoints(
    settings: Settings, scale: Scale, backends: Sequence[str], handler_commands: int, repeat: int, console: Console
) -> list[Row]:
    """Measure every stage on every backend; print and return the rows."""
    work = workload(settings, scale, handler_commands)
    rows: list[Row] = []
    for backend in backends:
        rows += _log(settings, backend, work.appends, work.events, repeat)
        rows += _handlers(settings, backend, work.commands, work.handled, repeat)
    print_rows(console, f"thidua bench checkpoints: {work.events:,} events of history", rows)
    return rows


def _log(settings: Settings, backend: str, appends: list[Any], events: int, repeat: int) -> list[Row]:
    province, witness_node = (settings.model_copy(update={"node_id": n}) for n in ("p15", "central"))
    with fresh_node(province, backend) as (node, *_), fresh_node(witness_node, backend) as (central, *_):
        _bulk(node, appends)
        first = timed(lambda: write_checkpoint(node.store))
        rows = [Row(backend, "first checkpoint: the tree over the whole log", events + 1, [first], peak_rss_mb())]
        _exchange_keys(node, central)
        _round(node, central)  # the witness's first checkpoint of this node: nothing to prove yet
        for new in NEW:
            signed, rounds = [], []
            for r in range(repeat):
                append_units(node.store, new, per_stream=50, prefix=f"K{new}-{r}-")
                signed.append(timed(lambda: write_checkpoint(node.store)))
                rounds.append(timed(lambda: _round(node, central)))
            rows.append(Row(backend, f"checkpoint after {new:,} new events", new, signed, peak_rss_mb()))
            rows.append(Row(backend, f"witness round after {new:,} new events", new, rounds, peak_rss_mb()))
        total = node.store.head_position()
        keys = node_trusted_keys(node.settings)
        verified = timed(lambda: _verify(node, keys))
        rows.append(Row(backend, "audit verify of the whole log", total, [verified], peak_rss_mb()))
    return rows


def _verify(node: Any, keys: list[Any]) -> None:
    report = verify_chain(node.engine, node.codec, keys, node_id=node.settings.node_id)
    if not report.ok:
        raise SystemExit(f"the benchmark's log does not verify: {report.first_break}")


def _exchange_keys(node: Any, central: Any) -> None:
    """Each imports the other's key announcement, as sync does."""
    for source, target in ((node, central), (central, node)):
        with source.engine.begin() as conn:  # the key announced (central has written nothing yet)
            source.store.lock(conn)
            source.store.signing_key(conn)
        for stored in source.store.read_all(0, 100):
            if stored.event_type == "SigningKeyActivated" and stored.node_id == source.store.node_id:
                with target.engine.begin() as conn:
                    target.store.import_foreign(conn, stored.body, source.store.node_id, stored.hash, stored.position)


def _round(node: Any, central: Any) -> None:
    """One witness round, as the two sync processes do it (without the broker in between)."""
    now = datetime.now(UTC)
    peer, me = central.store.node_id, node.store.node_id
    with node.engine.connect() as conn:
        checkpoint = witness.latest_checkpoint(conn, node.store)
        assert checkpoint is not None
        old = witness.cosigned_size(conn, node.store, peer)
        request = witness.build_request(conn, node.store, checkpoint, peer, old, now)
    assert request is not None
    with central.engine.begin() as conn:
        ring = load_keyring(conn, central.codec, peer, node_trusted_keys(central.settings), [me])
        answer = witness.answer(conn, central.store, ring, request, now)
    if answer["status"] != witness.COSIGNED:
        raise SystemExit(f"the witness did not cosign: {answer}")
    with node.engine.begin() as conn:
        ring = load_keyring(conn, node.codec, me, node_trusted_keys(node.settings), [peer])
        witness.accept_response(conn, node.store, ring, answer)


def _handlers(settings: Settings, backend: str, commands: list[Any], handled: int, repeat: int) -> list[Row]:
    stage = f"handlers, 1 command/tx ({len(commands):,} cmds)"
    seconds: dict[str, list[float]] = {stage: [], f"{stage}, checkpoints every 1 s": []}
    written = 0
    for _ in range(repeat):
        for name in seconds:
            with fresh_node(settings, backend) as (node, *_):
                stop = threading.Event()
                auto = Checkpointer(node.store, lambda: None, 0, 1.0)
                thread = start_checkpoints(auto, stop) if name != stage else None
                seconds[name].append(timed(lambda: [node.bus.handle(c) for c, _ in commands]))
                stop.set()
                if thread is not None:
                    thread.join(10)
                    written += auto.written
    label = f"{stage}, checkpoints every 1 s"
    return [
        Row(backend, stage, handled, seconds[stage], peak_rss_mb()),
        Row(backend, f"{label} ({written / repeat:.0f} per run)", handled, seconds[label], peak_rss_mb(), stage),
    ]
