"""The outbox relay: publishes the store's events to Kafka in global order, then records how far it got.

The store is the outbox. One batch: read the events after the published position, send each to its context's
topic (key = stream id, CloudEvents binary headers, Avro single-object value) through the idempotent producer
(acks=all), wait until the broker has acknowledged every one, and only then record the batch's last position.
A crash between the acknowledgement and the record publishes the batch again: duplicates, never loss;
consumers drop them by ``event_id``. When the broker is away the producer retries; if a batch still fails, the
relay drops the producer, waits (backing off) and starts again from the recorded position.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Connection, Engine

from services import migrations
from services.kernel.appended import AppendedSignal
from services.kernel.db import is_postgres
from services.kernel.messaging import to_message
from services.kernel.settings import RelaySettings
from services.kernel.store import EventStore, StoredEvent

from . import tables
from .topics import Topics

if TYPE_CHECKING:
    from services.audit.checkpoints import Checkpointer
    from services.bootstrap import Node

log = logging.getLogger(__name__)

RELAY_NAME = "kafka"
LEADER_LOCK_CLASS = 0x74686964  # "thid": with the node id's CRC-32, the advisory lock one relay of a node holds


@dataclass
class RelayStats:
    """Counters of this relay process (exported on /metrics)."""

    published: int = 0
    batches: int = 0
    failures: int = 0
    last_batch_seconds: float = 0.0
    checkpoints: int = 0
    checkpoint_failures: int = 0


class Relay:
    """Publishes the event store to Kafka, batch by batch, recording the position the broker acknowledged."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        topics: Topics,
        producer_factory: Callable[[], KafkaProducer],
        batch_size: int = 1000,
        name: str = RELAY_NAME,
        checkpointer: Checkpointer | None = None,
        checkpoint_check_seconds: float = 5.0,
        appended: AppendedSignal | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.topics = topics
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.name = name
        self.stats = RelayStats()
        self._producer: KafkaProducer | None = None
        self._leader: Connection | None = None
        self.checkpointer = checkpointer
        self.checkpoint_check_seconds = checkpoint_check_seconds
        self._next_checkpoint_check = 0.0
        self.appended = appended or AppendedSignal(engine)  # idle: woken by the next append (PostgreSQL)

    def position(self) -> int:
        """The last store position the broker acknowledged."""
        with self.engine.connect() as conn:
            return tables.get_published(conn, self.name)

    def lag(self) -> int:
        """Events in the store that are not yet acknowledged by the broker."""
        return max(self.store.head_position() - self.position(), 0)

    def run_once(self) -> int:
        """Publish one batch after the recorded position; return the number of events published."""
        started = time.monotonic()
        batch = self.store.read_all(self.position(), self.batch_size)
        if not batch:
            return 0
        self.publish(batch)
        with self.engine.begin() as conn:
            tables.set_published(conn, self.name, batch[-1].position)
        self.stats.published += len(batch)
        self.stats.batches += 1
        self.stats.last_batch_seconds = time.monotonic() - started
        log.info(
            "published batch",
            extra={"first_position": batch[0].position, "last_position": batch[-1].position, "events": len(batch)},
        )
        return len(batch)

    def publish(self, batch: list[StoredEvent]) -> None:
        """Send ``batch`` and wait until the broker acknowledged all of it (raises otherwise)."""
        routed = [(self.topics.for_event(s.event_type), to_message(s)) for s in batch]  # unmapped: fail before sending
        producer = self.producer()
        futures = [producer.send(t, key=m.key, value=m.value, headers=m.headers) for t, m in routed]
        producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises the delivery error of a failed record

    def producer(self) -> KafkaProducer:
        """The current producer (built on first use and after a failure)."""
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def drop_producer(self) -> None:
        """Close the producer without waiting; the next batch builds a new one."""
        if self._producer is not None:
            with suppress(Exception):  # closing a producer whose broker is gone may raise; it is discarded anyway
                self._producer.close(timeout=1)
            self._producer = None

    def run_until_idle(self) -> int:
        """Publish until the relay has caught up with the store's head; return events published."""
        total = 0
        while (count := self.run_once()) > 0:
            total += count
        return total

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.2, max_backoff: float = 30.0) -> None:
        """Publish until ``stop`` is set, retrying failures with exponential backoff (the batch is re-sent)."""
        self.wait_for_leadership(stop)
        backoff = 0.5
        while not stop.is_set():
            try:
                published = self.run_once()
                self.checkpoint(published)
                if published == 0:
                    self.appended.wait(stop, poll_seconds)
                backoff = 0.5
            except Exception as exc:  # broker or database away, or an unroutable event: log loudly, retry
                self.stats.failures += 1
                log.error("relay batch failed; retrying from the recorded position", exc_info=exc)
                if isinstance(exc, KafkaError):
                    self.drop_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
        self.close()

    def checkpoint(self, published: int) -> None:
        """Sign the log's head when due (docs/audit.md), looking after each published batch and every
        ``checkpoint_check_seconds`` when idle. Only the leader runs this loop; a failure is logged, never raised."""
        now = time.monotonic()
        if self.checkpointer is None or (published == 0 and now < self._next_checkpoint_check):
            return
        self._next_checkpoint_check = now + self.checkpoint_check_seconds
        try:
            if self.checkpointer.tick() is not None:
                self.stats.checkpoints += 1  # the next batch publishes it (registry topic)
        except Exception as exc:  # the relay's job is publishing: a checkpoint that failed is retried later
            self.stats.checkpoint_failures += 1
            log.error("automatic checkpoint failed; the relay goes on", exc_info=exc)

    def wait_for_leadership(self, stop: threading.Event, poll_seconds: float = 2.0) -> None:
        """On PostgreSQL, hold a session lock so that one relay of the node publishes at a time; others wait."""
        if not is_postgres(self.engine):
            return
        while not stop.is_set():
            conn = self.engine.connect()
            node_key = (zlib.crc32(self.topics.node_id.encode()) ^ 0x8000_0000) - 0x8000_0000  # signed int4
            if conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LEADER_LOCK_CLASS}, {node_key})").scalar():
                conn.commit()
                self._leader = conn
                log.info("relay holds the publishing lock")
                return
            conn.close()
            log.info("another relay publishes for this node; waiting")
            stop.wait(poll_seconds)

    def close(self) -> None:
        """Flush and close the producer; release the publishing lock; stop listening for appends."""
        self.appended.close()
        if self._producer is not None:
            with suppress(KafkaError):
                self._producer.flush(timeout=10)
        self.drop_producer()
        if self._leader is not None:
            with suppress(Exception):  # the connection may already be gone; the lock goes with it
                self._leader.close()
            self._leader = None


