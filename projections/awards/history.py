"""Pure derivations of what an applied award event adds: a history step and, for an approval, a registry entry."""

from __future__ import annotations

from datetime import date
from functools import singledispatch

from services.kernel.contracts import AwardDecided, AwardForwarded, AwardProposed, AwardReturned, OrgUnitRef
from services.kernel.events import Event
from services.kernel.vntime import business_day

from .evolve import unit_fields
from .rows import ConferredRow, ProposalRow, StepRow


def _step(
    event: Event, after: ProposalRow, action: str, src: OrgUnitRef, dst: OrgUnitRef | None, note: str | None = None
) -> StepRow:
    d = event.data
    return StepRow(
        proposal_id=after.proposal_id,
        seq=int(event.meta["stream_version"]),
        action=action,
        **unit_fields("from", src),
        **unit_fields("to", dst),
        holder_index=after.holder_index,
        occurred_at=event.occurred_at,
        note=note,
        decision_number=d.get("decision_number"),
        decision_date=d.get("decision_date"),
        actor_id=(event.meta.get("actor") or {}).get("actor_id"),
        event_id=event.event_id,
    )


@singledispatch
def step_of(event: Event, after: ProposalRow) -> StepRow | None:
    """The history step an applied event adds (None for events of other read models)."""
    return None


@step_of.register
def _proposed(event: AwardProposed, after: ProposalRow) -> StepRow:
    return _step(event, after, "PROPOSED", event.data["proposer"], after.route[0]["org_unit"])


@step_of.register
def _forwarded(event: AwardForwarded, after: ProposalRow) -> StepRow:
    return _step(event, after, "FORWARDED", event.data["from_unit"], event.data["to_unit"], event.data.get("note"))


@step_of.register
def _returned(event: AwardReturned, after: ProposalRow) -> StepRow:
    return _step(event, after, "RETURNED", event.data["from_unit"], event.data["to_unit"], event.data["reason"])


@step_of.register
def _decided(event: AwardDecided, after: ProposalRow) -> StepRow:
    return _step(event, after, event.data["outcome"], event.data["decider"], None, event.data.get("reason"))


def conferred_of(event: Event, after: ProposalRow) -> ConferredRow | None:
    """The registry entry of an approval (quyết định khen thưởng); None for anything else."""
    if not isinstance(event, AwardDecided) or after.state != "APPROVED":
        return None
    d = event.data
    day: date = d.get("decision_date") or business_day(event.occurred_at)  # else its business day in Vietnam
    return ConferredRow(
        proposal_id=after.proposal_id,
        decision_number=d.get("decision_number") or "",
        decision_date=day,
        decided_at=event.occurred_at,
        **unit_fields("decider", d["decider"]),
        decider_authority=after.decider_authority,
        form_code=after.form_code,
        occasion=after.occasion,
        plan_id=after.plan_id,
        nominee_kind=after.nominee_kind,
        nominee_name=after.nominee_name,
        nominee_code=after.nominee_code,
        nominee_path=after.nominee_path,
        nominee_unit_name=after.nominee_unit_name,
        event_id=event.event_id,
    )
