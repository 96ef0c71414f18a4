"""Run commands through the real handlers over the product's in-memory unit of work: the events the API would append.

Handlers run in :class:`services.kernel.uow.MemoryUnitOfWork` over ``GeneratorLog``, a ``MemoryLog`` that keeps
memory bounded as the history streams by: org units and reports are kept encoded (decoded when a handler reads
one), plans, criteria and award proposals decoded; the generator says when a report, registration or proposal is
complete (``CloseStreams``), and its stream and version are dropped then. What stays is about 1.7 KB per unit (its
encoded registration and stream version) and the plans. Every appended event is encoded by the store's own row
builder (``EventStore._row``) with a fixed clock and a seeded event id, so the rows are byte-identical from run to
run.
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
from services.domain.deps import Deps
from services.kernel.events import Event, decode_event
from services.kernel.store import AppendResult, EventStore, NewEvent
from services.kernel.uow import MemoryLog, MemoryUnitOfWork
from services.messagebus import HANDLERS

from .generator import CloseStreams, Scale, WalkAward, commands

DECODED = ("plan-", "criteria-", "award-")  # streams handlers read again, kept decoded (few)
ENCODED = ("orgunit-", "report-")  # read again but one per unit: kept as bodies, decoded on read
CLOSABLE = ("report-", "award-", "registration-")  # dropped at each CloseStreams
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


class GeneratorLog(MemoryLog):
    """The in-memory log the generator writes: versions, kept streams, lookups, the hash chain, and the appends and
    lookups of the command being run. The generator's commands are valid: a refusal is a defect that ends the run."""

    def __init__(self, store: EventStore, types: Mapping[str, type[Event]], seed: int) -> None:
        super().__init__(store.codec, types, store.node_id, clock=lambda: RECORDED_AT)
        self.store = EventStore(store.engine, store.codec, store.node_id, clock=lambda: RECORDED_AT)
        self.rng = random.Random(seed)
        self.versions: dict[str, int] = {}
        self.bodies: dict[str, list[tuple[bytes, int]]] = {}
        self.open: set[str] = set()  # closable streams appended since the last CloseStreams
        self.appends: list[Append] = []  # of the command being run
        self.recorded: list[tuple[str, str, str]] = []  # its lookups

    def version(self, stream_id: str) -> int:
        """Current version of a stream (kept after its events are dropped, until CloseStreams)."""
        return self.versions.get(stream_id, 0)

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup (and remember it as one of the command's)."""
        super().record(kind, key, ref)
        self.recorded.append((kind, key, ref))

    def append(self, stream_id: str, expected: int | None, events: Sequence[NewEvent]) -> AppendResult:
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
            if stream_id.startswith(DECODED):
                event = decode_event(row["body"], self.store.codec, self.types, self.position)
                self.streams.setdefault(stream_id, []).append(event)
            elif stream_id.startswith(ENCODED):
                self.bodies.setdefault(stream_id, []).append((row["body"], self.position))
        self.versions[stream_id] = version + len(news)
        if stream_id.startswith(CLOSABLE):
            self.open.add(stream_id)
        self.appends.append(Append(None, stream_id, version, news, rows))
        positions = list(range(self.position - len(rows) + 1, self.position + 1))
        return AppendResult(stream_id, version + len(news), positions, [n.event_id for n in news])

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a kept stream ([] for a stream that is not kept)."""
        if stream_id in self.bodies:
            return [decode_event(body, self.store.codec, self.types, at) for body, at in self.bodies[stream_id]]
        return list(self.streams.get(stream_id, ()))

    def close_streams(self) -> None:
        """Forget the closable streams appended since the last call (they are complete)."""
        for stream_id in self.open:
            for held in (self.streams, self.bodies, self.versions):
                held.pop(stream_id, None)
        self.open.clear()

    def held(self) -> int:
        """Streams held in memory (versions, decoded or encoded): bounded by units + one year's streams."""
        return len(self.versions) + len(self.streams) + len(self.bodies)


def run(commands: Iterator[Any], log: GeneratorLog, deps: Deps) -> Iterator[tuple[Any, list[Append]]]:
    """Execute each command with its real handler; yield (command, its appends). ``WalkAward`` expands into
    the ``ForwardAward`` commands of the proposal's route; ``CloseStreams`` lets the log forget."""
    for command in commands:
        if isinstance(command, CloseStreams):
            log.close_streams()
            continue
        if isinstance(command, WalkAward):
            yield from _walk(command, log, deps)
            continue
        yield command, _execute(command, log, deps)


def _execute(command: Any, log: GeneratorLog, deps: Deps) -> list[Append]:
    log.appends, log.recorded = [], []
    with MemoryUnitOfWork(log) as uow:
        HANDLERS[type(command)](command, uow, deps)
    appends = log.appends
    if appends:
        appends[0] = replace(appends[0], command=command, lookups=log.recorded)
    return appends


def _walk(walk: WalkAward, log: GeneratorLog, deps: Deps) -> Iterator[tuple[Any, list[Append]]]:
    while True:
        proposal = fold_award(log.stream(f"award-{walk.proposal_id}"))
        assert proposal is not None, walk.proposal_id
        if proposal.current_step["role"] == "DECIDE":
            return
        command = ForwardAward(
            walk.proposal_id,
            proposal.current_step["org_unit"]["path"],
            walk.occurred_at,
            {
                "actor_id": "bench-generator",
                "kind": "SYSTEM",
                "display_name": None,
                "org_unit_path": None,
                "roles": ["operator"],
            },
        )
        yield command, _execute(command, log, deps)


def history(scale: Scale, node: Any, log: GeneratorLog | None = None) -> Iterator[tuple[Any, list[Append]]]:
    """The whole generated history of ``scale`` for a bootstrapped ``node`` (its store only encodes)."""
    log = log or GeneratorLog(node.store, node.bus.types, scale.seed)
    return run(commands(scale, node.official_units), log, node.bus.deps)
