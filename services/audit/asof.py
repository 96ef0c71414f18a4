"""As-of reads (issue 8, docs/audit.md): what this node had recorded by a system time, answered from a shadow
rebuild of every read model up to the store position that time maps to.

A time maps to the highest position whose *local* recording time is at or before it: ``foreign_event.imported_at``
for an event imported from another node, else ``event.recorded_at``. Appends and imports take the store-wide lock
and read the clock under it, so positions commit in order: the events up to that position are exactly what the
node held then (docs/audit.md states the clock assumption).

Rebuilds are cached by position (two times that map to one position share it) in tables ``asof_<position>_<table>``;
a per-position lock makes concurrent requests build once; least recently used rebuilds are dropped beyond
``asof_cache_size``; a rebuild in use is never dropped. A position at the store's head reads the live tables.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, exists, func, insert, inspect, select, text

from projections.base import Projection
from projections.shadow import shadow_connection, shadow_metadata
from services.audit.replay import replay
from services.kernel.codec import AvroCodec
from services.kernel.errors import DomainRefusal
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event
from services.kernel.vntime import VN_TZ

TABLE_PREFIX = "asof_"
EXAMPLE = "2026-12-15T17:00:00+07:00"


def prefix_of(position: int) -> str:
    """The table prefix of the rebuild at ``position``."""
    return f"{TABLE_PREFIX}{position}_"


def parse_as_of(value: str, now: datetime, default_tz: tzinfo = VN_TZ) -> datetime:
    """An ``as_of`` query value as an aware time: ISO 8601 date and time; without an offset it is Vietnam time.

    Refused (422): not ISO 8601, a date without a time (ambiguous: start or end of the day?), after ``now``.
    """
    text_value = value.strip()
    try:
        date.fromisoformat(text_value)
        moment = None  # a bare date: refused below
    except ValueError:
        try:
            moment = datetime.fromisoformat(text_value)
        except ValueError:
            moment = None
    if moment is not None:
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=default_tz)
        try:
            moment.astimezone(UTC)  # 0001-01-01T00:00+07:00 has no UTC time
        except OverflowError:
            moment = None
    if moment is None:
        raise DomainRefusal(
            "INVALID_AS_OF",
            422,
            f"Thời điểm as_of '{value}' không hợp lệ: cần ngày và giờ theo ISO 8601, ví dụ {EXAMPLE}.",
            f"Invalid as_of '{value}': expected an ISO 8601 date and time, e.g. {EXAMPLE}.",
            as_of=value,
        )
    if moment > now:
        raise DomainRefusal(
            "AS_OF_IN_FUTURE",
            422,
            f"Thời điểm as_of {moment.isoformat()} ở tương lai (bây giờ là {now.isoformat()}).",
            f"as_of {moment.isoformat()} is in the future (now is {now.isoformat()}).",
            as_of=value,
            now=now.isoformat(),
        )
    return moment


def position_at(conn: Connection, moment: datetime) -> int:
    """The highest store position recorded here at or before ``moment`` (0: none): imported events count from
    their local ``imported_at``, the node's own from ``recorded_at``."""
    utc = moment.astimezone(UTC)  # SQLite keeps UTC wall-clock text: compare like with like
    e, f = event_table.c, foreign_event.c
    own = select(func.max(e.position)).where(e.recorded_at <= utc, ~exists().where(f.position == e.position))
    imported = select(func.max(f.position)).where(f.imported_at <= utc)
    return max(conn.execute(own).scalar() or 0, conn.execute(imported).scalar() or 0)


def head_position(conn: Connection) -> int:
    """The highest committed position (0 when the store is empty)."""
    return int(conn.execute(select(func.coalesce(func.max(event_table.c.position), 0))).scalar_one())


@dataclass(frozen=True)
class AsOfPoint:
    """A time resolved against the store: its position, the head then, and whether the live tables answer."""

    as_of: datetime
    position: int
    head: int

    @property
    def live(self) -> bool:
        """At the head the live read models already hold every event up to the position."""
        return self.position >= self.head


def victims(order: Sequence[int], busy: Collection[int], size: int) -> list[int]:
    """Keys to drop, least recently used first (``order``: oldest first), skipping ``busy`` ones, to come down to
    ``size`` entries; fewer when too many are busy."""
    excess = len(order) - size
    chosen = []
    for key in order:
        if excess <= 0:
            break
        if key not in busy:
            chosen.append(key)
            excess -= 1
    return chosen


