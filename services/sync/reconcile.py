"""Reconciliation: for each pair of nodes and period, what the sender sent, what the receiver's receipt says it
imported, and which event ids are missing or extra. Reads Kafka only (the sender's sync topic and the receiver's
receipts topic), so it runs at either node, or anywhere that may read both topics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.kernel.codec import AvroCodec
from services.kernel.schemas import EVENT_NAMESPACE
from services.pipeline.topics import Topics, mirrored

from .receipts import RECEIPT_TYPE, STATUS_TYPE, digest, period_of
from .rules import Topology


@dataclass(frozen=True)
class Reconciled:
    """One (source, target, period): counts, the ids missing at the receiver or extra there, and a status."""

    source: str
    target: str
    period: str
    sent: int
    received: int | None  # None: no receipt yet
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    digest_ok: bool = False

    @property
    def status(self) -> str:
        """OK, NO_RECEIPT, MISSING, EXTRA or MISMATCH (missing and extra)."""
        if self.received is None:
            return "NO_RECEIPT"
        if self.missing and self.extra:
            return "MISMATCH"
        if self.missing:
            return "MISSING"
        if self.extra or not self.digest_ok:
            return "EXTRA"
        return "OK"


def read_topic(consumer: KafkaConsumer, topic: str, timeout_ms: int = 10_000) -> list[Any]:
    """Every record of ``topic`` from the beginning to its current end ([] if the topic does not exist)."""
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not partitions:
        return []
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    records: list[Any] = []
    while any(consumer.position(tp) < end[tp] for tp in partitions):
        batch = consumer.poll(timeout_ms=timeout_ms)
        if not batch:
            raise TimeoutError(f"topic {topic} did not deliver up to its end offsets")
        for chunk in batch.values():
            records += [r for r in chunk if r.offset < end[TopicPartition(r.topic, r.partition)]]
    return records


def sent_by_period(records: Iterable[Any], period: str, source: str) -> dict[str, set[str]]:
    """{period: event ids} of a sync topic's records written by ``source`` (duplicates counted once; what the
    importer refuses as not the source's own, e.g. a poison message, was never sent by it)."""
    found: dict[str, set[str]] = defaultdict(set)
    for record in records:
        headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or []}
        if not headers.get("ce_type", "").startswith(EVENT_NAMESPACE + "."):
            continue  # a witness request or answer, not an event
        if headers.get("ce_source") == f"/thidua/{source}" and "ce_id" in headers and "ce_time" in headers:
            found[period_of(datetime.fromisoformat(headers["ce_time"]), period)].add(headers["ce_id"])
    return found


def latest_receipts(records: Iterable[Any], codec: AvroCodec) -> dict[tuple[str, str], dict[str, Any]]:
    """{(source, period): receipt}, the latest value per key of a receipts topic."""
    found = {}
    for record in records:
        if record.value is not None:
            decoded = codec.decode(record.value)
            if decoded.fullname == RECEIPT_TYPE:  # the topic also holds its node's SyncStatus
                found[(decoded.datum["source_node"], decoded.datum["period"])] = decoded.datum
    return found


def compare(
    source: str, target: str, sent: dict[str, set[str]], receipts: dict[tuple[str, str], Any]
) -> list[Reconciled]:
    """Rows of one (source, target) pair, one per period either side knows."""
    periods = sorted(set(sent) | {p for s, p in receipts if s == source})
    rows = []
    for period in periods:
        ids = sent.get(period, set())
        receipt = receipts.get((source, period))
        got = set(receipt["event_ids"]) if receipt else set()
        rows.append(
            Reconciled(
                source,
                target,
                period,
                len(ids),
                receipt["count"] if receipt else None,
                sorted(ids - got),
                sorted(got - ids),
                receipt is not None and receipt["digest"] == digest(ids),
            )
        )
    return rows


def reconcile(
    consumer: KafkaConsumer, codec: AvroCodec, topology: Topology, period: str = "month", remote_prefix: str = ""
) -> list[Reconciled]:
    """Every (source, target, period) between this node and its peers, in both directions."""
    me = topology.node_id

    def name(owner: str, topic: str) -> str:
        return topic if owner == me else mirrored(topic, owner, remote_prefix)

    rows = []
    for peer in topology.peers:
        for source, target in ((me, peer), (peer, me)):
            sent = sent_by_period(read_topic(consumer, name(source, Topics(source).sync_to(target))), period, source)
            receipts = latest_receipts(read_topic(consumer, name(target, Topics(target).receipts)), codec)
            rows += compare(source, target, sent, receipts)
    return rows


@dataclass(frozen=True)
class SenderStatus:
    """What a node's sync sender last said about itself (its SyncStatus), judged at ``now``."""

    node: str
    reported: dict[str, Any] | None
    age_seconds: float | None
    stale_after: float

    @property
    def status(self) -> str:
        """OK, BACKLOG (events not sent yet), SILENT (no word for longer than ``stale_after``), NO_STATUS."""
        if self.reported is None or self.age_seconds is None:
            return "NO_STATUS"
        if self.age_seconds > self.stale_after:
            return "SILENT"
        return "BACKLOG" if self.reported["unsent_events"] > 0 else "OK"


def sender_statuses(
    consumer: KafkaConsumer,
    codec: AvroCodec,
    topology: Topology,
    now: datetime,
    stale_after: float,
    remote_prefix: str = "",
) -> list[SenderStatus]:
    """The last SyncStatus of this node and of each peer (from each one's receipts topic)."""
    out = []
    for node in [topology.node_id, *topology.peers]:
        topic = Topics(node).receipts
        name = topic if node == topology.node_id else mirrored(topic, node, remote_prefix)
        latest = None
        for record in read_topic(consumer, name):
            if record.value is None:
                continue
            decoded = codec.decode(record.value)
            if decoded.fullname == STATUS_TYPE and decoded.datum["node_id"] == node:
                latest = decoded.datum
        age = (now - latest["reported_at"]).total_seconds() if latest else None
        out.append(SenderStatus(node, latest, age, stale_after))
    return out
