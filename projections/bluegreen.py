"""Blue/green builds of read models: a new version is built from the store into ``next_`` tables while the live
version keeps answering queries, then switched in atomically once it has caught up, and the old tables dropped.

* **Claim.** One process builds a read model at a time: it holds a lease in ``readmodel_build`` (renewed with every
  batch). Another process takes over when the lease has expired and carries on from the position recorded there,
  which is written in the same transaction as the new tables' rows (a build survives a crash).
* **Build.** The read model's own code runs unchanged on a connection that rewrites its table names
  (``projections.shadow``), batch by batch, from the store.
* **Switch.** One transaction, under the store's append lock (no event can commit meanwhile): apply the last
  events, drop the old version's tables, rename the new ones to the live names, record the version and the
  position reached (``readmodel_version``), set the embedded tail's position, and hand the Kafka workers their
  start: this read model's offsets become the furthest any read model has recorded, and records at or below the
  position are skipped (``built_through``). Every event is applied exactly once to the new version, by the build or
  by a runner after it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.kernel.codec import AvroCodec
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore, StoredEvent, utcnow

from . import scan, tracking, versions
from .base import Projection, from_scratch
from .shadow import (
    create_deferred,
    drop_shadows,
    prepare_shadows,
    promote,
    shadow_connection,
    shadows_exist,
    verbatim,
)
from .versions import Version, readmodel_build

log = logging.getLogger(__name__)
PREFIX = "next_"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LostLease(RuntimeError):
    """Another process took the build over (this one was too slow to renew its lease)."""


@dataclass(frozen=True)
class Switched:
    """A version switched in: the store position it had applied, events applied by the build, its duration."""

    projection: str
    version: Version
    position: int
    events: int
    seconds: float


def owner_id() -> str:
    """This process and thread, as recorded in a build's lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Builder:
    """Builds read-model versions beside the live ones and switches them in."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        codec: AvroCodec,
        types: Mapping[str, type[Event]],
        batch_size: int = 2000,
        lease_seconds: float = 60.0,
    ) -> None:
        self.engine = engine
        self.store = store
        self.codec = codec
        self.types = types
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = owner_id()

    # --- the whole build ---------------------------------------------------------------------------------------

    def build(self, projection: Projection, stop: threading.Event | None = None) -> Switched | None:
        """Build the code's version of ``projection`` and switch it in; None when another process holds the build
        or ``stop`` was set (the build is left for a later call, here or elsewhere, to carry on)."""
        done = self.build_many([projection], stop)
        return done[0] if done else None

    def build_many(self, projections: Sequence[Projection], stop: threading.Event | None = None) -> list[Switched]:
        """Build the code's versions of ``projections`` together and switch each in: the store is read and decoded
        once for all of them (each reads only its ``event_types``). Those another process holds are left out; on
        ``stop`` nothing is switched (the builds are left for a later call to carry on).

        Read models built from scratch that declare the same order-free ``apply_first`` read the store up to its
        head in that order (each unit's events together), the others in position order; then every build catches
        up in position order and is switched in. A build read in the order-free order records no position until
        that read is complete (a crash before then starts it again)."""
        started = time.monotonic()
        self._check_store()
        builds = [b for p in projections if (b := self._claimed(p)) is not None]
        if not builds:
            return []
        try:
            with shadow_connection(self.engine, [b.projection for b in builds], PREFIX) as conn:
                first, ordered = _order_free(b for b in builds if b.position == 0)
                rest = [b for b in builds if all(b is not o for o in ordered)]
                if ordered and not self._bulk(conn, ordered, stop, first):
                    raise _Stopped
                if not all(self._catch_up(conn, group, stop) for group in (rest, builds) if group):
                    raise _Stopped  # the others first (only their events), then all of them from where they are
                create_deferred(self.engine, [b.projection for b in builds], PREFIX)
                done = []
                for b in builds:
                    position, events = self.switch(b.projection, PREFIX, b.position, conn, b.events)
                    seconds = time.monotonic() - started
                    done.append(Switched(b.projection.name, b.version, position, events, seconds))
                return done
        except _Stopped:
            pass
        except BaseException:
            self._release_all(builds)
            raise
        self._release_all(builds)  # stopped: the next process (or this one) carries on without waiting
        return []

    def _claimed(self, projection: Projection) -> _Build | None:
        version = versions.code_version(projection)
        claimed = self.claim(projection, version)
        return None if claimed is None else _Build(projection, version, *claimed)

    def _bulk(
        self, conn: Connection, builds: Sequence[_Build], stop: threading.Event | None, first: frozenset[str] | None
    ) -> bool:
        """Apply every event up to the store's head to ``builds`` (from scratch) in the order-free order ``first``;
        their positions are recorded once all is read. False when stopped."""
        head = self.store.head_position()
        types = _types_of(b.projection for b in builds)
        with from_scratch([b.projection for b in builds]) as finish:
            for rows in scan.scoped_batches(self.engine, types, "", 0, head, self.batch_size, first):
                if stop is not None and stop.is_set():
                    return False
                events = [decode_event(body, self.codec, self.types, position) for position, body in rows]
                with conn.begin():
                    self._apply_due(conn, builds, events, ordered=True)
                # Freed now by their counts: held until the collector resumes at the end of the build, the last
                # batch (the whole history at 15 k events) was walked by its first collection, ~3 % of the build.
                del rows, events
            with conn.begin():
                finish(conn)  # what the builds held in memory (the rollup's rows), with their positions
                for b in builds:
                    b.position = head
                    self._renew(conn, b.projection, head, b.events)
        return True

    def _catch_up(self, conn: Connection, builds: Sequence[_Build], stop: threading.Event | None) -> bool:
        """Apply the events of the builds' types after their positions, in position order, until a batch comes
        back short (the switch applies the rest under the append lock). False when stopped."""
        types = _types_of(b.projection for b in builds)
        while stop is None or not stop.is_set():
            head = self.store.head_position()  # positions commit in order: every event up to it is readable
            after = min(b.position for b in builds)
            batch = self.store.read_all(after, self.batch_size, types=None if types is None else sorted(types))
            if batch:
                events = [decode_event(s.body, self.codec, self.types, s.position) for s in batch]
                with conn.begin():
                    self._apply_due(conn, builds, events, ordered=False)
            if len(batch) < self.batch_size:
                for b in builds:  # every event of their types up to the head is applied: none is read again
                    b.position = max(b.position, head)
                return True
        return False

    def _apply_due(self, conn: Connection, builds: Sequence[_Build], events: Sequence[Event], ordered: bool) -> None:
        """Apply ``events`` to each build (in position order: those after its position) and renew its lease (read
        in an order-free order, its position stays where it was until that read is complete)."""
        for b in builds:
            mine = [e for e in events if ordered or e.position > b.position]
            if mine:
                b.projection.apply(conn, mine)
                b.events += len(mine)
                if not ordered:
                    b.position = mine[-1].position
            self._renew(conn, b.projection, b.position, b.events)

    def _release_all(self, builds: Sequence[_Build]) -> None:
        for b in builds:
            self._release(b.projection)

    def claim(self, projection: Projection, version: Version) -> tuple[int, int] | None:
        """Take the build's lease; return where the new tables stand (position, events), prepared empty unless a
        build of the same version can be carried on; None when another process holds a live lease."""
        now = utcnow()
        with self.engine.begin() as conn:
            placeholder = {
                "projection": projection.name,
                "version": version.number,
                "fingerprint": version.fingerprint,
                "prefix": PREFIX,
                "position": 0,
                "events": 0,
                "owner": "",
                "lease_until": EPOCH,
                "started_at": now,
                "updated_at": now,
            }
            insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert_(readmodel_build).values(placeholder).on_conflict_do_nothing())
            query = select(readmodel_build).where(readmodel_build.c.projection == projection.name)
            row = conn.execute(query.with_for_update() if conn.dialect.name == "postgresql" else query).one()
            if row.owner not in ("", self.owner) and _aware(row.lease_until) > now:
                return None
            same = (row.version, row.fingerprint, row.prefix) == (version.number, version.fingerprint, PREFIX)
            resume = same and row.position > 0 and shadows_exist(conn, projection, PREFIX)
            values = {"owner": self.owner, "lease_until": now + self.lease, "updated_at": now}
            if not resume:
                values |= {k: placeholder[k] for k in ("version", "fingerprint", "position", "events", "started_at")}
            conn.execute(update(readmodel_build).where(readmodel_build.c.projection == projection.name).values(values))
        if resume:
            log.info("carrying on the build of %s %s from position %d", projection.name, version, row.position)
            return int(row.position), int(row.events)
        prepare_shadows(self.engine, [projection], PREFIX, defer=True)
        log.info("building %s %s beside the live version", projection.name, version)
        return 0, 0

    # --- the switch ----------------------------------------------------------------------------------------------

    def switch_in(self, projection: Projection, prefix: str, position: int) -> int:
        """Switch in tables ``prefix``… that hold the code's version of ``projection`` up to ``position`` (a replay
        into shadow tables); return the position reached."""
        with shadow_connection(self.engine, [projection], prefix) as conn:
            return self.switch(projection, prefix, position, conn)[0]

    def switch(
        self, projection: Projection, prefix: str, position: int, conn: Connection, events: int = 0
    ) -> tuple[int, int]:
        """In one transaction on ``conn`` (a shadow connection for ``prefix``), under the append lock: apply the
        events after ``position``, replace the live tables by the ``prefix`` ones, record the version and hand the
        runners the position reached. Return (position, events applied)."""
        version = versions.code_version(projection)
        with conn.begin():
            self.store.lock(conn)
            if conn.dialect.name == "postgresql":  # readers of the old tables hold the DDL back; appends wait for it
                verbatim(conn, "SET LOCAL lock_timeout = '5s'")
            while batch := self.store.read_all(position, self.batch_size, conn):
                self._apply(conn, projection, batch)
                position, events = batch[-1].position, events + len(batch)
            self._check_lease(conn, projection, prefix)
            tracking.set_position(conn, projection.name, position)
            promote(conn, projection, prefix, retired_tables(conn, projection))
            versions.record(conn, projection, version, built_through=position)
            hand_over_kafka(conn, projection.name)
            conn.execute(delete(readmodel_build).where(readmodel_build.c.projection == projection.name))
        log.info("switched %s to %s at position %d", projection.name, version, position)
        return position, events

    def forget_builds(self, projections: Sequence[Projection]) -> None:
        """Drop the unfinished builds left of read models whose live tables hold the code's version (a release
        rolled back during a build), once their lease has expired."""
        with self.engine.begin() as conn:
            names = [p.name for p in projections]
            rows = conn.execute(select(readmodel_build).where(readmodel_build.c.projection.in_(names))).all()
            left = {r.projection for r in rows if _aware(r.lease_until) <= utcnow()}
            conn.execute(delete(readmodel_build).where(readmodel_build.c.projection.in_(left)))
        for projection in projections:
            if projection.name in left:
                drop_shadows(self.engine, projection, PREFIX)

    # --- pieces ------------------------------------------------------------------------------------------------

    def _check_store(self) -> None:
        """Refuse to build from an empty store while read models here were fed from Kafka (a read-model database
        without the event store): the new version would miss the whole history."""
        if self.store.head_position() > 0:
            return
        with self.engine.connect() as conn:
            fed = conn.execute(select(func.max(tracking.projection_kafka_offset.c.offset))).scalar()
        if fed is not None and fed >= 0:
            raise RuntimeError(
                "this database has no event store but its read models come from Kafka: rebuild them from the topics "
                "(thidua replay --source kafka --projection NAME --swap)"
            )

    def _apply(self, conn: Connection, projection: Projection, batch: Sequence[StoredEvent]) -> None:
        projection.apply(conn, [decode_event(s.body, self.codec, self.types, s.position) for s in batch])

    def _release(self, projection: Projection) -> None:
        """Give the lease up (the position stays: whoever builds next carries on from it)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(readmodel_build)
                .where(readmodel_build.c.projection == projection.name, readmodel_build.c.owner == self.owner)
                .values(lease_until=EPOCH, updated_at=utcnow())
            )

    def _renew(self, conn: Connection, projection: Projection, position: int, events: int) -> None:
        now = utcnow()
        moved = conn.execute(
            update(readmodel_build)
            .where(readmodel_build.c.projection == projection.name, readmodel_build.c.owner == self.owner)
            .values(position=position, events=events, lease_until=now + self.lease, updated_at=now)
        ).rowcount
        if moved != 1:
            raise LostLease(f"the build of {projection.name} was taken over by another process")

    def _check_lease(self, conn: Connection, projection: Projection, prefix: str) -> None:
        """A build (prefix ``next_``) must still hold its lease; another prefix (a replay) must not collide with
        a build whose lease is alive."""
        row = conn.execute(select(readmodel_build).where(readmodel_build.c.projection == projection.name)).first()
        if prefix == PREFIX:
            if row is None or row.owner != self.owner:
                raise LostLease(f"the build of {projection.name} was taken over by another process")
        elif row is not None and row.owner and _aware(row.lease_until) > utcnow():
            raise RuntimeError(f"{projection.name} is being built by {row.owner}: switch after that build ends")

    # --- for the runners ---------------------------------------------------------------------------------------

    def _build_alone(self, projection: Projection, stop: threading.Event, retry_seconds: float) -> Switched | None:
        """``build`` of one read model; a failure is logged (it is tried again later), None."""
        try:
            return self.build(projection, stop)
        except Exception:  # logged; the build is tried again (it carries on where it was)
            log.exception("building %s failed; trying again in %.0f s", projection.name, retry_seconds)
            return None

    def run_pending(
        self,
        projections: Sequence[Projection],
        stop: threading.Event,
        retry_seconds: float = 5.0,
        on_switch: Callable[[Switched], None] | None = None,
    ) -> None:
        """Until every read model holds the code's version (or ``stop``): build those that do not, together (one
        read of the store; one by one after a failure); those another process builds are checked again every
        ``retry_seconds`` (its lease may expire)."""
        wanted = {p.name: versions.code_version(p) for p in projections}
        while not stop.is_set():
            with self.engine.connect() as conn:
                live = versions.live_versions(conn, wanted)
            pending = [p for p in projections if not versions.current(live, p, wanted[p.name])]
            self.forget_builds([p for p in projections if p not in pending])
            if not pending:
                return
            try:
                done = self.build_many(pending, stop)  # one read of the store for all of them
            except Exception:  # logged; each is then built alone (one failing holds none back)
                log.exception("building %s together failed; building them one by one", [p.name for p in pending])
                done = [d for p in pending if (d := self._build_alone(p, stop, retry_seconds)) is not None]
            for switched in done:
                log.info(
                    "read model %s %s: %d events in %.1f s",
                    switched.projection,
                    switched.version,
                    switched.events,
                    switched.seconds,
                )
                if on_switch is not None:
                    on_switch(switched)
            stop.wait(retry_seconds)


