"""The ``thidua sync`` process: a sender (``Outbound``) in its own thread, woken by the node's appends, and one loop
that imports (``Importer``), issues receipts and keeps the audit trail.

kafka-python rather than Faust: the importer needs no stream processing, only the records of a few topics in
order, one database transaction each, and offsets that the database decides. So the consumer has no group: it
is assigned every partition of the sync topics addressed to this node and seeks to the offsets recorded with the
imports (``sync_offset``); nothing is ever committed to Kafka and there is no rebalance to wait for at start.
Run one sync process per node (a second one would be safe, as imports are idempotent under the store's lock,
but useless).

The loop also signs checkpoints when due (like ``thidua serve`` and the relay), asks the node's witnesses
to countersign them and answers its peers' requests (``witnessing.py``), and publishes the sender's ``SyncStatus``
on the receipts topic every few seconds, so a peer's reconciliation sees a backlog or a silent sender.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from services import migrations
from services.kernel.contracts import EVENT_TYPES
from services.kernel.kafkaclients import make_admin, make_consumer, make_producer, security_options
from services.kernel.settings import SyncSettings
from services.pipeline.deadletters import Record
from services.pipeline.topics import Topics, TopicSpec, ensure_topics, mirrored, sync_topic_specs, topic_specs

from . import tables
from .importer import Importer
from .outbound import RECORD_SECONDS, Outbound
from .receipts import publish_due, publish_status
from .rules import Topology, load_rules
from .witnessing import Witnessing

if TYPE_CHECKING:
    from services.audit.checkpoints import Checkpointer
    from services.bootstrap import Node

log = logging.getLogger(__name__)
STATUS_SECONDS = 5.0  # how often the sender says how far it got
RECEIPT_SECONDS = 1.0  # receipts made due by imports are published together at most this often


@dataclass
class SyncService:
    """A node's sync: sender, importer and receipts over one producer and one group-less consumer."""

    node: Node
    settings: SyncSettings
    topology: Topology
    outbound: Outbound
    importer: Importer
    producer: KafkaProducer
    consumer: KafkaConsumer
    witnessing: Witnessing | None = None
    checkpointer: Checkpointer | None = None
    _next: dict[str, float] = field(default_factory=dict)
    _receipts_due: bool = True  # imports may have made receipts due (at start: those an earlier run left)
    _witnessed: int = -1  # the sender's count of announced appends at the last witness tick
    _sent_at: float = 0.0  # monotonic time of the sender's last batch
    _imported_at: float = 0.0  # monotonic time of the importer's last poll that brought records

    def due(self, what: str, every: float) -> bool:
        """Whether ``what`` is due (at most once per ``every`` seconds)."""
        now = time.monotonic()
        if now < self._next.get(what, 0.0):
            return False
        self._next[what] = now + every
        return True

    def _witness_due(self, resend_seconds: float) -> bool:
        """Whether to ask the witnesses again: at most every 0.5 s, and only when something was appended since the
        last time (a checkpoint signed, a cosignature imported: both are events) or a request may need resending."""
        if not self.due("witness", 0.5):
            return False
        appended = self.outbound.announcements != self._witnessed
        return appended or self.due("witness resend", resend_seconds)

    def assign(self) -> None:
        """Take every partition of the inbound sync topics and seek to the offsets the database recorded."""
        with self.node.engine.connect() as conn:
            done = tables.offsets(conn)
        partitions = []
        for topic in self.importer.sources:
            partitions += [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or [])]
        self.consumer.assign(partitions)
        for tp in partitions:
            if (tp.topic, tp.partition) in done:
                self.consumer.seek(tp, done[(tp.topic, tp.partition)])
            else:
                self.consumer.seek_to_beginning(tp)

    def run_once(self, poll_ms: int = 200) -> int:
        """One round of the importing loop: import what arrived within ``poll_ms``, publish the receipts imports made
        due (together, at most every :data:`RECEIPT_SECONDS`: a receipt lists every id of its period, so rebuilding
        it each round cost more the longer the day), sign a checkpoint and ask the witnesses when due; the records
        imported. The sender runs in its own thread (:meth:`send_once`)."""
        records = self._poll(poll_ms)
        if records:
            self.importer.handle_many(records)
            self._receipts_due = True
        topic = Topics(self.topology.node_id).receipts
        if self._receipts_due and self.due("receipts", RECEIPT_SECONDS):
            publish_due(self.node.engine, self.node.codec, self.producer, topic, self.topology.node_id)
            self._receipts_due = False
        if self.checkpointer is not None and self.due("checkpoint", self.checkpointer.tick_seconds):
            try:
                self.checkpointer.tick()
            except Exception as exc:  # a checkpoint that failed is retried later; sync goes on
                log.error("automatic checkpoint failed; sync goes on", exc_info=exc)
        if self.witnessing is not None and self._witness_due(self.witnessing.resend_seconds):
            self._witnessed = self.outbound.announcements
            self.witnessing.tick()
        if self.due("status", STATUS_SECONDS):
            publish_status(self.node.codec, self.producer, topic, self.outbound.status(datetime.now(UTC)))
        return len(records)

    def _poll(self, poll_ms: int) -> list[Record]:
        """The records of one poll; when the last import began less than ``sync_linger_seconds`` ago (load), also
        those that come until then (up to the batch size), imported together."""
        size = self.settings.sync_batch_size
        records = _records(self.consumer.poll(timeout_ms=poll_ms, max_records=size))
        deadline = self._imported_at + self.settings.sync_linger_seconds
        while records and len(records) < size and (left := deadline - time.monotonic()) > 0:
            more = self.consumer.poll(timeout_ms=max(1, int(left * 1000)), max_records=size - len(records))
            records += _records(more)
        if records:
            self._imported_at = time.monotonic()
        return records

    def send_once(self, stop: threading.Event, poll_seconds: float) -> int:
        """One round of the sender: send a batch, at most one every ``sync_linger_seconds`` (under load the next one
        gathers what was appended meanwhile); when there was nothing to send, sleep until the next append is
        announced (on PostgreSQL) or ``poll_seconds`` pass; the events looked at."""
        if (wait := self._sent_at + self.settings.sync_linger_seconds - time.monotonic()) > 0:
            stop.wait(wait)
        looked = self.outbound.run_once()
        if looked:
            self._sent_at = time.monotonic()
        else:
            self.outbound.record(RECORD_SECONDS)  # idle: the position acknowledged last, once it is due
            self.outbound.wait(stop, poll_seconds)
        return looked

    def run_forever(self, stop: threading.Event, max_backoff: float = 10.0) -> None:
        """Import and send until ``stop``, each in its own thread, so neither waits for the other's poll: the sender
        wakes when an append commits, the importer when records arrive. After a failure each backs off and restarts
        from what the database recorded."""
        poll_seconds = self.settings.sync_poll_seconds
        sender = threading.Thread(
            target=_rounds,
            args=(lambda: self.send_once(stop, poll_seconds), stop, max_backoff, "send", self.outbound.forget),
            name="thidua-sync-sender",
            daemon=True,
        )
        sender.start()
        try:
            _rounds(lambda: self.run_once(int(poll_seconds * 1000)), stop, max_backoff, "import", self.assign)
        finally:
            stop.set()
            sender.join()

    def close(self) -> None:
        """Close the Kafka clients."""
        with suppress(KafkaError):
            self.producer.flush(timeout=10)
        self.producer.close(timeout=5)
        self.consumer.close()
        self.outbound.close()


