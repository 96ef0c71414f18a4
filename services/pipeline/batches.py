"""The worker's consumer: the node's event topics read in batches with aiokafka's ``getmany``, inside the Faust app.

Faust's stream machinery costs per message (an event, a future and an acknowledgement each: a third of the worker's
CPU when it fed the batches, docs/benchmarks.md § 3); a batch here is what aiokafka already holds, turned into
``Record`` objects once. What the Faust agent did is kept:
- offsets go to Kafka only after the database has committed the batch (every ``THIDUA_WORKER_COMMIT_SECONDS``,
  on a revocation and at a clean stop); the database's tracking rows, not Kafka, decide what is applied;
- on every (re)assignment each partition is sought to what the database still needs (``resume_offsets``);
- a batch that fails for another reason than a bad event stops the worker (``on_failure``) instead of going on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context
from mode import Service

from services.kernel.settings import WorkerSettings

from .deadletters import Record

log = logging.getLogger(__name__)

# The cyclic garbage collector's first generation is collected after this many new container objects (Python's default:
# 700). A batch allocates hundreds of thousands (decoded events, slots, counter deltas) that mostly live until the
# batch ends: collected every 700 they were scanned again and again and promoted to older generations, whose full
# collections then walked the whole heap (docs/benchmarks.md § 3: ~14 % of the worker's CPU on a loaded machine).
YOUNG_GENERATION = 10_000

Handler = Callable[[Sequence[Record]], Awaitable[Any]]
Resume = Callable[[list[tuple[str, int]]], Awaitable[dict[tuple[str, int], int]]]


def consumer_options(settings: WorkerSettings) -> dict[str, Any]:
    """aiokafka options of the worker's consumer: the group, manual commits, timeouts and SASL/SSL from settings."""
    options: dict[str, Any] = {
        "bootstrap_servers": (settings.kafka_bootstrap_servers or "").split(","),
        "group_id": settings.effective_worker_app_id,
        "client_id": settings.effective_worker_app_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": int(settings.worker_session_timeout_seconds * 1000),
        "heartbeat_interval_ms": int(settings.worker_heartbeat_seconds * 1000),
        "max_poll_records": settings.worker_batch_size,
    }
    protocol = settings.kafka_security_protocol
    if protocol != "PLAINTEXT":
        options["security_protocol"] = protocol
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password,
        )
    return options


