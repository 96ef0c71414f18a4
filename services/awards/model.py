"""The award-proposal aggregate: route, current holder and state, folded from its stream."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import singledispatch

from services.kernel.contracts import AwardDecided, AwardForwarded, AwardProposed, AwardReturned, Nominee, RouteStep
from services.kernel.events import Event, fold_events

from .lawtables import load_occasion_rules


def award_type(occasion: str) -> str:
    """The award type (loại hình, Law Art. 8) of an occasion: MERIT, MOVEMENT or AD_HOC (``occasions.csv``)."""
    return str(load_occasion_rules().award_type(occasion))


def proposal_stream(proposal_id: str) -> str:
    """Stream id of a proposal."""
    return f"award-{proposal_id}"


def nominee_key(kind: str, name: str, org_unit_path: str) -> str:
    """Who an award is for, independent of the proposal: a collective is its unit; a person has a name too."""
    if kind == "COLLECTIVE":
        return org_unit_path
    return f"{org_unit_path}#{kind}:{name.casefold()}"


@dataclass(frozen=True)
class Proposal:
    """State of a proposal: PENDING at ``route[holder]`` (the proposer first), or RETURNED, APPROVED, REJECTED."""

    proposal_id: str
    form_code: str
    occasion: str
    nominee: Nominee
    route: list[RouteStep]
    holder: int
    state: str
    version: int

    @property
    def current_step(self) -> RouteStep:
        """The route step holding the proposal."""
        return self.route[self.holder]


@singledispatch
def evolve(event: Event, proposal: Proposal | None) -> Proposal | None:
    """Other events leave the proposal as it is."""
    return proposal


@evolve.register
def _proposed(event: AwardProposed, proposal: Proposal | None) -> Proposal:
    d = event.data
    return Proposal(
        d["proposal_id"],
        d["form_code"],
        d["occasion"],
        d["nominee"],
        list(d["route"]),
        0,
        "PENDING",
        event.meta["stream_version"],
    )


@evolve.register
def _forwarded(event: AwardForwarded, proposal: Proposal | None) -> Proposal:
    assert proposal is not None
    return replace(proposal, holder=proposal.holder + 1, version=event.meta["stream_version"])


@evolve.register
def _returned(event: AwardReturned, proposal: Proposal | None) -> Proposal:
    assert proposal is not None
    return replace(proposal, state="RETURNED", version=event.meta["stream_version"])


@evolve.register
def _decided(event: AwardDecided, proposal: Proposal | None) -> Proposal:
    assert proposal is not None
    return replace(proposal, state=event.data["outcome"], version=event.meta["stream_version"])


def fold(events: list[Event]) -> Proposal | None:
    """The proposal after its events (None if it does not exist)."""
    return fold_events(evolve, events)