class _Stopped(Exception):
    """``stop`` was set during a build."""


@dataclass
class _Build:
    """A read model being built by this process: where its new tables stand."""

    projection: Projection
    version: Version
    position: int
    events: int


def apply_first(projection: Projection) -> frozenset[str] | None:
    """The order ``projection`` declares itself free of (``projections.base.FACTS_FIRST``), if any."""
    return getattr(projection, "apply_first", None)


def _order_free(builds: Iterable[_Build]) -> tuple[frozenset[str] | None, list[_Build]]:
    """The order-free order the first of ``builds`` that declares one declares, and the builds that declare it."""
    found = [b for b in builds if apply_first(b.projection)]
    first = apply_first(found[0].projection) if found else None
    return first, [b for b in found if apply_first(b.projection) == first]


def _types_of(projections: Iterable[Projection]) -> frozenset[str] | None:
    """The event types any of ``projections`` reads (None: one of them does not say, so every event)."""
    found: set[str] = set()
    for projection in projections:
        types = getattr(projection, "event_types", None)
        if types is None:
            return None
        found |= types
    return frozenset(found)


def retired_tables(conn: Connection, projection: Projection) -> list[str]:
    """The live tables being replaced: those the recorded version lists, else (no record: a database from before
    versions, or tables made by hand) the code's names that exist."""
    live = versions.live_versions(conn, [projection.name]).get(projection.name)
    if live is not None:
        return list(live.tables)
    present = set(inspect(conn).get_table_names())
    return [name for name in versions.table_names(projection) if name in present]


