"""Replay from Kafka into shadow read models, with no side effects (docs/audit.md, "Replay from Kafka").

Which records: the node's event topics (``services.pipeline.topics``), every partition, from an offset or a
time (``offsets_for_times``) up to an offset or a time, by default up to the end offsets read at the start. A
consumer without a group reads them (assign + seek; nothing is committed, no group is joined). Records are
decoded exactly as the projection worker decodes them (``decode_record``) and applied as the worker applies
them: batch by batch in the order they are fetched, which keeps each partition's order (a stream's events are in
one partition) and promises nothing across partitions: the live worker relies on no more. As in the worker, an
event id a projection already applied is a duplicate the relay published twice and is skipped; the ids go to
``<prefix>projection_event`` in the batch's transaction, so that a swap hands them to the worker. Undecodable
records are counted by reason and skipped; an event a projection refuses is skipped by that projection (the
worker would dead-letter it) and counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Connection, Engine, Table, delete, insert, select

from projections import tracking, versions
from projections.base import Projection
from projections.bluegreen import retired_tables
from projections.shadow import prepare_shadows, promote, shadow_connection, shadow_table
from services.kernel.codec import AvroCodec
from services.kernel.db import new_metadata
from services.kernel.errors import DecodeError
from services.kernel.events import Event
from services.kernel.settings import NodeSettings
from services.kernel.store import utcnow
from services.pipeline.deadletters import Record, decode_record
from services.pipeline.projector import is_transient

from .replay import PREFIX, ReplayResult

TP = tuple[str, int]


@dataclass(frozen=True)
class Window:
    """Which records of each partition: from an offset or a time, up to an offset or a time (both inclusive);
    without an end, up to the end offsets read when the replay starts. Times are Kafka record timestamps (when
    the relay published the event)."""

    from_offset: int | None = None
    since: datetime | None = None
    to_offset: int | None = None
    until: datetime | None = None

    @property
    def partial(self) -> bool:
        """Whether records at the start of the topics are left out (such a shadow cannot be swapped in)."""
        return bool(self.from_offset) or self.since is not None


def bounds(begin: int, end: int, window: Window, since_at: int | None, until_after: int | None) -> tuple[int, int]:
    """``[start, stop)`` of one partition holding offsets ``[begin, end)``. ``since_at``: the first offset at or
    after ``window.since``, ``until_after``: the first offset after ``window.until`` (None: no such record)."""
    start = begin
    if window.from_offset is not None:
        start = max(start, window.from_offset)
    if window.since is not None:
        start = max(start, end if since_at is None else since_at)
    stop = end
    if window.to_offset is not None:
        stop = min(stop, window.to_offset + 1)
    if window.until is not None:
        stop = min(stop, end if until_after is None else until_after)
    start = min(start, end)
    return start, max(stop, start)


@dataclass
class KafkaReplayResult(ReplayResult):
    """What a replay from Kafka read and applied. ``position`` is the highest store position (``ce_sequence``)
    applied; ``offsets`` the ``[start, stop)`` read per partition."""

    window: Window = field(default_factory=Window)
    offsets: dict[TP, tuple[int, int]] = field(default_factory=dict)
    missing_topics: list[str] = field(default_factory=list)
    records: int = 0
    first_position: int | None = None
    duplicates: int = 0
    undecodable: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    applied: Counter[TP] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """Records to read."""
        return sum(stop - start for start, stop in self.offsets.values())


def make_consumer(settings: NodeSettings) -> KafkaConsumer:
    """A consumer of raw records that belongs to no group and never commits."""
    from services.kernel import kafkaclients

    return kafkaclients.make_consumer(
        settings.kafka_bootstrap_servers or "",
        client_id=f"thidua-{settings.node_id}-replay",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafkaclients.oneshot_options(settings),
    )


def plan(consumer: KafkaConsumer, topics: Sequence[str], window: Window) -> tuple[dict[TP, tuple[int, int]], list[str]]:
    """``[start, stop)`` per partition of ``topics``, and the topics that do not exist."""
    tps, missing = [], []
    for topic in topics:
        found = consumer.partitions_for_topic(topic)
        missing += [] if found else [topic]
        tps += [TopicPartition(topic, p) for p in sorted(found or ())]
    if not tps:
        return {}, missing
    begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    since, until = _offsets_at(consumer, tps, window.since, 0), _offsets_at(consumer, tps, window.until, 1)
    planned = {(tp.topic, tp.partition): bounds(begin[tp], end[tp], window, since[tp], until[tp]) for tp in tps}
    return planned, missing


def _offsets_at(consumer: KafkaConsumer, tps: list[TopicPartition], moment: datetime | None, plus_ms: int) -> Any:
    """Per partition, the first offset whose timestamp is at or after ``moment`` + ``plus_ms`` (None: none)."""
    if moment is None:
        return dict.fromkeys(tps)
    found = consumer.offsets_for_times(dict.fromkeys(tps, int(moment.timestamp() * 1000) + plus_ms))
    return {tp: None if found.get(tp) is None else found[tp].offset for tp in tps}


def event_ids_table(prefix: str = PREFIX) -> Table:
    """``<prefix>projection_event``: the event ids each shadow applied (``projection_event``'s twin)."""
    return shadow_table(tracking.projection_event, new_metadata(), prefix)


def kafka_replay(
    engine: Engine,
    consumer: KafkaConsumer,
    codec: AvroCodec,
    types: dict[str, type[Event]],
    projections: Sequence[Projection],
    topics: Sequence[str],
    window: Window | None = None,
    batch_size: int = 2000,  # a replay is a catch-up: the embedded tail's catch-up batch size
    progress: Callable[[KafkaReplayResult, int], None] | None = None,
    prefix: str = PREFIX,
    idle_timeout: float = 30.0,
) -> KafkaReplayResult:
    """Rebuild the shadows of ``projections`` from the records of ``topics`` in ``window``. ``progress`` is called
    once with 0 after planning, then with the records of each batch."""
    started = time.monotonic()
    window = window or Window()
    offsets, missing = plan(consumer, topics, window)
    result = KafkaReplayResult([p.name for p in projections], window=window, offsets=offsets, missing_topics=missing)
    if progress is not None:
        progress(result, 0)
    prepare_shadows(engine, projections, prefix)
    ids = event_ids_table(prefix)
    with engine.begin() as conn:
        ids.drop(conn, checkfirst=True)
        ids.create(conn)
    with shadow_connection(engine, projections, prefix) as conn:
        for records in fetch(consumer, offsets, batch_size, idle_timeout):
            result.records += len(records)
            _apply(conn, records, codec, types, projections, ids, result)
            if progress is not None:
                progress(result, len(records))
    result.seconds = time.monotonic() - started
    return result


def fetch(
    consumer: KafkaConsumer, offsets: dict[TP, tuple[int, int]], batch_size: int, idle_timeout: float
) -> Iterator[list[Record]]:
    """The records ``[start, stop)`` of every partition, batch by batch as fetched (assign + seek, no group)."""
    stops = {TopicPartition(*tp): stop for tp, (start, stop) in offsets.items() if start < stop}
    if not stops:
        return
    consumer.assign(list(stops))
    for tp in stops:
        consumer.seek(tp, offsets[(tp.topic, tp.partition)][0])
    waiting, last = set(stops), time.monotonic()
    while waiting:
        batch = []
        for tp, messages in consumer.poll(timeout_ms=500, max_records=batch_size).items():
            batch += [_record(m) for m in messages if m.offset < stops[tp]]
            if consumer.position(tp) >= stops[tp]:
                waiting.discard(tp)
                consumer.pause(tp)
        if batch:
            last = time.monotonic()
            yield batch
        elif time.monotonic() - last > idle_timeout:
            late = sorted(f"{tp.topic}/{tp.partition}" for tp in waiting)
            raise TimeoutError(f"no records for {idle_timeout:.0f} s before the stop offsets of {late}")


def _record(message: Any) -> Record:
    """A kafka-python ConsumerRecord as the worker's Record."""
    headers = tuple((k, v if isinstance(v, bytes) else bytes(v or b"")) for k, v in message.headers or ())
    return Record(
        message.topic, message.partition, message.offset, message.key, message.value, headers, message.timestamp
    )


def _apply(
    conn: Connection,
    records: Sequence[Record],
    codec: AvroCodec,
    types: dict[str, type[Event]],
    projections: Sequence[Projection],
    ids: Table,
    result: KafkaReplayResult,
) -> None:
    """Decode a batch, drop duplicates, apply it to every shadow in one transaction (event by event, under
    savepoints, when a projection refuses the batch)."""
    decoded: list[tuple[Record, Event]] = []
    for record in records:
        try:
            decoded.append((record, decode_record(record, codec, types)))
        except DecodeError as exc:
            result.undecodable[exc.code] += 1
    fresh = _fresh(conn, ids, decoded, [p.name for p in projections], result)
    if not any(fresh.values()):
        return
    try:
        with conn.begin():
            for projection in projections:
                if fresh[projection.name]:
                    projection.apply(conn, fresh[projection.name])
            _remember(conn, ids, fresh)
    except Exception as exc:  # a projection refused the batch: apply event by event, skipping refused ones
        if is_transient(exc):
            raise
        with conn.begin():
            _remember(conn, ids, {p.name: _isolate(conn, p, fresh[p.name], result) for p in projections})
    positions = [event.position for _, event in decoded]
    result.position = max([result.position, *positions])
    result.first_position = min(positions if result.first_position is None else [result.first_position, *positions])


def _fresh(
    conn: Connection, ids: Table, decoded: list[tuple[Record, Event]], names: list[str], result: KafkaReplayResult
) -> dict[str, list[Event]]:
    """Per projection, the first copy of each event it has not applied yet; counts the duplicates."""
    batch_ids = list({e.event_id for _, e in decoded})
    query = select(ids.c.projection, ids.c.event_id).where(ids.c.event_id.in_(batch_ids))
    seen = {(r.projection, r.event_id) for r in conn.execute(query)} if batch_ids else set()
    conn.commit()  # end the read's implicit transaction: the batch's own begins next
    fresh: dict[str, list[Event]] = {name: [] for name in names}
    for record, event in decoded:
        wanted = [n for n in names if (n, event.event_id) not in seen]
        result.duplicates += 0 if wanted else 1
        result.events += 1 if wanted else 0
        result.applied[record.tp] += 1 if wanted else 0
        for name in wanted:
            seen.add((name, event.event_id))
            fresh[name].append(event)
    return fresh


def _isolate(conn: Connection, projection: Projection, events: list[Event], result: KafkaReplayResult) -> list[Event]:
    applied = []
    for event in events:
        try:
            with conn.begin_nested():
                projection.apply(conn, [event])
            applied.append(event)
        except Exception as exc:  # this projection refuses this event: the worker would dead-letter it
            if is_transient(exc):
                raise
            result.refused[projection.name] += 1
    return applied


def _remember(conn: Connection, ids: Table, fresh: dict[str, list[Event]]) -> None:
    rows = [{"projection": name, "event_id": e.event_id} for name, events in fresh.items() for e in events]
    if rows:
        conn.execute(insert(ids), rows)


def swap_from_kafka(engine: Engine, projection: Projection, result: KafkaReplayResult, prefix: str = PREFIX) -> None:
    """Switch the shadow in (it replaces the live tables, whatever version they held; the code's version is
    recorded) in one transaction and hand the runners the replay's end: the embedded tail's tracking position
    becomes the highest store position applied, the Kafka worker's offsets the last offset read per partition and
    its applied event ids the replay's. Refused for a window that leaves out the topics' start."""
    if result.window.partial:
        raise ValueError("a replay that starts after the topics' beginning cannot be swapped in")
    ids, offsets, events = event_ids_table(prefix), tracking.projection_kafka_offset, tracking.projection_event
    name, now = projection.name, utcnow()
    with engine.begin() as conn:
        promote(conn, projection, prefix, retired_tables(conn, projection))
        versions.record(conn, projection, versions.code_version(projection))
        tracking.set_position(conn, name, result.position)
        conn.execute(delete(offsets).where(offsets.c.projection == name))
        rows = [
            {"projection": name, "topic": t, "partition": p, "offset": stop - 1, "applied": result.applied[(t, p)]}
            for (t, p), (_, stop) in result.offsets.items()
        ]
        if rows:
            conn.execute(insert(offsets), [row | {"updated_at": now} for row in rows])
        conn.execute(delete(events).where(events.c.projection == name))
        chosen = select(ids.c.projection, ids.c.event_id).where(ids.c.projection == name)
        conn.execute(insert(events).from_select(["projection", "event_id"], chosen))
        conn.execute(delete(ids).where(ids.c.projection == name))


def drop_event_ids(engine: Engine, prefix: str = PREFIX) -> None:
    """Remove the replay's ``<prefix>projection_event`` table."""
    with engine.begin() as conn:
        event_ids_table(prefix).drop(conn, checkfirst=True)
