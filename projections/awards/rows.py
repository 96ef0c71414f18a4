"""Rows of the award pipeline read model, as the pure ``evolve`` produces them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from services.kernel.contracts import DomainWarning, PrerequisiteCheck, RouteStep


@dataclass(frozen=True)
class ProposalRow:
    """One proposal (đề nghị khen thưởng) as the pipeline shows it: route, holder, state and since when."""

    proposal_id: str
    plan_id: str | None
    form_code: str
    occasion: str
    nominee_kind: str
    nominee_name: str
    nominee_code: str
    nominee_path: str
    nominee_unit_name: str | None
    proposer_code: str
    proposer_path: str
    proposer_name: str | None
    achievements: str
    route: list[RouteStep]
    decider_code: str
    decider_path: str
    decider_name: str | None
    decider_authority: str | None
    proposed_at: datetime
    holder_index: int
    holder_code: str
    holder_path: str
    holder_name: str | None
    holder_level: str
    holder_role: str
    holder_authority: str | None
    held_since: datetime
    state: str
    state_entered_at: datetime
    decision_number: str | None = None
    decision_date: date | None = None
    closing_reason: str | None = None
    prerequisites: list[PrerequisiteCheck] = field(default_factory=list)
    warnings: list[DomainWarning] = field(default_factory=list)
    version: int = 0
    event_id: str = ""
    occasion_period: str | None = None  # the plan's sơ kết / tổng kết it belongs to, e.g. SO_KET_2027


@dataclass(frozen=True)
class StepRow:
    """One step of a proposal's history (lịch sử xử lý): who sent it where, when, and why."""

    proposal_id: str
    seq: int
    action: str
    from_code: str
    from_path: str
    from_name: str | None
    to_code: str | None
    to_path: str | None
    to_name: str | None
    holder_index: int
    occurred_at: datetime
    note: str | None
    decision_number: str | None
    decision_date: date | None
    actor_id: str | None
    event_id: str


@dataclass(frozen=True)
class ConferredRow:
    """An entry of the registry of conferred awards (sổ khen thưởng)."""

    proposal_id: str
    decision_number: str
    decision_date: date
    decided_at: datetime
    decider_code: str
    decider_path: str
    decider_name: str | None
    decider_authority: str | None
    form_code: str
    occasion: str
    plan_id: str | None
    nominee_kind: str
    nominee_name: str
    nominee_code: str
    nominee_path: str
    nominee_unit_name: str | None
    event_id: str
