"""The message bus: one handler per command, each run in its own unit of work (cosmicpython's ``handle``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.awards import handlers as awards
from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.domain.deps import Deps
from services.kernel.events import Event
from services.kernel.store import EventStore
from services.kernel.uow import AbstractUnitOfWork, UnitOfWork
from services.planning import handlers as planning
from services.planning.commands import AmendPlan, AssignPlanNumber, IssueGuidance, IssuePlan, RegisterCriteria
from services.registry.commands import RegisterEmulationBloc, RegisterOrgUnit
from services.registry.handlers import register_emulation_bloc, register_org_unit
from services.reporting import handlers as reporting
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport

Handler = Callable[[Any, AbstractUnitOfWork, Deps], None]
HANDLERS: dict[type, Handler] = {
    RegisterOrgUnit: register_org_unit,
    RegisterEmulationBloc: register_emulation_bloc,
    IssuePlan: planning.issue_plan,
    AssignPlanNumber: planning.assign_plan_number,
    AmendPlan: planning.amend_plan,
    RegisterCriteria: planning.register_criteria,
    IssueGuidance: planning.issue_guidance,
    RegisterTargets: reporting.register_targets,
    SubmitReport: reporting.submit_report,
    ReviewReport: reporting.review_report,
    ProposeAward: awards.propose_award,
    ForwardAward: awards.forward_award,
    ReturnAward: awards.return_award,
    DecideAward: awards.decide_award,
}


@dataclass(frozen=True)
class CommandResult:
    """What a command appended: the stream, its version afterwards, the event ids and positions."""

    stream_id: str
    version: int
    event_ids: list[str]
    positions: list[int]


class Guard(Protocol):
    """Work an entry point runs inside a command's transaction (the HTTP API: access, If-Match, idempotency)."""

    def check(self, uow: UnitOfWork) -> None:
        """Before the handler, under the append lock; raising skips the command and writes nothing."""

    def commit(self, uow: UnitOfWork, result: CommandResult) -> None:
        """After the handler; what it writes commits with the events, or not at all."""


class MessageBus:
    """Runs commands: rules and appends of one command commit together or not at all."""

    def __init__(self, store: EventStore, deps: Deps, types: Mapping[str, type[Event]]) -> None:
        self.store = store
        self.deps = deps
        self.types = types
        self.after_commit: list[Callable[[], None]] = []

    def handle(self, command: Any, guard: Guard | None = None) -> CommandResult:
        """Run ``command``'s handler in a unit of work; domain refusals propagate and nothing is written.

        ``guard`` checks before the handler and writes after it, in the same transaction.
        """
        handler = HANDLERS[type(command)]
        with UnitOfWork(self.store, self.types) as uow:
            if guard is not None:
                guard.check(uow)
            handler(command, uow, self.deps)
            last = uow.results[-1]
            result = CommandResult(
                last.stream_id,
                last.version,
                [e for r in uow.results for e in r.event_ids],
                [p for r in uow.results for p in r.positions],
            )
            if guard is not None:
                guard.commit(uow, result)
        for hook in self.after_commit:
            hook()
        return result
