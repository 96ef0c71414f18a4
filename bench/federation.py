"""A federation of nodes on real services, for the sync tests and ``thidua bench sync``: each node with its own
PostgreSQL schema and its own ``thidua sync`` process, exchanging events over one broker (topics per node).

The default tree is central with two provinces (Huế, Lào Cai); ``tree`` names any two-level tree. Everything the
federation starts or creates (processes by pid, topics, schemas) is stopped or removed when its context exits.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.harness import Process, postgres_schema, wait_for
from services.audit.checkpoints import AUDIT_ONLY
from services.bootstrap import Node, bootstrap
from services.kernel.kafkaclients import make_admin, make_consumer
from services.kernel.settings import Settings
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event
from services.planning.seed_import import criteria_commands, issue_plan_command, load_seed_files
from services.sync.reconcile import Reconciled, reconcile
from services.sync.rules import Topology

PROVINCES = {"central": None, "hue": "central", "laocai": "central"}  # name -> parent name


class SyncNode:
    """One node: settings, a bootstrapped store in its own schema, and (when started) its sync process."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        node: Node,
        url: str,
        tmp: Path,
        sync_poll_seconds: float = 0.1,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.node = node
        self.url = url
        self.tmp = tmp
        self.sync_poll_seconds = sync_poll_seconds
        self.extra_env = dict(extra_env or {})
        self.process: Process | None = None
        self.starts = 0

    @property
    def node_id(self) -> str:
        """The node id."""
        return self.settings.node_id

    def env(self) -> dict[str, str]:
        """Environment of this node's ``thidua`` processes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
        env.update(
            THIDUA_DATABASE_URL=self.url,
            THIDUA_KAFKA_BOOTSTRAP_SERVERS=self.settings.kafka_bootstrap_servers or "",
            THIDUA_NODE_ID=self.node_id,
            THIDUA_PARENT_NODE=self.settings.parent_node or "",
            THIDUA_CHILD_NODES=self.settings.child_nodes,
            THIDUA_DATA_DIR=str(self.tmp / self.name),
            THIDUA_SYNC_POLL_SECONDS=str(self.sync_poll_seconds),
            THIDUA_LOG_LEVEL="INFO",
        )
        env.update(self.extra_env)
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
        """Event ids in the store (of one origin node), without the node's own audit records (checkpoints and
        witness records never travel by sync)."""
        query = select(event_table.c.event_id).where(event_table.c.event_type.not_in(AUDIT_ONLY))
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
    """The nodes of ``tree`` (name -> parent name, None at the root), each in its own schema; every process and
    topic removed on exit. Node ids are the name's first letter and a random tag."""

    def __init__(
        self,
        postgres_url: str,
        bootstrap_servers: str,
        tmp: Path,
        tree: Mapping[str, str | None] = PROVINCES,
        sync_poll_seconds: float = 0.1,
        extra_env: Mapping[str, str] | None = None,
        security: Mapping[str, Any] | None = None,
    ) -> None:
        self.security = dict(security or {})  # kafka-python SASL options of the federation's own clients
        self.postgres_url = postgres_url
        self.bootstrap_servers = bootstrap_servers
        self.tmp = tmp
        self.tree = dict(tree)
        self.sync_poll_seconds = sync_poll_seconds
        self.extra_env = extra_env  # more THIDUA_* for every node's processes (e.g. checkpoint intervals)
        self.tag = uuid.uuid4().hex[:6]
        self._stack = ExitStack()
        self.nodes: dict[str, SyncNode] = {}

    def __enter__(self) -> Federation:
        try:
            self._build()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _build(self) -> None:
        ids = {name: f"{name[0]}{self.tag}" for name in self.tree}
        for name, node_id in ids.items():
            parent = self.tree[name]
            children = ",".join(ids[c] for c, p in self.tree.items() if p == name)
            engine, url = self._stack.enter_context(postgres_schema(self.postgres_url, f"sync_{name}"))
            settings = Settings(
                node_id=node_id,
                parent_node=ids[parent] if parent else None,
                child_nodes=children,
                database_url=url,
                kafka_bootstrap_servers=self.bootstrap_servers,
                data_dir=self.tmp / name,
            )
            node = bootstrap(settings, engine=engine)
            self.nodes[name] = SyncNode(name, settings, node, url, self.tmp, self.sync_poll_seconds, self.extra_env)
            node.init_db()

    def __exit__(self, *exc: object) -> None:
        for sync in self.nodes.values():
            if sync.process is not None:
                sync.process.stop()
            sync.node.close()
        admin = make_admin(self.bootstrap_servers, **self.security)
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

    @property
    def root(self) -> SyncNode:
        """The node without a parent (central)."""
        return next(self.nodes[name] for name, parent in self.tree.items() if parent is None)

    def start_all(self) -> None:
        """Start every node's sync."""
        for sync in self.nodes.values():
            sync.start()

    def reconcile(self) -> list[Reconciled]:
        """Reconciliation from the root's point of view: every pair of nodes, both directions."""
        root = self.root
        consumer = make_consumer(self.bootstrap_servers, enable_auto_commit=False, **self.security)
        try:
            return reconcile(consumer, root.node.codec, Topology.from_settings(root.settings), "month")
        finally:
            consumer.close()

    def wait_reconciled(self, timeout: float = 60) -> list[Reconciled]:
        """Wait until every reconciliation row is OK."""

        def ok() -> list[Reconciled]:
            rows = self.reconcile()
            return rows if rows and all(r.status == "OK" for r in rows) else []

        return wait_for(ok, timeout, 0.5, "reconciled receipts")

    def wait_same(self, stream_id: str, names: list[str], timeout: float = 30) -> int:
        """Wait until the stream has the same (non-zero) version on every named node; return it."""

        def same() -> int:
            versions = {self.nodes[n].version(stream_id) for n in names}
            return versions.pop() if len(versions) == 1 else 0  # 0: not there yet

        return wait_for(same, timeout, 0.2, f"{stream_id} on {names}")
