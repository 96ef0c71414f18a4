"""Kafka pieces of the benchmarks: a node's fresh topics, the raw producer and consumer ceilings, a real
``thidua worker`` process timed until it has applied every partition (with its resident memory sampled), and the
raw produce → consume round trip (the transport's floor under ``thidua bench sync``).

Everything created here (topics, worker processes) is removed or stopped by the context that created it; worker
processes are stopped by their pid only.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import BigInteger, Column, Engine, Integer, LargeBinary, MetaData, String, Table

from bench.harness import Process, applied_count, caught_up, end_offsets, wait_for
from services import migrations
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import make_engine
from services.kernel.kafkaclients import make_admin, make_consumer, make_producer, security_options
from services.kernel.messaging import to_message
from services.kernel.settings import Settings
from services.kernel.store import EventStore
from services.pipeline.deadletters import Record, decode_record
from services.pipeline.topics import Topics, TopicSpec, ensure_topics, topic_specs

from .common import process_mb

Routed = list[tuple[str, Any]]  # (topic, KafkaMessage) in store order

sink_metadata = MetaData()
sink = Table(
    "bench_sink",
    sink_metadata,
    Column("topic", String(249), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
    comment="The projection ceiling's plain table: every consumed event, no read-model logic.",
)


def publish_all(node: Any, settings: Settings) -> None:
    """Relay every event of ``node``'s store to the topics of ``settings`` (untimed set-up of a benchmark)."""
    from services.pipeline.relay import build_relay

    relay = build_relay(node, settings)
    relay.run_until_idle()
    relay.close()


@contextmanager
def fresh_topics(settings: Settings) -> Iterator[Settings]:
    """The topics of a new node id (created with the node's configuration, deleted afterwards): its settings."""
    servers = settings.kafka_bootstrap_servers or ""
    mine = settings.model_copy(update={"node_id": f"bench{uuid.uuid4().hex[:8]}"})
    topics = Topics(mine.node_id)
    admin = make_admin(servers, **security_options(settings))
    try:
        ensure_topics(admin, topic_specs(mine))
        yield mine
    finally:
        admin.delete_topics([*topics.events, topics.dead_letters, topics.schemas])
        admin.close()


def routed_messages(store: EventStore, topics: Topics, batch: int = 5000) -> Routed:
    """Every stored event as the relay would send it (topic, key, Avro value, CloudEvents headers), pre-encoded."""
    routed: Routed = []
    position = 0
    while stored := store.read_all(position, batch):
        routed += [(topics.for_event(s.event_type), to_message(s)) for s in stored]
        position = stored[-1].position
    return routed


def produce(producer: Any, routed: Routed, flush_every: int | None = None) -> int:
    """Send every message and wait for every acknowledgement (after each ``flush_every`` messages, or once)."""
    step = flush_every or len(routed) or 1
    for start in range(0, len(routed), step):
        chunk = routed[start : start + step]
        futures = [producer.send(t, key=m.key, value=m.value, headers=m.headers) for t, m in chunk]
        producer.flush()
        for future in futures:
            future.get(timeout=0)
    return len(routed)


def consume(settings: Settings, codec: Any, sink_engine: Engine | None = None, batch: int = 500) -> int:
    """Read every event topic of the node from the beginning to its end and decode each record; with
    ``sink_engine``, also COPY each batch into the plain ``bench_sink`` table (one transaction per batch)."""
    servers = settings.kafka_bootstrap_servers or ""
    end = end_offsets(servers, Topics(settings.node_id).events)
    tps = [TopicPartition(t, p) for (t, p), high in end.items() if high > 0]
    consumer = make_consumer(servers, enable_auto_commit=False, max_poll_records=batch, **security_options(settings))
    if sink_engine is not None:
        sink_metadata.create_all(sink_engine)
    seen = 0
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        while any(consumer.position(tp) < end[(tp.topic, tp.partition)] for tp in tps):
            polled = consumer.poll(timeout_ms=10_000, max_records=batch)
            if not polled:
                raise TimeoutError("topics did not deliver up to their end offsets")
            records = [_record(m) for messages in polled.values() for m in messages]
            events = [decode_record(r, codec, EVENT_TYPES) for r in records]
            if sink_engine is not None:
                _copy(sink_engine, records, events)
            seen += len(records)
    finally:
        consumer.close()
    return seen