def settle_heap() -> None:
    """Once the worker process is built (``worker.run_worker``): what it holds now (modules, the Faust app, schemas,
    the read models' reference data) is moved out of the collector's sight (``gc.freeze``), and the young generation
    is collected less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


def record_of(message: Any) -> Record:
    """An aiokafka ``ConsumerRecord`` as a Record."""
    headers = tuple((k, v if isinstance(v, bytes) else bytes(v or b"")) for k, v in message.headers or ())
    return Record(
        message.topic, message.partition, message.offset, message.key, message.value, headers, message.timestamp
    )


def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """The offset after the last of ``records`` on each of their partitions (records of a partition in order)."""
    last = {(record.topic, record.partition): record.offset for record in records}
    return {TopicPartition(topic, partition): offset + 1 for (topic, partition), offset in last.items()}


class BatchConsumer(Service):
    """Hands the node's event records to ``handle`` in batches of up to ``worker_batch_size``, gathered for at most
    ``worker_batch_seconds`` after the first one, and commits their offsets to Kafka once ``handle`` has returned."""

    def __init__(
        self,
        settings: WorkerSettings,
        topics: Sequence[str],
        handle: Handler,
        resume: Resume,
        on_failure: Callable[[BaseException], Awaitable[None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings, self.topics = settings, list(topics)
        self.handle, self.resume, self.on_failure = handle, resume, on_failure
        self.consumer: AIOKafkaConsumer | None = None
        self.done: dict[TopicPartition, int] = {}  # next offset per partition, applied but not yet committed
        self.committed_at = time.monotonic()
        self.stopping = asyncio.Event()
        self.loop_task: asyncio.Task[None] | None = None

    def assignment(self) -> set[TopicPartition]:
        """The partitions this worker owns now."""
        return set(self.consumer.assignment()) if self.consumer else set()

    async def on_start(self) -> None:
        """Join the group (seeking to the database's offsets on every assignment) and start consuming."""
        self.consumer = AIOKafkaConsumer(**consumer_options(self.settings))
        self.consumer.subscribe(self.topics, listener=_SeekToDatabase(self))
        await self.consumer.start()
        self.loop_task = asyncio.create_task(self.consume(), name="thidua-worker-batches")

    async def on_stop(self) -> None:
        """Let the batch in hand finish, commit what the database has, leave the group."""
        self.stopping.set()
        if self.loop_task is not None:
            await asyncio.wait([self.loop_task], timeout=self.settings.worker_session_timeout_seconds)
            if self.loop_task.done() and not self.loop_task.cancelled():
                self.loop_task.exception()  # seen: on_failure has already stopped the worker for it
            self.loop_task.cancel()
        if self.consumer is not None:
            await self.commit()
            await self.consumer.stop()

    async def consume(self) -> None:
        """Batches until stopped; a batch that fails (a bug, not a bad event) stops the worker."""
        try:
            while not self.stopping.is_set():
                records = await self.next_batch()
                if self.stopping.is_set():  # stopping, or the positions could not be set from the database
                    break
                if records:
                    await self.handle(records)
                    self.done.update(next_offsets(records))
                if time.monotonic() - self.committed_at >= self.settings.worker_commit_seconds:
                    await self.commit()
        except Exception as exc:  # the batch was not applied: never go on past it
            await self.on_failure(exc)
            raise

    async def next_batch(self) -> list[Record]:
        """Up to ``worker_batch_size`` records: what aiokafka holds, then more for at most the batch window."""
        assert self.consumer is not None
        size = self.settings.worker_batch_size
        fetched = await self.consumer.getmany(timeout_ms=1000, max_records=size)
        records = [record_of(m) for messages in fetched.values() for m in messages]
        deadline = time.monotonic() + self.settings.worker_batch_seconds
        while records and len(records) < size and not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            fetched = await self.consumer.getmany(timeout_ms=max(int(left * 1000), 1), max_records=size - len(records))
            if not fetched:
                break
            records += [record_of(m) for messages in fetched.values() for m in messages]
        return records

    async def commit(self, partitions: Sequence[TopicPartition] | None = None) -> None:
        """Commit the offsets of applied batches on ``partitions`` (default: all owned); Kafka's offsets are only
        advisory (the database decides), so a failed commit is logged and retried with the next one."""
        assert self.consumer is not None
        owned = self.assignment() if partitions is None else set(partitions) & self.assignment()
        offsets = {tp: offset for tp, offset in self.done.items() if tp in owned}
        self.committed_at = time.monotonic()
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("could not commit offsets to Kafka; the next commit retries", exc_info=exc)
            return
        for tp in offsets:
            if self.done.get(tp) == offsets[tp]:
                del self.done[tp]

    async def seek_to_database(self, assigned: Sequence[TopicPartition]) -> None:
        """Seek every assigned partition to the next offset the database still needs."""
        assert self.consumer is not None
        try:
            needed = await self.resume(sorted((tp.topic, tp.partition) for tp in assigned))
        except Exception as exc:  # aiokafka would go on from Kafka's committed offsets: stop instead
            self.stopping.set()
            await self.on_failure(exc)
            raise
        for tp in assigned:
            self.consumer.seek(tp, needed[(tp.topic, tp.partition)])
        log.info("positions set from the database", extra={"partitions": len(assigned)})


class _SeekToDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits before partitions are revoked; seeks to the database's offsets once they are assigned."""

    def __init__(self, owner: BatchConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Commit what was applied on the revoked partitions, so the next owner starts near there."""
        await self.owner.commit(revoked)
        for tp in revoked:
            self.owner.done.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """The database, not Kafka's committed offset, says where each partition resumes."""
        await self.owner.seek_to_database(assigned)
