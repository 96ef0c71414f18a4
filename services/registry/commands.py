"""Commands of the registry context (in-process, plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class RegisterOrgUnit:
    """Register a unit (đơn vị) under an official province/commune or under another unit."""

    parent_path: str
    code: str
    name: str
    unit_kind: str
    occurred_at: datetime
    actor: dict[str, object]
    subject_category: str | None = None
    emulation_bloc: str | None = None  # code of a registered khối/cụm thi đua of the unit's province
    valid_from: date | None = None
    event_id: str | None = None
    correlation_id: str | None = None
    agency_type: str | None = None  # cơ quan chuyên môn it is (agency_types.csv): SO_NOI_VU, PHONG_VHXH…


@dataclass(frozen=True)
class RegisterEmulationBloc:
    """Register (or redefine) a khối or cụm thi đua of a province and its members: reference data duties bind by."""

    bloc_code: str
    province_path: str
    kind: str  # KHOI (khối thi đua) or CUM (cụm thi đua)
    name: str
    members: tuple[str, ...]
    occurred_at: datetime
    actor: dict[str, object]
    source_document: str | None = None
