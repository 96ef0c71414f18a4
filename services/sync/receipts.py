"""Receipts: per source node and period, what a node imported (count, digest, ids), on a compacted topic.

Key ``<source>|<period>``; value a ``vn.thidua.sync.SyncReceipt`` in Avro single-object encoding. The period is
the UTC month (or day) of the events' business time, which both sides know without asking each other. A receipt
is republished whenever an import adds to its period (late events after a partition), so the latest value per key
is always the complete statement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Connection, Engine, delete, select

from services.kernel.codec import AvroCodec
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event

from .tables import sync_receipt_due

RECEIPT_TYPE = "vn.thidua.sync.SyncReceipt"
STATUS_TYPE = "vn.thidua.sync.SyncStatus"
STATUS_KEY = b"status"
PERIOD_FORMATS = {"month": "%Y-%m", "day": "%Y-%m-%d"}


def period_of(moment: datetime, kind: str = "month") -> str:
    """The receipt period of a business time: ``YYYY-MM`` (month) or ``YYYY-MM-DD`` (day), in UTC."""
    return moment.astimezone(UTC).strftime(PERIOD_FORMATS[kind])


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a period."""
    if len(period) == 7:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    start = datetime.strptime(period, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, datetime.fromordinal(start.toordinal() + 1).replace(tzinfo=UTC)


def digest(event_ids: Iterable[str]) -> str:
    """sha256 (hex) of the distinct event ids, sorted and joined by newlines: the same on both sides."""
    return hashlib.sha256("\n".join(sorted(set(event_ids))).encode("utf-8")).hexdigest()


def imported_ids(conn: Connection, source: str, period: str) -> list[str]:
    """Ids of the events imported from ``source`` whose business time falls in ``period``."""
    start, end = period_bounds(period)
    query = (
        select(foreign_event.c.event_id)
        .join(event_table, event_table.c.position == foreign_event.c.position)
        .where(foreign_event.c.source_node == source, event_table.c.occurred_at >= start)
        .where(event_table.c.occurred_at < end)
    )
    return sorted(conn.execute(query).scalars())


def build_receipt(conn: Connection, source: str, target: str, period: str, now: datetime) -> dict[str, Any]:
    """The receipt of (source, period) as the database holds it now."""
    ids = imported_ids(conn, source, period)
    return {
        "source_node": source,
        "target_node": target,
        "period": period,
        "count": len(ids),
        "digest": digest(ids),
        "event_ids": ids,
        "issued_at": now,
    }


def receipt_key(source: str, period: str) -> bytes:
    """Kafka key of a receipt."""
    return f"{source}|{period}".encode()


def publish_due(engine: Engine, codec: AvroCodec, producer: KafkaProducer, topic: str, target: str) -> int:
    """Publish the receipts an import made due (awaiting acks), then clear them; return how many."""
    with engine.connect() as conn:
        due = [(r.source_node, r.period) for r in conn.execute(select(sync_receipt_due))]
        receipts = [build_receipt(conn, s, target, p, datetime.now(UTC)) for s, p in due]
    if not receipts:
        return 0
    futures = [
        producer.send(topic, key=receipt_key(r["source_node"], r["period"]), value=codec.encode(RECEIPT_TYPE, r))
        for r in receipts
    ]
    producer.flush()
    for future in futures:
        future.get(timeout=0)
    with engine.begin() as conn:
        for source, period in due:
            conn.execute(
                delete(sync_receipt_due).where(
                    sync_receipt_due.c.source_node == source, sync_receipt_due.c.period == period
                )
            )
    return len(receipts)


def publish_status(codec: AvroCodec, producer: KafkaProducer, topic: str, status: dict[str, Any]) -> None:
    """Publish the sender's SyncStatus on the node's receipts topic (compacted: the latest is kept) and wait."""
    future = producer.send(topic, key=STATUS_KEY, value=codec.encode(STATUS_TYPE, status))
    producer.flush()
    future.get(timeout=0)
