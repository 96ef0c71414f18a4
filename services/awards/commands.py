"""Commands of the awards context (đề nghị, trình, trả lại, quyết định khen thưởng)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class ProposeAward:
    """Propose an award form for a nominee; the route is computed from the authority matrix."""

    proposal_id: str
    proposer_path: str
    nominee_kind: str  # INDIVIDUAL (cá nhân), COLLECTIVE (tập thể), HOUSEHOLD (hộ gia đình)
    nominee_name: str
    nominee_path: str
    form_code: str
    occasion: str
    achievements: str
    occurred_at: datetime
    actor: Record
    plan_id: str | None = None


@dataclass(frozen=True)
class ForwardAward:
    """The level holding a proposal sends it to the next step of its route."""

    proposal_id: str
    acting_path: str
    occurred_at: datetime
    actor: Record
    note: str | None = None


@dataclass(frozen=True)
class ReturnAward:
    """The level holding a proposal returns it to the proposer with a reason."""

    proposal_id: str
    acting_path: str
    reason: str
    occurred_at: datetime
    actor: Record


@dataclass(frozen=True)
class DecideAward:
    """The deciding authority approves (decision number and date) or rejects (reason) a proposal."""

    proposal_id: str
    acting_path: str
    outcome: str  # APPROVED or REJECTED
    occurred_at: datetime
    actor: Record
    decision_number: str | None = None
    decision_date: date | None = None
    reason: str | None = None
