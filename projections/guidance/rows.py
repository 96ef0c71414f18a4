"""Rows of the guidance read model, one frozen dataclass per table, and how events name them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.kernel.contracts import IndicatorValue

_SCALARS = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO strings and mappings as dicts, ready for a JSON column."""
    kind = type(value)
    if kind in _SCALARS:  # most leaves: no abstract-class checks
        return value
    if kind is dict:  # leaves inline: a call per scalar costs more than the check
        return {k: v if type(v) in _SCALARS else jsonable(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class UnitRow:
    """A registered unit's attributes (đơn vị) that decide which duties and criteria apply to it."""

    path: str
    code: str
    level: str
    unit_kind: str
    name: str
    subject_category: str | None
    emulation_bloc: str | None
    agency_type: str | None
    version: int


@dataclass(frozen=True)
class BlocRow:
    """A khối or cụm thi đua of a province and its members (the latest definition)."""

    bloc_code: str
    province_path: str
    kind: str
    name: str
    members: list[str]
    version: int


@dataclass(frozen=True)
class PlanRow:
    """A plan (kế hoạch) with what it asks of the units below its issuer."""

    plan_id: str
    issuer_path: str
    issuer: dict[str, Any]
    document_number: str | None
    document_symbol: str
    issue_date: date | None
    title: str
    implements: list[str]
    phases: list[dict[str, Any]]
    duties: list[dict[str, Any]]
    award_forms: list[dict[str, Any]]
    plan_deadline: date | None
    period: dict[str, Any] | None
    amendments: int
    version: int


@dataclass(frozen=True)
class CriteriaRow:
    """A criteria set (bộ tiêu chí) of a plan for one subject category (đối tượng)."""

    criteria_id: str
    plan_id: str
    subject_category: str
    owner: dict[str, Any]
    items: list[dict[str, Any]]
    version: int


@dataclass(frozen=True)
class TargetRow:
    """A unit's latest registration (đăng ký thi đua) for a plan and year."""

    unit_path: str
    plan_id: str
    year: int
    registration_id: str
    targets: list[IndicatorValue]  # as decoded: no dates in them, already JSON
    registered_at: datetime
    version: int


@dataclass(frozen=True)
class ReportRow:
    """The latest version of a unit's report (báo cáo) for a plan and period, and its review."""

    report_id: str
    unit_path: str
    plan_id: str
    period: str
    duty_code: str | None
    deadline: date | None
    report_version: int
    late: bool
    submitted_at: datetime
    outcome: str | None
    reviewed_at: datetime | None
    version: int


@dataclass(frozen=True)
class DocumentRow:
    """A guidance document (văn bản hướng dẫn) and the subtrees it is addressed to."""

    guidance_id: str
    issuer: dict[str, Any]
    title: str
    document_number: str | None
    issue_date: date | None
    summary: str | None
    addressed_to: list[str]
    issued_at: datetime
    version: int


Row = UnitRow | BlocRow | PlanRow | CriteriaRow | TargetRow | ReportRow | DocumentRow
