"""The message bus: one handler per command, each run in its own unit of work (cosmicpython's ``handle``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.awards import handlers as awards
from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.domain.deps import Deps
from services.kernel.errors import StaleRead
from services.kernel.events import Event
from services.kernel.store import EventStore
from services.kernel.uow import AbstractUnitOfWork, UnitOfWork
from services.planning import handlers as planning
from services.planning.commands import AmendPlan, AssignPlanNumber, IssueGuidance, IssuePlan, RegisterCriteria
from services.registry.commands import RegisterEmulationBloc, RegisterOrgUnit
from services.registry.handlers import register_emulation_bloc, register_org_unit
from services.reporting import handlers as reporting
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport

OPTIMISTIC_TRIES = 3  # decisions on a state that moved before the lock, before one under the lock from the start
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
        """Before the handler (before the append lock: ``uow.lock()`` takes it); raising skips the command and writes
        nothing."""

    def commit(self, uow: UnitOfWork, result: CommandResult) -> None:
        """After the handler, under the append lock; what it writes commits with the events, or not at all."""


class MessageBus:
    """Runs commands: rules and appends of one command commit together or not at all."""

    def __init__(self, store: EventStore, deps: Deps, types: Mapping[str, type[Event]]) -> None:
        self.store = store
        self.deps = deps
        self.types = types
        self.after_commit: list[Callable[[], None]] = []
        self.stale_reads = 0  # commands decided again because a stream they read moved before the lock

    def handle(self, command: Any, guard: Guard | None = None) -> CommandResult:
        """Run ``command``'s handler in a unit of work; domain refusals propagate and nothing is written.

        ``guard`` checks before the handler and writes after it, in the same transaction. The command is decided
        optimistically (``UnitOfWork``): when a stream it read moved before its write took the append lock, it is
        decided again on the new state, up to ``OPTIMISTIC_TRIES`` times, then once more holding the lock from the
        start (a command always ends: written, or refused on the state it was decided on).
        """
        handler = HANDLERS[type(command)]
        for attempt in range(OPTIMISTIC_TRIES + 1):
            try:
                result = self._decide(handler, command, guard, optimistic=attempt < OPTIMISTIC_TRIES)
            except StaleRead:
                self.stale_reads += 1
                continue
            for hook in self.after_commit:
                hook()
            return result
        raise AssertionError("the last try holds the lock from the start: it cannot read a stale stream")

    def _decide(self, handler: Handler, command: Any, guard: Guard | None, *, optimistic: bool) -> CommandResult:
        with UnitOfWork(self.store, self.types, optimistic=optimistic) as uow:
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
        return result