def build_relay(node: Node, settings: RelaySettings) -> Relay:
    """The relay of a bootstrapped node, with the idempotent producer and the automatic checkpointer from settings."""
    from services.audit.checkpoints import checkpointer_for
    from services.kernel.kafkaclients import make_producer, security_options

    def producer() -> KafkaProducer:
        return make_producer(
            settings.kafka_bootstrap_servers or "",
            client_id=f"thidua-{settings.node_id}-relay",
            delivery_timeout_ms=settings.relay_delivery_timeout_ms,
            linger_ms=10,
            batch_size=256 * 1024,
            max_block_ms=30_000,
            reconnect_backoff_max_ms=2000,  # back quickly when the broker returns
            **security_options(settings),
        )

    checkpointer = checkpointer_for(node.store, settings)
    return Relay(
        node.engine,
        node.store,
        Topics(settings.node_id),
        producer,
        settings.relay_batch_size,
        checkpointer=checkpointer,
    )


def run_relay(settings: RelaySettings, once: bool = False) -> int:
    """Run the relay until SIGTERM/SIGINT (``once``: until caught up); return the events published."""
    import signal

    from services.bootstrap import bootstrap

    from .broker import wait_for_broker
    from .catalog import publish_catalog
    from .metrics import PipelineMetrics, Scraped, process_registry, relay_families, serve_metrics

    servers = settings.require_kafka("thidua relay")
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    node = bootstrap(settings)
    migrations.require_current(node.engine)  # before anything is created or published, and before the wait
    if not wait_for_broker(servers, "relay", stop):
        node.close()
        return 0
    relay = build_relay(node, settings)
    count = publish_catalog(relay.producer(), relay.topics.schemas, node.catalog)
    log.info("schema catalog published", extra={"schemas": count, "topic": relay.topics.schemas})
    server = None
    if settings.relay_metrics_port and not once:
        registry = process_registry(PipelineMetrics.for_node(node), Scraped(lambda: relay_families(relay.stats)))
        server = serve_metrics(settings.relay_metrics_port, registry)
    try:
        if once:
            return relay.run_until_idle()
        relay.run_forever(stop, settings.relay_poll_seconds)
        return relay.stats.published
    finally:
        relay.close()
        if server is not None:
            server.shutdown()
        node.close()
