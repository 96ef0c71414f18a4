"""Helpers that drive the pipeline's real processes: shared by the benchmark and the integration tests.

Processes are started with ``thidua relay`` / ``thidua worker`` and stopped by pid only (SIGTERM, then SIGKILL);
``kill -9`` is ``Process.kill()``. Databases are fresh PostgreSQL schemas (or SQLite files) dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from kafka import TopicPartition
from kafka.admin import OffsetSpec
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import ProgrammingError

from projections import tracking
from services import migrations
from services.kernel.db import make_engine
from services.kernel.kafkaclients import make_admin, make_consumer
from services.kernel.store import EventStore, NewEvent

T = TypeVar("T")
ACTOR: dict[str, Any] = {
    "actor_id": "bench",
    "kind": "SYSTEM",
    "display_name": None,
    "org_unit_path": None,
    "roles": [],
}
COMMUNES = ["VN/31/11086", "VN/46/19753", "VN/75/26041", "VN/15/02599"]  # Đại Sơn (Hải Phòng) and three others


@contextmanager
def postgres_schema(url: str, prefix: str = "t") -> Iterator[tuple[Engine, str]]:
    """A fresh schema: (engine whose search_path is the schema, URL that names it for other processes)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"
    engine = make_engine(scoped, pool_size=4)
    try:
        yield engine, scoped
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def unit_registered(code: str, parent: str, actor: dict[str, Any] = ACTOR, **overrides: Any) -> NewEvent:
    """A valid OrgUnitRegistered event for a unit ``code`` under ``parent`` (payload fields ``overrides``)."""
    unit = {"code": code, "path": f"{parent}/{code}", "level": "UNIT", "name": f"Đơn vị {code}"}
    payload = {
        "unit": unit,
        "parent_path": parent,
        "name": unit["name"],
        "unit_kind": "PUBLIC_SERVICE_UNIT",
        "subject_category": "AGENCY_LOCALITY",
        "emulation_bloc": None,
        "valid_from": None,
        **overrides,
    }
    return NewEvent("OrgUnitRegistered", payload, unit, actor, datetime(2026, 5, 4, 8, 30, tzinfo=UTC))


def append_units(store: EventStore, count: int, per_stream: int = 100, prefix: str = "B") -> int:
    """Append ``count`` unit registrations, ``per_stream`` per stream (streams spread over partitions)."""
    appended = 0
    for start in range(0, count, per_stream):
        codes = [f"{prefix}{i:07d}" for i in range(start, min(start + per_stream, count))]
        events = [unit_registered(code, COMMUNES[i % len(COMMUNES)]) for i, code in enumerate(codes)]
        store.append(f"orgunit-batch-{prefix}{start:07d}", 0, events)
        appended += len(events)
    return appended


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


class Process:
    """A ``thidua`` subprocess with its own log file; stopped by pid only."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = log_path.open("ab")
        command = [sys.executable, "-c", "from services.cli.main import app; app(prog_name='thidua')", *args]
        self.popen = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.popen.poll() is None

    def kill(self) -> None:
        """``kill -9``."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(10)

    def pause(self) -> None:
        """SIGSTOP: freeze the process (its state can then be inspected without races)."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; return the exit code."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._log.close()
        return self.popen.returncode

    def wait(self, timeout: float) -> int:
        """Wait for a process that ends by itself (``relay --once``)."""
        code = self.popen.wait(timeout)
        self._log.close()
        return code

    def log(self) -> str:
        """What the process wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def applied_offsets(engine: Engine, projection: str) -> dict[tuple[str, int], int]:
    """Last applied offset per partition of ``projection`` (Kafka runner)."""
    try:
        with engine.connect() as conn:
            return {(t, p): o for (_, t, p), o in tracking.get_kafka_offsets(conn, projection).items()}
    except ProgrammingError:  # the worker has not created its tables yet
        return {}


