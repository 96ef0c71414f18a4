"""The projection worker: a faust-streaming app that applies the node's projections from Kafka in batches.

The app is the process's host (lifecycle and signals, the /metrics and /healthz web view, the dead-letter producer,
crash on a bug); its Kafka consumer is ours (``batches.BatchConsumer``: aiokafka ``getmany``, no per-message Faust
stream). For each batch of the node's event topics:
1. decode in a thread (the one codec); records that cannot be decoded are sent to the dead-letter topic;
2. apply to every projection in one database transaction, in a thread (SQLAlchemy is synchronous: the event
   loop keeps heart-beating and fetching meanwhile); rows, offsets and event ids commit together;
3. if a projection refuses an event, find which under savepoints, send those to the dead-letter topic, apply
   the rest;
4. return: the consumer commits the offsets to Kafka after the database has committed.
A database that is away makes the batch wait and retry (backing off), it never makes a dead letter.

On every (re)assignment the worker seeks each partition to what the database says is still needed, so the
database, not Kafka's committed offset, decides what is applied (a dropped read model is rebuilt from Kafka).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import faust
from aiokafka.errors import KafkaError
from faust.app.base import BootStrategy

from services.bootstrap import Node
from services.kernel.contracts import EVENT_TYPES
from services.kernel.errors import InvalidSetting
from services.kernel.settings import WorkerSettings

from .batches import BatchConsumer, settle_heap
from .deadletters import Record, Rejected, dead_letter_headers
from .logs import correlated, logging_config
from .metrics import PipelineMetrics, Scraped, WorkerStats, exposition, process_registry
from .projector import Applied, KafkaProjector, is_transient
from .topics import Topics

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class ProjectionWorker:
    """The asynchronous side of the worker: batches in, dead letters out, database work in one thread."""

    projector: KafkaProjector
    send_dead_letter: Callable[[str, bytes | None, bytes | None, list[tuple[str, bytes]]], Any]  # awaitable send
    dead_letter_topic: str
    group: str
    stats: WorkerStats = field(default_factory=WorkerStats)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "thidua-db"))
    max_backoff: float = 30.0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn`` in the database thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args))

    async def handle(self, records: Sequence[Record]) -> Applied:
        """Decode, dead-letter, apply and record one batch; return when the database has committed it."""
        decoded, rejected = await self.run(self.projector.decode, records)
        await self.dead_letter(rejected)
        try:
            applied = await self.retrying(self.projector.apply, decoded, records)
        except Exception as exc:  # a projection refused the batch: find the events it refuses, apply the rest
            log.warning("a projection refused the batch; isolating the refused events", exc_info=exc)
            refused = await self.retrying(self.projector.find_rejections, decoded, records)
            if not refused:  # the batch fails but no event alone does: not a bad event, a bug
                raise
            await self.dead_letter(refused)
            excluded = frozenset((r.projection or "", *r.record.tp, r.record.offset) for r in refused)
            applied = await self.retrying(self.projector.apply, decoded, records, excluded)
        self.stats.record(applied, len(records))
        log.debug("applied batch", extra={"records": len(records), "applied": applied.events})
        return applied

    async def retrying(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in the database thread, waiting and retrying (backing off) while the database is away."""
        backoff = 0.5
        while True:
            try:
                return await self.run(fn, *args)
            except Exception as exc:  # only a database that is away is retried
                if not is_transient(exc):
                    raise
                log.warning("database unavailable; retrying", exc_info=exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def dead_letter(self, rejected: Sequence[Rejected]) -> None:
        """Publish each rejection to the dead-letter topic and wait for the broker's acknowledgement."""
        for item in rejected:
            with correlated(item.correlation_id):
                log.warning(
                    "dead letter",
                    extra={
                        "reason": item.code,
                        "stage": item.stage,
                        "projection": item.projection,
                        "source": f"{item.record.topic}/{item.record.partition}@{item.record.offset}",
                        "error": item.error,
                    },
                )
            headers = dead_letter_headers(item, self.group)
            await self._send_retrying(item.record.key, item.record.value, headers)
            self.stats.dead_letters[item.code] += 1

    async def _send_retrying(self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        backoff = 0.5
        while True:
            try:
                await self.send_dead_letter(self.dead_letter_topic, key, value, headers)
                return
            except KafkaError as exc:  # the broker is away: the batch waits, like for the database
                log.warning("dead-letter topic unavailable; retrying", exc_info=exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)


def faust_app(settings: WorkerSettings, web_port: int | None = None) -> faust.App:
    """The Faust app of the node's projection workers (its id is the consumer group)."""
    broker_credentials = None
    if settings.kafka_sasl_mechanism:
        import ssl

        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        context = ssl.create_default_context(cafile=cafile)
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        broker_credentials = faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context if settings.kafka_security_protocol == "SASL_SSL" else None,
        )
    datadir = settings.data_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.effective_worker_app_id,
        broker=[f"kafka://{s}" for s in (settings.kafka_bootstrap_servers or "").split(",")],
        broker_credentials=broker_credentials,
        store="memory://",
        datadir=str(datadir),
        autodiscover=False,
        topic_allow_declare=False,  # topics are created by `thidua topics create`, with their configuration
        topic_disable_leader=True,
        producer_acks=-1,
        web_enabled=settings.worker_web_enabled,
        web_port=web_port or settings.worker_web_port,
        web_bind="0.0.0.0",  # noqa: S104 - inside a container; publish the port deliberately
        worker_redirect_stdouts=False,
    )
    # Faust's own consumer stays off: the worker's consumer is batches.BatchConsumer (docs/pipeline.md, Workers)
    app.boot_strategy = BootStrategy(app, enable_kafka_consumer=False)
    return app


