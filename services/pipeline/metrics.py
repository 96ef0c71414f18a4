"""``/metrics`` in the Prometheus text format (0.0.4): relay lag, consumer lag per partition, events applied per
projection, dead letters.

Most numbers are read at scrape time from durable state — the store's head, the relay's published position, the
projections' offsets and counters in the database, the topics' end offsets and the worker group's committed
offsets on the broker — so the API, the relay and every worker report the same truth, and it survives restarts.
Each process adds its own counters (events published by this relay, dead letters by reason in this worker).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, inspect, select

from projections import tracking
from services.kernel.producer import client_security
from services.kernel.settings import Settings
from services.kernel.store import EventStore

from . import tables
from .topics import Topics

if TYPE_CHECKING:
    from fastapi import APIRouter

    from services.bootstrap import Node

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = Mapping[str, str | int]
BACKSLASH, NEWLINE = "\\", "\n"


@dataclass
class Family:
    """One metric: name, type (gauge or counter), help text and its samples."""

    name: str
    kind: str
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str | int) -> Family:
        """Add a sample; return self."""
        self.samples.append((labels, value))
        return self


def _escape(value: str) -> str:
    return value.replace(BACKSLASH, BACKSLASH * 2).replace(NEWLINE, BACKSLASH + "n").replace('"', BACKSLASH + '"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(families: list[Family]) -> str:
    """The families in the Prometheus text exposition format."""
    lines = []
    for family in families:
        lines.append(
            f"# HELP {family.name} {family.help.replace(BACKSLASH, BACKSLASH * 2).replace(NEWLINE, BACKSLASH + 'n')}"
        )
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            lines.append(f"{family.name}{{{text}}} {_number(value)}" if text else f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n"


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

    def families(self) -> list[Family]:
        """This process's counters as metric families."""
        applied = Family("thidua_worker_events_applied_total", "counter", "Events this worker process applied.")
        for name, count in sorted(self.applied.items()):
            applied.add(count, projection=name)
        dead = Family("thidua_worker_dead_letters_total", "counter", "Dead letters this worker process sent.")
        for reason, count in sorted(self.dead_letters.items()):
            dead.add(count, reason=reason)
        return [
            applied,
            dead,
            Family("thidua_worker_batches_total", "counter", "Batches committed by this worker.").add(self.batches),
            Family("thidua_worker_records_total", "counter", "Records consumed by this worker.").add(self.records),
        ]


def relay_families(stats: Any) -> list[Family]:
    """Counters of one relay process (``RelayStats``)."""
    return [
        Family("thidua_relay_events_published_total", "counter", "Events this relay process published.").add(
            stats.published
        ),
        Family("thidua_relay_batches_total", "counter", "Batches this relay process published.").add(stats.batches),
        Family("thidua_relay_failures_total", "counter", "Failed batches (retried) of this relay.").add(stats.failures),
        Family("thidua_relay_last_batch_seconds", "gauge", "Duration of the last published batch.").add(
            stats.last_batch_seconds
        ),
    ]