def applied_count(engine: Engine) -> int:
    """Records the projection furthest behind has gone past on Kafka, applied or not of a type it reads (its recorded
    offsets + 1, summed over partitions; 0 before the tables exist)."""
    table = tracking.projection_kafka_offset
    try:
        with engine.connect() as conn:
            query = select(func.sum(table.c.offset + 1)).group_by(table.c.projection)
            return min((int(row[0]) for row in conn.execute(query)), default=0)
    except ProgrammingError:  # the worker has not created its tables yet
        return 0


def events_read(store: Any, projections: list[Any]) -> dict[str, int]:
    """Events of the store each projection reads (of its ``event_types``): what a worker applies and records."""
    types = Counter(e.event_type for e in store.read_all(0, store.head_position()))
    return {p.name: sum(n for name, n in types.items() if name in p.event_types) for p in projections}


def applied_by_projection(engine: Engine) -> dict[str, int]:
    """Events applied from Kafka per projection, summed over partitions."""
    table = tracking.projection_kafka_offset
    try:
        with engine.connect() as conn:
            query = select(table.c.projection, func.sum(table.c.applied)).group_by(table.c.projection)
            return {str(row[0]): int(row[1]) for row in conn.execute(query)}
    except ProgrammingError:  # the worker has not created its tables yet
        return {}


def event_ids_by_projection(engine: Engine) -> dict[str, int]:
    """Event ids recorded per projection (each applied event once)."""
    table = tracking.projection_event
    with engine.connect() as conn:
        query = select(table.c.projection, func.count()).group_by(table.c.projection)
        return {str(row[0]): int(row[1]) for row in conn.execute(query)}


def end_offsets(bootstrap: str, topics: list[str], **security: Any) -> dict[tuple[str, int], int]:
    """End offset of every partition of ``topics`` (``security``: kafka-python SASL options)."""
    admin = make_admin(bootstrap, **security)
    try:
        described = admin.describe_topics(topics)
        tps = [TopicPartition(t["name"], p["partition_index"]) for t in described for p in t["partitions"]]
        latest = admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.LATEST))
    finally:
        admin.close()
    return {(tp.topic, tp.partition): int(o.offset) for tp, o in latest.items()}


def caught_up(engine: Engine, projection: str, end: dict[tuple[str, int], int]) -> bool:
    """Whether ``projection`` applied every partition up to ``end`` (empty partitions need nothing)."""
    done = applied_offsets(engine, projection)
    return all(done.get(tp, -1) >= high - 1 for tp, high in end.items() if high > 0)


def consume_all(bootstrap: str, topics: list[str], timeout_ms: int = 10_000, **security: Any) -> list[Any]:
    """Every record of ``topics`` from the beginning to the current end."""
    end = end_offsets(bootstrap, topics, **security)
    consumer = make_consumer(bootstrap, enable_auto_commit=False, **security)
    try:
        tps = [TopicPartition(t, p) for (t, p), high in end.items() if high > 0]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        while any(consumer.position(tp) < end[(tp.topic, tp.partition)] for tp in tps):
            batch = consumer.poll(timeout_ms=timeout_ms)
            if not batch:
                raise TimeoutError("topics did not deliver up to their end offsets")
            for chunk in batch.values():
                records += chunk
        return records
    finally:
        consumer.close()


