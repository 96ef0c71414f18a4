"""A node with the seed plans and a handful of units, for the domain tests and the demo checks."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.bootstrap import Node
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
