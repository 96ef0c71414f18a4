"""``/metrics`` (Prometheus, through ``prometheus_client``): relay lag, consumer lag per partition, events applied
per projection, dead letters, and each process's own counters and process metrics.

Most numbers are read at scrape time from durable state by a custom collector — the store's head, the relay's
published position, the projections' offsets and counters in the database, the topics' end offsets and the worker
group's committed offsets on the broker — so the API, the relay and every worker report the same truth, and it
survives restarts. Each process adds its own counters (events published by this relay, dead letters by reason in
this worker) and the client library's process metrics (CPU, memory, open files, GC).
"""

from __future__ import annotations

import errno
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, inspect, select

from projections import tracking
from services.kernel.errors import PortInUse
from services.kernel.kafkaclients import make_admin, oneshot_options
from services.kernel.settings import NodeSettings
from services.kernel.store import EventStore

from . import tables
from .topics import Topics

if TYPE_CHECKING:
    from services.bootstrap import Node

log = logging.getLogger(__name__)
Families = Callable[[], Iterable[Metric]]


def process_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of one process: its process, platform and GC metrics, and ``collectors``."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry, accept: str | None = None) -> tuple[bytes, str]:
    """The registry's metrics in the format the scraper's ``Accept`` header asks for (Prometheus text 0.0.4 by
    default, OpenMetrics when asked), and its content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    """A gauge family read at scrape time."""
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def counter(name: str, documentation: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
    """A counter family read at scrape time (``name`` ends in ``_total``, as exposed)."""
    return CounterMetricFamily(name, documentation, labels=list(labels))


class Scraped(Collector):
    """A collector calling ``families`` at each scrape (a process's own counters, kept by its code)."""

    def __init__(self, families: Families) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families()


@dataclass
class WorkerStats:
    """Counters of one worker process."""

    applied: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    records: int = 0

    def record(self, applied: Any, records: int) -> None:
        """Count one committed batch (``applied.events``: events applied per projection)."""
        self.applied.update(applied.events)
        self.batches += 1
        self.records += records

    def families(self) -> list[Metric]:
        """This process's counters as metric families."""
        applied = counter("thidua_worker_events_applied_total", "Events this worker process applied.", ["projection"])
        for name, count in sorted(self.applied.items()):
            applied.add_metric([name], count)
        dead = counter("thidua_worker_dead_letters_total", "Dead letters this worker process sent.", ["reason"])
        for reason, count in sorted(self.dead_letters.items()):
            dead.add_metric([reason], count)
        batches = counter("thidua_worker_batches_total", "Batches committed by this worker.")
        records = counter("thidua_worker_records_total", "Records consumed by this worker.")
        batches.add_metric([], self.batches)
        records.add_metric([], self.records)
        return [applied, dead, batches, records]


def relay_families(stats: Any) -> list[Metric]:
    """Counters of one relay process (``RelayStats``)."""
    published = counter("thidua_relay_events_published_total", "Events this relay process published.")
    batches = counter("thidua_relay_batches_total", "Batches this relay process published.")
    failures = counter("thidua_relay_failures_total", "Failed batches (retried) of this relay.")
    last = gauge("thidua_relay_last_batch_seconds", "Duration of the last published batch.")
    published.add_metric([], stats.published)
    batches.add_metric([], stats.batches)
    failures.add_metric([], stats.failures)
    last.add_metric([], stats.last_batch_seconds)
    return [published, batches, failures, last]


class PipelineMetrics(Collector):
    """The node's pipeline metrics, read from the database and the broker at each scrape (a custom collector)."""

    def __init__(self, engine: Engine, store: EventStore, settings: NodeSettings) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings
        self.topics = Topics(settings.node_id)
        self.broker_error: Exception | None = None  # why the broker did not answer the last scrape
        self._admin: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_node(cls, node: Node) -> PipelineMetrics:
        """Metrics of a bootstrapped node."""
        return cls(node.engine, node.store, node.settings)

    def collect(self) -> list[Metric]:
        """Every metric family (the broker's are left out, with thidua_kafka_up 0, when it does not answer)."""
        with self._lock:
            head = self.store.head_position()
            position = gauge("thidua_store_head_position", "Highest committed store position.")
            position.add_metric([], head)
            families: list[Metric] = [position]
            with self.engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                families += self._relay(conn, head, present) + self._embedded(conn, head, present)
                offsets = tracking.get_kafka_offsets(conn) if "projection_kafka_offset" in present else {}
                families += self._applied(conn) if offsets else []
            if self.settings.kafka_bootstrap_servers:
                families += self._broker(offsets)
            return families

    def _relay(self, conn: Any, head: int, present: set[str]) -> list[Metric]:
        if "relay_position" not in present:
            return []
        published = gauge("thidua_relay_published_position", "Last store position the broker acknowledged.", ["relay"])
        lag = gauge("thidua_relay_lag_events", "Store events the relay has not yet published.", ["relay"])
        for row in conn.execute(select(tables.relay_position)):
            published.add_metric([row.relay], row.position)
            lag.add_metric([row.relay], max(head - row.position, 0))
        return [published, lag]

    def _embedded(self, conn: Any, head: int, present: set[str]) -> list[Metric]:
        if "projection_position" not in present:
            return []
        lag = gauge(
            "thidua_projection_lag_events", "Store events the embedded tail has not applied.", ["projection", "runner"]
        )
        for row in conn.execute(select(tracking.projection_position)):
            lag.add_metric([row.projection, "embedded"], max(head - row.position, 0))
        return [lag]

    def _applied(self, conn: Any) -> list[Metric]:
        table = tracking.projection_kafka_offset
        query = select(table.c.projection, func.sum(table.c.applied)).group_by(table.c.projection)
        family = counter(
            "thidua_projection_events_applied_total",
            "Events applied to each projection from Kafka.",
            ["projection", "runner"],
        )
        for projection, applied in conn.execute(query.order_by(table.c.projection)):
            family.add_metric([projection, "kafka"], int(applied or 0))
        return [family]

    def _broker(self, offsets: dict[tuple[str, str, int], int]) -> list[Metric]:
        up = gauge("thidua_kafka_up", "Whether the broker answered this scrape.")
        try:
            end, committed = self._broker_offsets()
        except Exception as exc:  # the broker is away: report it, keep the other metrics
            log.debug("metrics: broker did not answer", exc_info=exc)
            self.broker_error = exc
            self._close_admin()
            up.add_metric([], 0)
            return [up]
        self.broker_error = None
        group = self.settings.effective_worker_app_id
        consumer = gauge(
            "thidua_consumer_lag_messages",
            "End offset minus the worker group's commit.",
            ["group", "topic", "partition"],
        )
        projection = gauge(
            "thidua_projection_lag_messages",
            "End offset minus what a projection applied.",
            ["projection", "topic", "partition"],
        )
        dead = counter("thidua_dead_letters_total", "Messages in the dead-letter topic.", ["topic", "partition"])
        names = sorted({name for name, _, _ in offsets})
        for (topic, partition), high in sorted(end.items()):
            if topic == self.topics.dead_letters:
                dead.add_metric([topic, str(partition)], high)
                continue
            consumer.add_metric([group, topic, str(partition)], high - committed.get((topic, partition), 0))
            for name in names:
                behind = high - (offsets.get((name, topic, partition), -1) + 1)
                projection.add_metric([name, topic, str(partition)], behind)
        up.add_metric([], 1)
        return [up, consumer, projection, dead]

    def _broker_offsets(self) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        admin = self._admin_client()
        wanted = [*self.topics.events, self.topics.dead_letters]
        known = [t for t in admin.describe_topics(wanted) if t.get("error_code", 0) == 0]
        tps = [TopicPartition(t["name"], p["partition_index"]) for t in known for p in t["partitions"]]
        latest = admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.LATEST)) if tps else {}
        end = {(tp.topic, tp.partition): int(o.offset) for tp, o in latest.items()}
        return end, self._committed(admin)

    def _committed(self, admin: Any) -> dict[tuple[str, int], int]:
        """The worker group's committed offsets (none yet: a fresh cluster has no group coordinator for it)."""
        from kafka.errors import CoordinatorNotAvailableError, GroupIdNotFoundError

        group = self.settings.effective_worker_app_id
        try:
            committed = admin.list_group_offsets({group: None}).get(group, {})
        except (CoordinatorNotAvailableError, GroupIdNotFoundError):
            return {}
        return {(tp.topic, tp.partition): int(o.offset) for tp, o in committed.items() if o.offset >= 0}

    def _admin_client(self) -> Any:
        if self._admin is None:
            self._admin = make_admin(
                self.settings.kafka_bootstrap_servers or "",
                client_id=f"thidua-{self.settings.node_id}-metrics",
                request_timeout_ms=5000,
                **oneshot_options(self.settings),
            )
        return self._admin

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:
                log.debug("metrics: closing the admin client failed", exc_info=True)


def serve_metrics(port: int, registry: CollectorRegistry, host: str = "0.0.0.0") -> ThreadingHTTPServer:  # noqa: S104
    """Serve ``GET /metrics`` and ``/healthz`` from a daemon thread (the relay has no web framework); ``shutdown()``
    stops it. A port that is taken raises ``PortInUse`` naming THIDUA_RELAY_METRICS_PORT."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path.split("?")[0] not in ("/metrics", "/healthz"):
                self.send_error(404)
                return
            if self.path.startswith("/metrics"):
                body, content_type = exposition(registry, self.headers.get("Accept"))
            else:
                body, content_type = b"ok\n", "text/plain; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
            log.debug("metrics http: " + format, *args)  # noqa: G003 - http.server hands over its own format

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(
            f"Cổng {port} của /metrics đang được tiến trình khác dùng (THIDUA_RELAY_METRICS_PORT): đặt cổng khác, "
            "hoặc 0 để tắt.",
            f"Port {port} of /metrics is in use by another process (THIDUA_RELAY_METRICS_PORT): set another port, "
            "or 0 to turn it off.",
            port=port,
        ) from exc
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
