"""A node with the seed plans and a handful of units, for the domain tests and the demo checks: on a database
(``seeded``: the real store and message bus) or in memory (``memory_seeded``: the same handlers in
``MemoryUnitOfWork``, for fast rule tests). The helpers below take either."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from services.awards import load_authority_matrix
from services.bootstrap import Node, bootstrap
from services.domain.deps import Deps
from services.kernel.adminunits import AdminUnitCatalog, load_admin_units
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.errors import ThiduaError
from services.kernel.events import Event, decode_event
from services.kernel.schemas import SchemaCatalog
from services.kernel.settings import Settings
from services.kernel.uow import MemoryLog, MemoryUnitOfWork, UnitOfWork
from services.messagebus import HANDLERS, CommandResult
from services.planning.seed_import import import_seeds
from services.registry.commands import RegisterOrgUnit
from tests.factories import SYSTEM_ACTOR

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LAO_CAI_COMMUNE = "VN/15/02683"  # Xã Bát Xát, Lào Cai


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    """A business time in Vietnam."""
    return datetime(y, m, d, hour, tzinfo=VN)


def register(
    node: Node | MemoryNode,
    parent: str,
    code: str,
    name: str,
    kind: str = "PUBLIC_SERVICE_UNIT",
    category: str = "AGENCY_LOCALITY",
    agency_type: str | None = None,
) -> str:
    """Register a unit (with its agency type, if it is one: Sở Nội vụ, Phòng Kinh tế…) and return its path."""
    extra = {"agency_type": agency_type} if agency_type else {}
    node.bus.handle(
        RegisterOrgUnit(
            parent,
            code,
            name,
            kind,
            at(2026, 5, 4),
            SYSTEM_ACTOR,
            subject_category=category,
            valid_from=date(2026, 5, 4),
            **extra,
        )
    )
    return f"{parent}/{code}"


def seeded(engine: Engine, tmp_path: Path) -> Node:
    """A node on ``engine`` with the four seed plans imported."""
    built = bootstrap(Settings(data_dir=tmp_path), engine=engine)
    built.init_db()
    import_seeds(built.bus.handle)
    return built


@dataclass
class MemoryBus:
    """The message bus's ``handle`` over a ``MemoryLog``: each command's handler in its own ``MemoryUnitOfWork``."""

    log: MemoryLog
    deps: Deps
    types: dict[str, type[Event]] = field(default_factory=lambda: dict(EVENT_TYPES))

    def handle(self, command: Any) -> CommandResult:
        with MemoryUnitOfWork(self.log) as uow:
            HANDLERS[type(command)](command, uow, self.deps)
        last = uow.results[-1]
        event_ids = [e for r in uow.results for e in r.event_ids]
        return CommandResult(last.stream_id, last.version, event_ids, [p for r in uow.results for p in r.positions])


@dataclass
class MemoryNode:
    """What the domain tests use of a node, in memory: its bus and its log."""

    bus: MemoryBus

    @property
    def log(self) -> MemoryLog:
        return self.bus.log

    @property
    def official_units(self) -> AdminUnitCatalog:
        return self.bus.deps.official


@cache
def _codec_and_deps() -> tuple[AvroCodec, Deps]:
    return AvroCodec(SchemaCatalog.load()), Deps(load_admin_units(), load_authority_matrix())


@cache
def _seeded_log() -> MemoryLog:
    codec, deps = _codec_and_deps()
    log = MemoryLog(codec, EVENT_TYPES, "central")
    import_seeds(MemoryBus(log, deps).handle)
    return log


def memory_seeded() -> MemoryNode:
    """A node in memory with the four seed plans imported (the same handlers and codec as ``seeded``): a copy of
    one import, so each test starts from the same log without importing again (events are never mutated)."""
    seeded = _seeded_log()
    log = MemoryLog(seeded.codec, seeded.types, seeded.node_id)
    log.streams = {stream: list(kept) for stream, kept in seeded.streams.items()}
    log.lookups = {key: list(refs) for key, refs in seeded.lookups.items()}
    log.placed, log.position, log.prev = dict(seeded.placed), seeded.position, seeded.prev
    return MemoryNode(MemoryBus(log, _codec_and_deps()[1]))


def unit_of_work(node: Node | MemoryNode) -> UnitOfWork | MemoryUnitOfWork:
    """A unit of work on the node's store or log (a context manager)."""
    if isinstance(node, MemoryNode):
        return MemoryUnitOfWork(node.log)
    return UnitOfWork(node.store, node.bus.types)


def all_events(node: Node | MemoryNode) -> list[Event]:
    """Every event of the node, decoded, in store order."""
    if isinstance(node, MemoryNode):
        return node.log.events()
    stored = node.store.read_all(0, 100_000)
    return [decode_event(s.body, node.codec, node.bus.types, s.position) for s in stored]


def events(node: Node | MemoryNode, name: str) -> list[Any]:
    """The stored events of type ``name``, decoded, in store order."""
    return [e for e in all_events(node) if name == e.NAME]


def _head(node: Node | MemoryNode) -> int:
    return node.log.position if isinstance(node, MemoryNode) else node.store.head_position()


def refused(node: Node | MemoryNode, command: Any, code: str) -> ThiduaError:
    """Run a command that must be refused with ``code``, in Vietnamese and English, and write nothing."""
    head = _head(node)
    with pytest.raises(ThiduaError) as raised:
        node.bus.handle(command)
    assert raised.value.code == code, raised.value
    assert _head(node) == head, "a refused command wrote events"
    assert raised.value.message_vi and raised.value.message_en
    return raised.value
