"""A node with the seed plans and a handful of units, for the domain tests and the demo checks."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from services.bootstrap import Node, bootstrap
from services.kernel.errors import ThiduaError
from services.kernel.events import decode_event
from services.kernel.settings import Settings
from services.planning.seed_import import import_seeds
from services.registry.commands import RegisterOrgUnit
from tests.factories import SYSTEM_ACTOR

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LAO_CAI_COMMUNE = "VN/15/02683"  # Xã Bát Xát, Lào Cai


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    """A business time in Vietnam."""
    return datetime(y, m, d, hour, tzinfo=VN)


def register(
    node: Node,
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


def events(node: Node, name: str) -> list[Any]:
    """The stored events of type ``name``, decoded, in store order."""
    stored = node.store.read_all(0, 100_000)
    decoded = [decode_event(s.body, node.codec, node.bus.types, s.position) for s in stored]
    return [e for e in decoded if name == e.NAME]


def refused(node: Node, command: Any, code: str) -> ThiduaError:
    """Run a command that must be refused with ``code``, in Vietnamese and English, and write nothing."""
    head = node.store.head_position()
    with pytest.raises(ThiduaError) as raised:
        node.bus.handle(command)
    assert raised.value.code == code, raised.value
    assert node.store.head_position() == head, "a refused command wrote events"
    assert raised.value.message_vi and raised.value.message_en
    return raised.value