def _record(message: Any) -> Record:
    headers = tuple((k, v or b"") for k, v in message.headers or ())
    return Record(message.topic, message.partition, message.offset, message.key, message.value, headers)


def _copy(engine: Engine, records: list[Record], events: list[Any]) -> None:
    columns = ", ".join(f'"{c.name}"' for c in sink.columns)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY bench_sink ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for r, e in zip(records, events, strict=True):
                copy.write_row([r.topic, r.partition, r.offset, e.event_id, e.NAME, e.position, r.value])
        raw.commit()
    finally:
        raw.close()


@dataclass
class WorkerRun:
    """A ``thidua worker`` timed from its start: first batch committed, every partition applied; its memory."""

    started: float
    first_batch: float = 0.0
    done: float = 0.0
    applied_at_first: int = 0
    rss_mb: list[float] = field(default_factory=list)  # VmRSS samples, every half second
    peak_rss_mb: float = 0.0  # VmHWM at the end
    cpu_at_first: float = 0.0  # the process's CPU seconds (user + system) when its first batch was seen committed
    cpu_at_done: float = 0.0  # ... and when it had applied everything
    finished: bool = True  # False: stopped at the timeout before it caught up
    applied: int = 0  # events applied (by the read model that applied fewest) when it was stopped

    @property
    def steady_rss_mb(self) -> float:
        """Median resident memory over the second half of the run (the worker's working set while applying)."""
        later = self.rss_mb[len(self.rss_mb) // 2 :] or [0.0]
        return statistics.median(later)


def child_env(settings: Settings, database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a ``thidua`` subprocess of the benchmark's node: none of ours, the node's id, broker and
    ``database_url``; warnings only in its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    return env | {
        "THIDUA_DATABASE_URL": database_url,
        "THIDUA_NODE_ID": settings.node_id,
        "THIDUA_DATA_DIR": str(data_dir),
        "THIDUA_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "THIDUA_LOG_LEVEL": "WARNING",
    }


@contextmanager
def relay_process(settings: Settings, store_url: str, folder: Path) -> Iterator[Process]:
    """A ``thidua relay`` publishing the node's store (at ``store_url``) with ``settings``' poll and batch, as
    deployed: its own process, so its work does not share the handlers' interpreter; stopped by pid."""
    env = child_env(settings, store_url, folder / "relay") | {
        "THIDUA_RELAY_METRICS_PORT": "0",
        "THIDUA_RELAY_POLL_SECONDS": str(settings.relay_poll_seconds),
        "THIDUA_RELAY_BATCH_SIZE": str(settings.relay_batch_size),
    }
    proc = Process(["relay"], env, folder / f"relay-{uuid.uuid4().hex[:6]}.log")
    try:
        yield proc
    finally:
        proc.stop()


class WorkerProcess:
    """A ``thidua worker`` of the node on a read-model database, its memory sampled every half second."""

    def __init__(self, settings: Settings, read_model_url: str, folder: Path) -> None:
        env = child_env(settings, read_model_url, folder / "worker")
        env |= {
            "THIDUA_WORKER_WEB_ENABLED": "0",
            "THIDUA_WORKER_BATCH_SIZE": str(settings.worker_batch_size),
            "THIDUA_WORKER_BATCH_SECONDS": str(settings.worker_batch_seconds),
        }
        self.engine = make_engine(read_model_url)
        migrations.ensure(self.engine)  # as `thidua db upgrade` would: the worker refuses a database not at the head
        self.run = WorkerRun(time.perf_counter())
        self.proc = Process(["worker"], env, folder / f"worker-{uuid.uuid4().hex[:6]}.log")
        self._stop = threading.Event()
        threading.Thread(target=_sample_rss, args=(self.proc.pid, self.run, self._stop), daemon=True).start()

    def wait_caught_up(self, names: list[str], end: dict[tuple[str, int], int], timeout: float) -> None:
        """Wait until every read model in ``names`` applied every partition up to ``end``; raise if it died."""
        wait_for(
            lambda: all(caught_up(self.engine, n, end) for n in names) or not self.proc.alive(),
            timeout,
            0.1,
            "the worker caught up",
        )
        if not self.proc.alive():
            raise RuntimeError(f"the worker stopped: {self.proc.log()[-2000:]}")

    def close(self) -> None:
        """Record the peak memory, stop the process (by pid) and the sampler."""
        self.run.peak_rss_mb = max(self.run.peak_rss_mb, process_mb(self.proc.pid, "VmHWM"))
        self._stop.set()
        self.proc.stop()
        self.engine.dispose()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_worker(
    settings: Settings, read_model_url: str, names: list[str], folder: Path, timeout: float = 3600
) -> WorkerRun:
    """Start one worker, wait until it applied the topics' current end offsets for every read model in
    ``names`` (at most ``timeout`` seconds: then ``finished`` is False), stop it; return the timings (from its
    start, of its first committed batch, at the end), what it applied and its memory."""
    end = end_offsets(settings.kafka_bootstrap_servers or "", Topics(settings.node_id).events)
    with WorkerProcess(settings, read_model_url, folder) as worker:
        wait_for(lambda: applied_count(worker.engine) > 0 or not worker.proc.alive(), 300, 0.05, "a first batch")
        worker.run.first_batch, worker.run.applied_at_first = time.perf_counter(), applied_count(worker.engine)
        worker.run.cpu_at_first = process_cpu(worker.proc.pid)
        try:
            worker.wait_caught_up(names, end, max(timeout - (worker.run.first_batch - worker.run.started), 1))
        except TimeoutError:
            worker.run.finished = False
        worker.run.done, worker.run.applied = time.perf_counter(), applied_count(worker.engine)
        worker.run.cpu_at_done = process_cpu(worker.proc.pid)
    return worker.run


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) another process has used; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sample_rss(pid: int, run: WorkerRun, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        if (mb := process_mb(pid, "VmRSS")) > 0:
            run.rss_mb.append(mb)


def kafka_round_trip(servers: str, topic: str, body: bytes, count: int, rate: float) -> list[float]:
    """Seconds from ``send`` to ``poll`` for ``count`` messages of ``body`` offered at ``rate`` per second through
    a fresh one-partition ``topic`` (deleted with the node's topics)."""
    admin = make_admin(servers)
    try:
        ensure_topics(admin, [TopicSpec(topic, 1, 1)])
    finally:
        admin.close()
    consumer = make_consumer(servers, enable_auto_commit=False, group_id=None)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_end(partition)
    consumer.position(partition)
    sent: dict[bytes, float] = {}
    delays: list[float] = []
    reader = threading.Thread(target=_read, args=(consumer, sent, delays, count), daemon=True)
    reader.start()
    producer = make_producer(servers, client_id="thidua-bench-roundtrip", max_block_ms=30_000)
    try:
        started = time.perf_counter()
        for k in range(count):
            time.sleep(max(0.0, started + k / rate - time.perf_counter()))
            key = str(k).encode()
            sent[key] = time.perf_counter()
            producer.send(topic, key=key, value=body)
        producer.flush()
        reader.join(60)
    finally:
        producer.close(timeout=5)
        reader.join(5)
        consumer.close()
    return delays


def _read(consumer: KafkaConsumer, sent: dict[bytes, float], delays: list[float], count: int) -> None:
    deadline = time.monotonic() + 600
    while len(delays) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100).values():
            now = time.perf_counter()
            delays += [now - sent[r.key] for r in records]