@dataclass
class _Entry:
    """One cached rebuild: its tables' state, who uses it, and how it was built."""

    position: int
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while building or dropping the tables
    ready: bool = False
    users: int = 0
    evicting: bool = False
    built_at: datetime | None = None
    seconds: float = 0.0
    events: int = 0
    copied_from: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as the audit endpoint shows it."""
        return {
            "position": self.position,
            "tables_prefix": prefix_of(self.position),
            "ready": self.ready,
            "in_use": self.users,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "build_seconds": round(self.seconds, 3),
            "events_applied": self.events,
            "copied_from": self.copied_from,
        }


@dataclass
class CacheStats:
    """What the cache did since it started."""

    builds: int = 0  # rebuilds from position 0
    copies: int = 0  # rebuilds that copied a smaller cached position and applied the events after it
    hits: int = 0
    evictions: int = 0


class AsOfCache:
    """Shadow rebuilds of every read model keyed by store position, least recently used dropped beyond ``size``.

    The cache belongs to one process: on first use it drops every ``asof_`` table left by an earlier run (a
    crash may have left a rebuild half done, and the read models' code may have changed since).
    """

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        codec: AvroCodec,
        types: Mapping[str, type[Event]],
        projections: Sequence[Projection],
        size: int = 4,
        batch_size: int = 500,
    ) -> None:
        self.engine = engine
        self.store = store
        self.codec = codec
        self.types = dict(types)
        self.projections = list(projections)
        self.size = max(1, size)
        self.batch_size = batch_size
        self.stats = CacheStats()
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()  # guards the entries' bookkeeping, never held during DDL of one entry
        self._builds = threading.BoundedSemaphore(1)  # one rebuild at a time: requests cannot pile up full replays
        self._started = False

    def now(self) -> datetime:
        """The node's current time (the store's clock: the one recording times are read from)."""
        return self.store.clock()

    def resolve(self, moment: datetime) -> AsOfPoint:
        """The position ``moment`` maps to, and the head now."""
        with self.engine.connect() as conn:
            return AsOfPoint(moment, position_at(conn, moment), head_position(conn))

    def start(self) -> None:
        """Drop ``asof_`` tables left by an earlier run (once per cache)."""
        with self._lock:
            if self._started:
                return
            stale = [n for n in inspect(self.engine).get_table_names() if n.startswith(TABLE_PREFIX)]
            with self.engine.begin() as conn:
                for name in stale:
                    conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
            self._started = True

    def close(self) -> None:
        """Drop every rebuild that is not in use (at shutdown)."""
        with self._lock:
            entries = [e for e in self._entries.values() if e.users == 0]
        for entry in entries:
            self._drop(entry)

    @contextmanager
    def connect(self, point: AsOfPoint) -> Iterator[Connection]:
        """A connection that reads the read models as of ``point``: the live tables at the head, else the cached
        rebuild at its position (built first if missing)."""
        if point.live:
            with self.engine.connect() as conn:
                yield conn
            return
        with self._lease(point.position) as prefix, shadow_connection(self.engine, self.projections, prefix) as conn:
            yield conn

    def status(self, position: int) -> dict[str, Any]:
        """The cache as the audit endpoint shows it: the entry for ``position`` (if any), every entry, counters."""
        with self._lock:
            entry = self._entries.get(position)
            return {
                "size": self.size,
                "entry": entry.to_json() if entry else None,
                "entries": [e.to_json() for e in reversed(self._entries.values())],  # most recent first
                "stats": vars(self.stats).copy(),
            }

    def positions(self) -> list[int]:
        """Positions held (ready), least recently used first."""
        with self._lock:
            return [p for p, e in self._entries.items() if e.ready]

    @contextmanager
    def _lease(self, position: int) -> Iterator[str]:
        self.start()
        with self._lock:
            entry = self._entries.get(position)
            if entry is None:
                entry = self._entries[position] = _Entry(position)
            entry.users += 1
            self._entries.move_to_end(position)
        try:
            with entry.lock:
                if entry.ready:
                    with self._lock:
                        self.stats.hits += 1
                else:
                    self._build(entry)
            self._evict()
            yield prefix_of(position)
        finally:
            with self._lock:
                entry.users -= 1
                if not entry.ready and not entry.users and not entry.evicting and self._entries.get(position) is entry:
                    del self._entries[position]  # a failed build leaves nothing behind
            self._evict()

    def _build(self, entry: _Entry) -> None:
        """Build ``entry``'s tables (its lock held): copy the nearest smaller cached rebuild and apply the events
        after it, or replay from the start."""
        with self._builds:
            self._build_now(entry)

    def _build_now(self, entry: _Entry) -> None:
        started = time.monotonic()
        source = self._pin_source(entry.position)
        try:
            if source is not None:
                entry.events = self._copy_then_apply(source.position, entry.position)
                entry.copied_from = source.position
            else:
                result = replay(
                    self.engine,
                    self.store,
                    self.codec,
                    self.types,
                    self.projections,
                    to_position=entry.position,
                    batch_size=self.batch_size,
                    prefix=prefix_of(entry.position),
                )
                entry.events, entry.copied_from = result.events, None
        except BaseException:
            self._drop_tables(entry.position)
            raise
        finally:
            if source is not None:
                with self._lock:
                    source.users -= 1
        entry.ready, entry.built_at, entry.seconds = True, datetime.now(UTC), time.monotonic() - started
        with self._lock:
            if source is not None:
                self.stats.copies += 1
            else:
                self.stats.builds += 1

    def _pin_source(self, position: int) -> _Entry | None:
        """The ready rebuild with the largest position below ``position``, marked in use; None when there is none
        or a read model's tables cannot be copied row for row (an autoincrement column)."""
        if any(t.autoincrement_column is not None for p in self.projections for t in p.metadata.sorted_tables):
            return None
        with self._lock:
            below = [e for p, e in self._entries.items() if p < position and e.ready and not e.evicting]
            if not below:
                return None
            source = max(below, key=lambda e: e.position)
            source.users += 1
            return source

    def _copy_then_apply(self, source: int, position: int) -> int:
        """Copy the rebuild at ``source`` into ``position``'s tables, then apply the events in (source, position]."""
        old, new = prefix_of(source), prefix_of(position)
        for projection in self.projections:
            origin, target = shadow_metadata(projection, old), shadow_metadata(projection, new)
            with self.engine.begin() as conn:
                target.drop_all(conn)
                target.create_all(conn)
                for table in projection.metadata.sorted_tables:
                    columns = [c.name for c in table.columns]
                    src, dst = origin.tables[old + table.name], target.tables[new + table.name]
                    conn.execute(insert(dst).from_select(columns, select(*[src.c[n] for n in columns])))
        applied, after = 0, source
        with shadow_connection(self.engine, self.projections, new) as conn:
            while batch := self.store.read_all(after, self.batch_size):
                within = [s for s in batch if s.position <= position]
                if within:
                    events = [decode_event(s.body, self.codec, self.types, s.position) for s in within]
                    with conn.begin():
                        for projection in self.projections:
                            projection.apply(conn, events)
                    applied += len(within)
                if len(within) < len(batch):
                    break
                after = batch[-1].position
        return applied

    def _evict(self) -> None:
        """Drop least recently used rebuilds beyond ``size`` that nobody uses."""
        with self._lock:
            order = [p for p, e in self._entries.items() if not e.evicting]
            busy = {p for p in order if self._entries[p].users > 0}
            chosen = [self._entries[p] for p in victims(order, busy, self.size)]
            for entry in chosen:
                entry.evicting = True
        for entry in chosen:
            self._drop(entry)

    def _drop(self, entry: _Entry) -> None:
        """Drop ``entry``'s tables unless someone leased it meanwhile (it then stays, or is rebuilt by its user)."""
        with entry.lock:
            with self._lock:
                if entry.users > 0:
                    entry.evicting = False
                    return
            self._drop_tables(entry.position)
            entry.ready = False
            with self._lock:
                entry.evicting = False
                if entry.users == 0 and self._entries.get(entry.position) is entry:
                    del self._entries[entry.position]
                    self.stats.evictions += 1

    def _drop_tables(self, position: int) -> None:
        with self.engine.begin() as conn:
            for projection in self.projections:
                shadow_metadata(projection, prefix_of(position)).drop_all(conn)