def hand_over_kafka(conn: Connection, name: str) -> None:
    """The Kafka workers' start for a read model switched in at a store position (``built_through``): its offsets
    become the furthest recorded for any read model (every record up to them was published before the switch, so
    it is at or below that position) and its applied event ids are forgotten (records at or below the position are
    skipped by position). Its offset rows are updated in place, so a worker waiting on their lock reads the new
    values."""
    offsets, events = tracking.projection_kafka_offset, tracking.projection_event
    furthest = conn.execute(
        select(offsets.c.topic, offsets.c.partition, func.max(offsets.c.offset).label("offset")).group_by(
            offsets.c.topic, offsets.c.partition
        )
    ).all()
    if furthest:
        insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        rows = [
            {"projection": name, "topic": r.topic, "partition": r.partition, "offset": r.offset, "applied": 0}
            for r in furthest
        ]
        stmt = insert_(offsets).values([row | {"updated_at": now} for row in rows])
        update_ = {"offset": stmt.excluded.offset, "updated_at": now}
        conn.execute(stmt.on_conflict_do_update(index_elements=["projection", "topic", "partition"], set_=update_))
    conn.execute(delete(events).where(events.c.projection == name))


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive UTC times back."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=EPOCH.tzinfo)


@dataclass(frozen=True)
class State:
    """A read model as ``thidua db current`` shows it: the code's version, the live one, a build in progress."""

    name: str
    code: Version
    live: Version | None
    build_position: int | None
    build_owner: str | None

    @property
    def current(self) -> bool:
        """Whether the live tables hold the code's version."""
        return self.live == self.code


def states(conn: Connection, projections: Sequence[Projection]) -> list[State]:
    """Every read model's versions and build."""
    live = versions.live_versions(conn)
    builds = {r.projection: r for r in conn.execute(select(readmodel_build))}
    found = []
    for projection in projections:
        build = builds.get(projection.name)
        recorded = live.get(projection.name)
        found.append(
            State(
                projection.name,
                versions.code_version(projection),
                recorded.version if recorded else None,
                int(build.position) if build is not None else None,
                str(build.owner) or None if build is not None else None,
            )
        )
    return found
