"""Commands of the planning context: plans (kế hoạch), criteria (tiêu chí) and guidance (hướng dẫn)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class IssuePlan:
    """Issue a plan (or record a draft: no number and date yet) implementing parent plans."""

    plan_id: str
    issuer_path: str
    document_symbol: str
    title: str
    occurred_at: datetime
    actor: Record
    document_number: str | None = None
    issue_date: date | None = None
    signer_name: str | None = None
    signer_capacity: str | None = None
    implements: tuple[str, ...] = ()
    phases: tuple[Record, ...] = ()
    content_areas: tuple[Record, ...] = ()
    reporting_duties: tuple[Record, ...] = ()
    award_forms: tuple[Record, ...] = ()
    criteria_owners: tuple[str, ...] = ()
    plan_deadline: date | None = None
    warnings: tuple[Record, ...] = ()
    period: Record | None = None  # the movement's span as stated: start_date, end_date, date_precision, source_text
    issuer_name: str | None = None  # the issuer as the document prints it ("Ủy ban nhân dân thành phố Đồng Nai")
    references: tuple[Record, ...] = ()  # cited documents and linked movements (DocumentReference)


@dataclass(frozen=True)
class AssignPlanNumber:
    """Give a draft plan its document number and issue date."""

    plan_id: str
    document_number: str
    issue_date: date
    occurred_at: datetime
    actor: Record


@dataclass(frozen=True)
class AmendPlan:
    """Amend a plan; amendments are numbered and keep history."""

    plan_id: str
    reason: str
    occurred_at: datetime
    actor: Record
    document_number: str | None = None
    issue_date: date | None = None
    title: str | None = None
    phases: tuple[Record, ...] | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class RegisterCriteria:
    """Register a criteria set with measurable indicators for a plan."""

    criteria_id: str
    plan_id: str
    owner_path: str
    subject_category: str
    occurred_at: datetime
    actor: Record
    items: tuple[Record, ...] = ()
    warnings: tuple[Record, ...] = field(default=())


@dataclass(frozen=True)
class IssueGuidance:
    """Issue a guidance document to one or more subtrees."""

    guidance_id: str
    issuer_path: str
    title: str
    addressed_to: tuple[str, ...]
    occurred_at: datetime
    actor: Record
    document_number: str | None = None
    issue_date: date | None = None
    summary: str | None = None