def build(node: Node, settings: WorkerSettings) -> tuple[faust.App, ProjectionWorker]:
    """Wire the Faust app (its own Kafka consumer off), the batch consumer, /metrics and the dead-letter producer."""
    app = faust_app(settings)
    topics = Topics(settings.node_id)
    projector = KafkaProjector(node.engine, node.codec, EVENT_TYPES, selected_projections(node, settings))

    async def send(topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        await app.maybe_start_producer()
        await app.producer.send_and_wait(topic, key, value, None, None, headers)

    worker = ProjectionWorker(projector, send, topics.dead_letters, app.conf.id)

    async def resume(partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return await worker.retrying(projector.resume_offsets, partitions)  # waits while the database is away

    consumer = BatchConsumer(settings, topics.events, worker.handle, resume, partial(fail_stop, app), beacon=app.beacon)

    async def consume() -> None:  # started with the app, stopped with it (a runtime dependency)
        await app.add_runtime_dependency(consumer)

    app.task(consume)

    registry = process_registry(PipelineMetrics.for_node(node), Scraped(worker.stats.families))

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "group": app.conf.id, "assigned": len(consumer.assignment())})

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        accept = request.headers.get("Accept")
        body, content_type = await asyncio.get_running_loop().run_in_executor(None, exposition, registry, accept)
        return web.bytes(body, headers={"Content-Type": content_type})  # aiohttp refuses a charset in content_type

    return app, worker


def selected_projections(node: Node, settings: WorkerSettings) -> list[Any]:
    """The node's projections, or those ``THIDUA_WORKER_PROJECTIONS`` names (unknown names are an error)."""
    if not settings.worker_projections:
        return list(node.projections)
    wanted = [name.strip() for name in settings.worker_projections.split(",") if name.strip()]
    known = {p.name: p for p in node.projections}
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise InvalidSetting(
            f"THIDUA_WORKER_PROJECTIONS nêu mô hình đọc không tồn tại {unknown}; các tên có: {sorted(known)}.",
            f"THIDUA_WORKER_PROJECTIONS names unknown read models {unknown}; known: {sorted(known)}.",
            setting="THIDUA_WORKER_PROJECTIONS",
        )
    return [known[name] for name in wanted]


async def fail_stop(app: faust.App, exc: BaseException) -> None:
    """Crash the worker process instead of going on past an unapplied batch.

    Going on with the next records, later batches would move the recorded offsets past the failed one, and it
    would never be applied. A restarted process seeks back to the database's offsets instead.
    """
    log.critical("a batch failed unexpectedly; stopping the worker (a restart resumes from the database)", exc_info=exc)
    await app.crash(exc)


def run_worker(settings: WorkerSettings) -> None:
    """Run a projection worker until SIGTERM/SIGINT (the ``thidua worker`` command)."""
    import signal

    from services.bootstrap import bootstrap

    from .broker import wait_for_broker
    from .logs import configure

    servers = settings.require_kafka("thidua worker")
    configure(settings.log_level, settings.log_json, "worker")  # Faust sets the same up again when it starts
    node = bootstrap(settings)
    node.open_db()  # refuses a database at another revision (before the wait); creates read models that have none
    waiting = threading.Event()  # Faust installs its own handlers once it runs; until then, a signal ends the wait
    previous = {sig: signal.signal(sig, lambda *_: waiting.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if not wait_for_broker(servers, "worker", waiting):
            node.close()
            return
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    app, _ = build(node, settings)
    stop = threading.Event()
    builder = threading.Thread(  # read models at another version: built from the store beside the live ones
        target=node.builder().run_pending, args=(selected_projections(node, settings), stop), daemon=True
    )
    builder.start()
    config = logging_config(settings.log_level, settings.log_json, "worker")
    worker = faust.Worker(app, loglevel=settings.log_level, logging_config=config, quiet=True)
    settle_heap()
    try:
        worker.execute_from_commandline()
    finally:
        stop.set()
        builder.join(timeout=10)
        node.close()
