"""Run commands through the real handlers over an in-memory unit of work: the events the API would append.

``MemoryUnitOfWork`` has the interface of :class:`services.kernel.uow.UnitOfWork` (stream, version, append,
lookup, record); streams the handlers read again (org units, plans, reports, awards) are kept decoded, others
only by version. Every appended event is encoded by the store's own row builder (``EventStore._row``) with a
fixed clock and a seeded event id, so the rows are byte-identical from run to run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from services.awards.commands import ForwardAward
from services.awards.model import fold as fold_award
from services.deps import Deps
from services.kernel.events import Event, decode_event
from services.kernel.store import GENESIS_HASH, AppendResult, EventStore, NewEvent
from services.messagebus import HANDLERS
from services.reporting.commands import RegisterTargets

from .generator import Scale, WalkAward, commands

KEPT = ("orgunit-", "plan-", "criteria-", "report-", "award-")
RECORDED_AT = datetime(2031, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Append:
    """One append of one command: the stream, its expected version, the events and their store rows."""

    command: Any
    stream_id: str
    expected_version: int
    events: list[NewEvent]
    rows: list[dict[str, Any]]
    lookups: list[tuple[str, str, str]] = field(default_factory=list)


class MemoryUnitOfWork:
    """The unit of work of one command, over an in-memory log (see the module docstring)."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.appends: list[Append] = []
        self.results: list[AppendResult] = []
        self.lookups: list[tuple[str, str, str]] = []

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a kept stream ([] for a stream that is not kept)."""
        return list(self.log.streams.get(stream_id, ()))

    def version(self, stream_id: str) -> int:
        """Current version of a stream."""
        return self.log.versions.get(stream_id, 0)

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append to the in-memory log (the same version rule as the store)."""
        return self.log.append(self, stream_id, expected_version, events)

    def lookup(self, kind: str, key: str) -> list[str]:
        """Refs recorded under (kind, key)."""
        return list(self.log.lookups.get((kind, key), ()))

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup."""
        self.log.lookups.setdefault((kind, key), []).append(ref)
        self.lookups.append((kind, key, ref))


class MemoryLog:
    """The in-memory log the generator writes: versions, kept streams, lookups, the hash chain."""

    def __init__(self, store: EventStore, types: Mapping[str, type[Event]], seed: int) -> None:
        self.store = EventStore(store.engine, store.codec, store.node_id, clock=lambda: RECORDED_AT)
        self.types = types
        self.rng = random.Random(seed)
        self.versions: dict[str, int] = {}
        self.streams: dict[str, list[Event]] = {}
        self.lookups: dict[tuple[str, str], list[str]] = {}
        self.prev = GENESIS_HASH
        self.position = 0

    def append(
        self, uow: MemoryUnitOfWork, stream_id: str, expected: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """Check the version, encode the rows, keep what handlers read again."""
        version = self.versions.get(stream_id, 0)
        if expected is not None and expected != version:
            raise AssertionError(f"generator produced a conflict on {stream_id}: {expected} != {version}")
        news = [replace(e, event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4))) for e in events]
        rows = []
        for offset, new in enumerate(news, start=1):
            row = self.store._row(stream_id, version + offset, new, self.prev)
            self.prev = row["hash"]
            self.position += 1
            rows.append(row)
            if stream_id.startswith(KEPT):
                event = decode_event(row["body"], self.store.codec, self.types, self.position)
                self.streams.setdefault(stream_id, []).append(event)
        self.versions[stream_id] = version + len(news)
        uow.appends.append(Append(None, stream_id, version, news, rows))
        positions = list(range(self.position - len(rows) + 1, self.position + 1))
        result = AppendResult(stream_id, version + len(news), positions, [n.event_id for n in news])
        uow.results.append(result)
        return result

    def forget_reports(self) -> None:
        """Drop decoded report streams (a year is closed: nobody reads them again)."""
        for key in [k for k in self.streams if k.startswith("report-")]:
            del self.streams[key]


def run(commands: Iterator[Any], log: MemoryLog, deps: Deps) -> Iterator[tuple[Any, list[Append]]]:
    """Execute each command with its real handler; yield (command, its appends). ``WalkAward`` expands into
    the ``ForwardAward`` commands of the proposal's route."""
    year = None
    for command in commands:
        if isinstance(command, RegisterTargets) and command.year != year:
            year = command.year
            log.forget_reports()
        if isinstance(command, WalkAward):
            yield from _walk(command, log, deps)
            continue
        yield command, _execute(command, log, deps)


def _execute(command: Any, log: MemoryLog, deps: Deps) -> list[Append]:
    uow = MemoryUnitOfWork(log)
    HANDLERS[type(command)](command, uow, deps)  # type: ignore[arg-type]
    if uow.appends:
        first = uow.appends[0]
        uow.appends[0] = replace(first, command=command, lookups=uow.lookups)
    return uow.appends


def _walk(walk: WalkAward, log: MemoryLog, deps: Deps) -> Iterator[tuple[Any, list[Append]]]:
    while True:
        proposal = fold_award(log.streams.get(f"award-{walk.proposal_id}", []))
        assert proposal is not None, walk.proposal_id
        if proposal.current_step["role"] == "DECIDE":
            return
        command = ForwardAward(walk.proposal_id, proposal.current_step["org_unit"]["path"], walk.occurred_at,
                               {"actor_id": "bench-generator", "kind": "SYSTEM", "display_name": None,
                                "org_unit_path": None, "roles": ["operator"]})  # fmt: skip
        yield command, _execute(command, log, deps)


def history(scale: Scale, node: Any) -> Iterator[tuple[Any, list[Append]]]:
    """The whole generated history of ``scale`` for a bootstrapped ``node`` (its store only encodes)."""
    log = MemoryLog(node.store, node.bus.types, scale.seed)
    return run(commands(scale, node.official_units), log, node.bus.deps)