class PipelineMetrics:
    """Collects the node's pipeline metrics from the database and the broker at scrape time."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        settings: Settings,
        extra: Callable[[], list[Family]] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings
        self.topics = Topics(settings.node_id)
        self.extra = extra
        self._admin: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_node(cls, node: Node, extra: Callable[[], list[Family]] | None = None) -> PipelineMetrics:
        """Metrics of a bootstrapped node."""
        return cls(node.engine, node.store, node.settings, extra)

    def render(self) -> str:
        """Everything, in the text format."""
        return render(self.collect())

    def collect(self) -> list[Family]:
        """Every metric family (the broker's are left out, with thidua_kafka_up 0, when it does not answer)."""
        with self._lock:
            head = self.store.head_position()
            families = [Family("thidua_store_head_position", "gauge", "Highest committed store position.").add(head)]
            with self.engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                families += self._relay(conn, head, present) + self._embedded(conn, head, present)
                offsets = tracking.get_kafka_offsets(conn) if "projection_kafka_offset" in present else {}
                families += self._applied(conn) if offsets else []
            if self.settings.kafka_bootstrap_servers:
                families += self._broker(offsets)
            return families + (self.extra() if self.extra else [])

    def _relay(self, conn: Any, head: int, present: set[str]) -> list[Family]:
        if "relay_position" not in present:
            return []
        published = Family("thidua_relay_published_position", "gauge", "Last store position the broker acknowledged.")
        lag = Family("thidua_relay_lag_events", "gauge", "Store events the relay has not yet published.")
        for row in conn.execute(select(tables.relay_position)):
            published.add(row.position, relay=row.relay)
            lag.add(max(head - row.position, 0), relay=row.relay)
        return [published, lag]

    def _embedded(self, conn: Any, head: int, present: set[str]) -> list[Family]:
        if "projection_position" not in present:
            return []
        lag = Family("thidua_projection_lag_events", "gauge", "Store events the embedded tail has not applied.")
        for row in conn.execute(select(tracking.projection_position)):
            lag.add(max(head - row.position, 0), projection=row.projection, runner="embedded")
        return [lag]

    def _applied(self, conn: Any) -> list[Family]:
        table = tracking.projection_kafka_offset
        query = select(table.c.projection, func.sum(table.c.applied)).group_by(table.c.projection)
        family = Family(
            "thidua_projection_events_applied_total", "counter", "Events applied to each projection from Kafka."
        )
        for projection, applied in conn.execute(query.order_by(table.c.projection)):
            family.add(int(applied or 0), projection=projection, runner="kafka")
        return [family]

    def _broker(self, offsets: Mapping[tuple[str, str, int], int]) -> list[Family]:
        up = Family("thidua_kafka_up", "gauge", "Whether the broker answered this scrape.")
        try:
            end, committed = self._broker_offsets()
        except Exception as exc:  # the broker is away: report it, keep the other metrics
            log.warning("metrics: broker did not answer", exc_info=exc)
            self._close_admin()
            return [up.add(0)]
        group = self.settings.effective_worker_app_id
        consumer = Family("thidua_consumer_lag_messages", "gauge", "End offset minus the worker group's commit.")
        projection = Family("thidua_projection_lag_messages", "gauge", "End offset minus what a projection applied.")
        dead = Family("thidua_dead_letters_total", "counter", "Messages in the dead-letter topic.")
        names = sorted({name for name, _, _ in offsets})
        for (topic, partition), high in sorted(end.items()):
            if topic == self.topics.dead_letters:
                dead.add(high, topic=topic, partition=partition)
                continue
            consumer.add(high - committed.get((topic, partition), 0), group=group, topic=topic, partition=partition)
            for name in names:
                behind = high - (offsets.get((name, topic, partition), -1) + 1)
                projection.add(behind, projection=name, topic=topic, partition=partition)
        return [up.add(1), consumer, projection, dead]

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
            from kafka.admin import KafkaAdminClient

            self._admin = KafkaAdminClient(
                bootstrap_servers=(self.settings.kafka_bootstrap_servers or "").split(","),
                client_id=f"thidua-{self.settings.node_id}-metrics",
                request_timeout_ms=5000,
                **security_options(self.settings),
            )
        return self._admin

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:  # noqa: BLE001 - a broken client is being discarded
                log.debug("metrics: closing the admin client failed", exc_info=True)


def security_options(settings: Settings) -> dict[str, Any]:
    """kafka-python SASL/SSL options from settings."""
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return client_security(
        settings.kafka_security_protocol, settings.kafka_sasl_mechanism, settings.kafka_sasl_username, password, cafile
    )


def metrics_router(node: Node) -> APIRouter:
    """A FastAPI router serving ``GET /metrics`` for the node (add it with ``app.include_router``)."""
    from fastapi import APIRouter
    from fastapi.responses import Response

    metrics = PipelineMetrics.for_node(node)
    router = APIRouter()

    @router.get("/metrics", tags=["ops"], response_class=Response, response_model=None)
    def get_metrics() -> Response:
        """Prometheus metrics: relay lag, consumer lag per partition, events applied, dead letters."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return router


def serve_metrics(port: int, render_text: Callable[[], str], host: str = "0.0.0.0") -> ThreadingHTTPServer:  # noqa: S104
    """Serve ``GET /metrics`` from a daemon thread (the relay has no web framework); ``shutdown()`` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path.split("?")[0] not in ("/metrics", "/healthz"):
                self.send_error(404)
                return
            body = (render_text() if self.path.startswith("/metrics") else "ok\n").encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
            log.debug("metrics http: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
