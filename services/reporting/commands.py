"""Commands of the reporting context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class RegisterTargets:
    """A unit registers for a plan and year with its own target per indicator (đăng ký thi đua)."""

    registration_id: str
    plan_id: str
    unit_path: str
    year: int
    targets: tuple[Record, ...]
    occurred_at: datetime
    actor: Record


@dataclass(frozen=True)
class SubmitReport:
    """A unit submits (or, after a return, resubmits) its report for a plan and period."""

    plan_id: str
    unit_path: str
    period: str
    occurred_at: datetime
    actor: Record
    values: tuple[Record, ...] = ()
    narrative: str | None = None
    attachments: tuple[str, ...] = ()
    initiatives: tuple[str, ...] = ()  # mô hình, sáng kiến


@dataclass(frozen=True)
class ReviewReport:
    """The receiving level accepts or returns (with a reason) the latest version of a report."""

    report_id: str
    reviewer_path: str
    outcome: str
    occurred_at: datetime
    actor: Record
    reason: str | None = None
