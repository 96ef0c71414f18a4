"""Rows of the plans read model, as the pure ``evolve`` produces them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

Json = list[dict[str, Any]]


@dataclass(frozen=True)
class PlanRow:
    """One plan (kế hoạch) with what it says: document, issuer, phases, duties, award forms, warnings."""

    plan_id: str
    issuer_code: str
    issuer_path: str
    issuer_level: str
    issuer_name: str | None
    issuer_name_printed: str | None
    document_number: str | None
    document_symbol: str
    issue_date: date | None
    title: str
    signer_name: str | None
    signer_capacity: str | None
    status: str
    plan_deadline: date | None
    registered_at: datetime
    numbered_at: datetime | None
    amended_at: datetime | None
    amendments: int
    implements: list[str]
    phases: Json
    content_areas: Json
    duties: Json
    award_forms: Json
    criteria_owners: list[str]
    warnings: Json
    warning_count: int
    period: dict[str, Any] | None
    document_references: Json
    version: int
    event_id: str


@dataclass(frozen=True)
class ParentRow:
    """The plan implements ``parent_id`` (thực hiện kế hoạch cấp trên)."""

    plan_id: str
    parent_id: str
    ordinal: int


@dataclass(frozen=True)
class AmendmentRow:
    """One amendment (sửa đổi, bổ sung) of a plan, kept as history."""

    plan_id: str
    amendment_no: int
    reason: str
    document_number: str | None
    issue_date: date | None
    title: str | None
    phases: Json | None
    occurred_at: datetime
    event_id: str


@dataclass(frozen=True)
class CriteriaRow:
    """A criteria set (bộ tiêu chí) of a plan with its items, indicators and warnings."""

    plan_id: str
    criteria_id: str
    seq: int
    owner_code: str
    owner_path: str
    owner_name: str | None
    subject_category: str
    items: Json
    indicator_count: int
    warnings: Json
    warning_count: int
    occurred_at: datetime
    event_id: str


Fact = ParentRow | AmendmentRow | CriteriaRow