def _records(batch: dict[Any, list[Any]]) -> list[Record]:
    return [
        Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()), r.timestamp)
        for chunk in batch.values()
        for r in chunk
    ]


def _rounds(
    round_: Callable[[], object], stop: threading.Event, max_backoff: float, what: str, recover: Callable[[], None]
) -> None:
    """Run ``round_`` until ``stop``; after a failure (broker or database away) log, back off, ``recover`` (resume
    from the recorded positions) and go on."""
    backoff = 0.5
    while not stop.is_set():
        try:
            round_()
            backoff = 0.5
        except Exception as exc:
            log.error("sync round failed; resuming from the recorded positions", exc_info=exc, extra={"loop": what})
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
            with suppress(Exception):
                recover()


def inbound_specs(settings: SyncSettings, topology: Topology) -> list[TopicSpec]:
    """The sync topics addressed to this node (created here too, so the consumer can be assigned before a peer
    starts; with MirrorMaker 2 they are the mirrored names)."""
    forever = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
    return [
        TopicSpec(
            mirrored(Topics(peer).sync_to(topology.node_id), peer, settings.sync_remote_topic_prefix),
            settings.kafka_topic_partitions,
            settings.kafka_replication_factor,
            forever,
        )
        for peer in topology.peers
    ]


def build_service(node: Node, settings: SyncSettings) -> SyncService:
    """Wire the sync of a bootstrapped node: tables, topics, clients, witnesses and checkpoints."""
    from services.audit.anchors import node_trusted_keys
    from services.audit.checkpoints import checkpointer_for

    migrations.require_current(node.engine)  # before a topic or a client is created
    topology = Topology.from_settings(settings)
    servers = settings.kafka_bootstrap_servers or ""
    security = security_options(settings)
    admin = make_admin(servers, **security)
    try:
        ensure_topics(admin, [*topic_specs(settings), *sync_topic_specs(settings), *inbound_specs(settings, topology)])
    finally:
        admin.close()
    client = f"thidua-{settings.node_id}-sync"

    def producer_factory() -> KafkaProducer:
        return make_producer(servers, client_id=client, max_block_ms=30_000, **security)

    producer = producer_factory()
    rules = load_rules(settings.sync_rules_file)
    outbound = Outbound(node.engine, node.store, topology, rules, lambda: producer, settings.sync_batch_size)
    importer = Importer(
        node.engine,
        node.store,
        EVENT_TYPES,
        topology,
        producer,
        settings.sync_remote_topic_prefix,
        settings.sync_receipt_period,
    )
    consumer = make_consumer(servers, enable_auto_commit=False, group_id=None, client_id=client, **security)
    witnessing = Witnessing(node.store, topology, settings, producer, node_trusted_keys(settings))
    importer.witnessing = witnessing
    checkpointer = checkpointer_for(node.store, settings)
    service = SyncService(node, settings, topology, outbound, importer, producer, consumer, witnessing, checkpointer)
    service.assign()
    return service


def run_sync(settings: SyncSettings, stop: threading.Event | None = None) -> dict[str, Any]:
    """Run the node's sync until SIGTERM/SIGINT (or ``stop``); return the importer's counts."""
    import signal

    from services.bootstrap import bootstrap
    from services.pipeline.broker import wait_for_broker

    servers = settings.require_kafka("thidua sync")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    node = bootstrap(settings)
    migrations.require_current(node.engine)  # before the wait for the broker
    if not wait_for_broker(servers, "sync", stop):
        node.close()
        return {}
    service = build_service(node, settings)
    log.info("sync started", extra={"node": settings.node_id, "peers": service.topology.peers})
    try:
        service.run_forever(stop)
        return dict(service.importer.counts)
    finally:
        service.close()
        node.close()
