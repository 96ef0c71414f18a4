"""Three nodes on real services for the sync tests: central and two provinces (Huế, Lào Cai), each with its own
PostgreSQL schema and its own ``thidua sync`` process, exchanging events over one broker (topics per node)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient
from sqlalchemy import func, select

from services.bootstrap import Node, bootstrap
from services.kernel.settings import Settings
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event
from services.pipeline.harness import Process, postgres_schema, wait_for
from services.pipeline.topics import Topics
from services.planning.seed_import import criteria_commands, issue_plan_command, load_seed_files
from services.sync.reconcile import Reconciled, reconcile
from services.sync.rules import Topology


class SyncNode:
    """One node: settings, a bootstrapped store in its own schema, and (when started) its sync process."""

    def __init__(self, name: str, settings: Settings, node: Node, url: str, tmp: Path) -> None:
        self.name = name
        self.settings = settings
        self.node = node
        self.url = url
        self.tmp = tmp
        self.process: Process | None = None
        self.starts = 0

    @property
    def node_id(self) -> str:
        """The node id."""
        return self.settings.node_id

    def env(self) -> dict[str, str]:
        """Environment of this node's ``thidua sync``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
        env.update(
            THIDUA_DATABASE_URL=self.url,
            THIDUA_KAFKA_BOOTSTRAP_SERVERS=self.settings.kafka_bootstrap_servers or "",
            THIDUA_NODE_ID=self.node_id,
            THIDUA_PARENT_NODE=self.settings.parent_node or "",
            THIDUA_CHILD_NODES=self.settings.child_nodes,
            THIDUA_DATA_DIR=str(self.tmp / self.name),
            THIDUA_SYNC_POLL_SECONDS="0.1",
            THIDUA_LOG_LEVEL="INFO",
        )
        return env

    def start(self) -> Process:
        """Start ``thidua sync`` (logs in tmp/sync-<name>-<n>.log)."""
        self.starts += 1
        self.process = Process(["sync"], self.env(), self.tmp / f"sync-{self.name}-{self.starts}.log")
        return self.process

    def kill(self) -> None:
        """``kill -9`` the sync process."""
        assert self.process is not None
        self.process.kill()
        self.process.stop()

    def handle(self, command: Any) -> Any:
        """Run a command on this node's bus."""
        return self.node.bus.handle(command)

    def version(self, stream_id: str) -> int:
        """Version of a stream in this node's store."""
        return self.node.store.stream_version(stream_id)

    def event_ids(self, origin: str | None = None) -> set[str]:
        """Event ids in the store (of one origin node)."""
        query = select(event_table.c.event_id)
        if origin is not None:
            query = query.where(event_table.c.node_id == origin)
        with self.node.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def imported(self) -> int:
        """Rows of ``foreign_event``."""
        with self.node.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(foreign_event)).scalar_one())

    def import_seed(self, plan_key: str) -> None:
        """Issue one seed plan and its criteria on this node."""
        seed = next(s for s in load_seed_files() if s["plan_key"] == plan_key)
        command = issue_plan_command(seed)
        self.handle(command)
        for criteria in criteria_commands(seed, command):
            self.handle(criteria)


class Federation:
    """central (parent of hue and laocai), each node in its own schema; every process and topic removed on exit."""

    def __init__(self, postgres_url: str, bootstrap_servers: str, tmp: Path) -> None:
        self.postgres_url = postgres_url
        self.bootstrap_servers = bootstrap_servers
        self.tmp = tmp
        self.tag = uuid.uuid4().hex[:6]
        self._stack = ExitStack()
        self.nodes: dict[str, SyncNode] = {}

    def __enter__(self) -> Federation:
        ids = {name: f"{name[0]}{self.tag}" for name in ("central", "hue", "laocai")}
        parents = {"central": None, "hue": ids["central"], "laocai": ids["central"]}
        children = {"central": f"{ids['hue']},{ids['laocai']}", "hue": "", "laocai": ""}
        for name, node_id in ids.items():
            engine, url = self._stack.enter_context(postgres_schema(self.postgres_url, f"sync_{name}"))
            settings = Settings(
                node_id=node_id,
                parent_node=parents[name],
                child_nodes=children[name],
                database_url=url,
                kafka_bootstrap_servers=self.bootstrap_servers,
                data_dir=self.tmp / name,
            )
            node = bootstrap(settings, engine=engine)
            node.init_db()
            self.nodes[name] = SyncNode(name, settings, node, url, self.tmp)
        return self

    def __exit__(self, *exc: object) -> None:
        for sync in self.nodes.values():
            if sync.process is not None:
                sync.process.stop()
            sync.node.close()
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            mine = [t for t in admin.list_topics() if any(f".{n.node_id}." in t for n in self.nodes.values())]
            admin.delete_topics(mine)
        except Exception:  # noqa: BLE001 - cleanup only
            pass
        finally:
            admin.close()
        self._stack.close()

    def __getitem__(self, name: str) -> SyncNode:
        return self.nodes[name]

    def start_all(self) -> None:
        """Start every node's sync."""
        for sync in self.nodes.values():
            sync.start()

    def reconcile(self) -> list[Reconciled]:
        """Reconciliation from central's point of view: every pair of nodes, both directions."""
        central = self.nodes["central"]
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False)
        try:
            return reconcile(consumer, central.node.codec, Topology.from_settings(central.settings), "month")
        finally:
            consumer.close()

    def wait_reconciled(self, timeout: float = 60) -> list[Reconciled]:
        """Wait until every reconciliation row is OK."""

        def ok() -> list[Reconciled] | None:
            rows = self.reconcile()
            return rows if rows and all(r.status == "OK" for r in rows) else None

        return wait_for(ok, timeout, 0.5, "reconciled receipts")

    def wait_same(self, stream_id: str, names: list[str], timeout: float = 30) -> int:
        """Wait until the stream has the same (non-zero) version on every named node; return it."""

        def same() -> int | None:
            versions = {self.nodes[n].version(stream_id) for n in names}
            return versions.pop() if len(versions) == 1 and 0 not in versions else None

        return wait_for(same, timeout, 0.2, f"{stream_id} on {names}")


def sync_topics(node_ids: list[str]) -> Callable[[str], bool]:
    """A predicate: whether a topic belongs to one of ``node_ids``."""
    return lambda topic: any(topic.startswith(f"{Topics(n).prefix}.{n}.") for n in node_ids)