def read_model(engine: Engine, projections: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Every row of every projection table, ordered by primary key: {table name: rows}."""
    snapshot = {}
    with engine.connect() as conn:
        for projection in projections:
            for table in projection.metadata.sorted_tables:
                query = select(table).order_by(*table.primary_key.columns)
                snapshot[table.name] = [r._asdict() for r in conn.execute(query)]
    return snapshot


class Rig:
    """A node's pipeline on real services: a store schema, a read-model schema for the workers, the node's
    topics, an in-process relay and worker processes. Everything is removed on exit."""

    def __init__(
        self,
        postgres_url: str,
        bootstrap_servers: str,
        tmp: Path,
        security: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        self.postgres_url = postgres_url
        self.bootstrap_servers = bootstrap_servers
        self.security = security or {}  # kafka-python SASL options of the rig's own clients (a super user)
        self.tmp = tmp
        self.overrides = overrides
        self.processes: list[Process] = []
        self._stack = ExitStack()

    def __enter__(self) -> Rig:
        from services.bootstrap import bootstrap
        from services.kernel.settings import Settings
        from services.pipeline.topics import Topics, ensure_topics, topic_specs

        self.tmp.mkdir(parents=True, exist_ok=True)
        store_engine, store_url = self._stack.enter_context(postgres_schema(self.postgres_url, "store"))
        self.read_engine, self.read_url = self._stack.enter_context(postgres_schema(self.postgres_url, "rm"))
        migrations.upgrade(self.read_engine)  # the workers' database: `thidua db upgrade` before they start
        self.settings = Settings(
            node_id=self.overrides.pop("node_id", f"t{uuid.uuid4().hex[:8]}"),
            database_url=store_url,
            kafka_bootstrap_servers=self.bootstrap_servers,
            data_dir=self.tmp,
            **self.overrides,
        )
        self.node = bootstrap(self.settings, engine=store_engine)
        self.node.init_db()
        self.topics = Topics(self.settings.node_id)
        admin = make_admin(self.bootstrap_servers, **self.security)
        try:
            ensure_topics(admin, topic_specs(self.settings))
        finally:
            admin.close()
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.processes:
            proc.stop()
        admin = make_admin(self.bootstrap_servers, **self.security)
        try:
            admin.delete_topics([*self.topics.events, self.topics.dead_letters, self.topics.schemas])
        except Exception:  # noqa: BLE001 - the broker may be the one a fault test stopped
            pass
        finally:
            admin.close()
        self.node.close()
        self._stack.close()

    def relay(self) -> Any:
        """An in-process relay of the store."""
        from services.pipeline.relay import build_relay

        relay = build_relay(self.node, self.settings)
        return relay

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment of a worker or relay process of this node (workers write to the read-model schema)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
        env.update(
            THIDUA_DATABASE_URL=self.read_url,
            THIDUA_KAFKA_BOOTSTRAP_SERVERS=self.bootstrap_servers,
            THIDUA_NODE_ID=self.settings.node_id,
            THIDUA_DATA_DIR=str(self.tmp / "proc"),
            THIDUA_WORKER_WEB_ENABLED="0",
            THIDUA_RELAY_METRICS_PORT="0",
            THIDUA_WORKER_SESSION_TIMEOUT_SECONDS="6",
            THIDUA_WORKER_HEARTBEAT_SECONDS="1",
            THIDUA_LOG_LEVEL="INFO",
            THIDUA_AUDIT_CHECKPOINT_EVERY="0",  # no automatic checkpoints: the tests count the relay's events
            THIDUA_AUDIT_CHECKPOINT_MINUTES="0",
        )
        env.update(overrides)
        return env

    def start(self, name: str, args: list[str], **env: str) -> Process:
        """Start ``thidua <args>`` (logs in ``tmp/<name>.log``)."""
        proc = Process(args, self.env(**env), self.tmp / f"{name}.log")
        self.processes.append(proc)
        return proc

    def end(self) -> dict[tuple[str, int], int]:
        """End offsets of the event topics."""
        return end_offsets(self.bootstrap_servers, self.topics.events, **self.security)

    def wait_applied(self, timeout: float = 60) -> None:
        """Wait until every projection applied the event topics up to their current end."""
        end = self.end()
        for name in [p.name for p in self.node.projections]:
            wait_for(partial(caught_up, self.read_engine, name, end), timeout, 0.1, name)

    def kafka_read_model(self) -> dict[str, list[dict[str, Any]]]:
        """The workers' read model."""
        return read_model(self.read_engine, self.node.projections)

    def embedded_read_model(self) -> dict[str, list[dict[str, Any]]]:
        """A clean rebuild: the embedded tail applies the whole store to the store's schema."""
        self.node.runner.run_until_idle()
        return read_model(self.node.engine, self.node.projections)
