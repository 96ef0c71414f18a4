"""As-of reads (docs/audit.md): what this node had recorded by a system time, answered from a shadow
rebuild up to the store position that time maps to — of the read models the question reads, and for a read model
whose subtrees are closed (``subtree_closed``: the rollup) of the subtree asked only (docs/benchmarks.md, as-of reads).

A time maps to the highest position whose *local* recording time is at or before it: ``foreign_event.imported_at``
for an event imported from another node, else ``event.recorded_at``. Appends and imports take the store-wide lock
and read the clock under it, so positions commit in order: the events up to that position are exactly what the
node held then (docs/audit.md states the clock assumption).

A rebuild replays only the events it needs, found through ``ix_event_subtree_type`` (org path and type), not by a
scan of the log: the read models' own event types (``event_types``), and for a scoped one the events of the subtree
and of its ancestors (plans and duties travel down). Rebuilds are cached by (position, read models, scope) — two times
that map to one position share it — in tables ``<prefix><table>`` (``asof_<position>_`` for every read model, else
``asof_<digest>_``); the complete ones are listed in ``readmodel_asof`` with the versions they were built with, so
every process of the node and the next start reuse them. A per-key lock (and on PostgreSQL an advisory lock) makes
concurrent requests build once; least recently used rebuilds are dropped beyond ``asof_cache_size``; a rebuild in use
is never dropped (on PostgreSQL not even by another process: a shared advisory lock marks it in use). A position at the
store's head reads the live tables.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    exists,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)

from projections.base import Projection, from_scratch
from projections.scan import scoped_batches
from projections.shadow import create_deferred, prepare_shadows, shadow_connection, shadow_metadata
from projections.versions import code_version, readmodel_asof
from services.kernel.codec import AvroCodec
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore, utcnow
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event
from services.kernel.vntime import VN_TZ

K = TypeVar("K")

TABLE_PREFIX = "asof_"
EXAMPLE = "2026-12-15T17:00:00+07:00"


def prefix_of(position: int, models: Sequence[str] = (), scope: str = "") -> str:
    """The table prefix of the rebuild at ``position`` (of every read model, else of ``models`` within ``scope``)."""
    if not models and not scope:
        return f"{TABLE_PREFIX}{position}_"
    digest = hashlib.sha256(f"{position}|{','.join(models)}|{scope}".encode()).hexdigest()[:10]
    return f"{TABLE_PREFIX}{digest}_"  # as long as a ten-digit position: every index name stays within 63


@dataclass(frozen=True)
class Key:
    """What a rebuild holds: every event up to ``position`` of ``models`` ('': every read model) within ``scope``
    (an org path: its subtree and its ancestors; '': the whole tree)."""

    position: int
    models: tuple[str, ...] = ()
    scope: str = ""

    @property
    def prefix(self) -> str:
        """Its tables' prefix."""
        return prefix_of(self.position, self.models, self.scope)


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
            Kind.INVALID,
            f"Thời điểm as_of '{value}' không hợp lệ: cần ngày và giờ theo ISO 8601, ví dụ {EXAMPLE}.",
            f"Invalid as_of '{value}': expected an ISO 8601 date and time, e.g. {EXAMPLE}.",
            as_of=value,
        )
    if moment > now:
        raise DomainRefusal(
            "AS_OF_IN_FUTURE",
            Kind.INVALID,
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


def apply_scoped(
    engine: Engine,
    codec: AvroCodec,
    types: Mapping[str, type[Event]],
    projections: Sequence[Projection],
    prefix: str,
    *,
    event_types: Collection[str] | None,
    scope: str,
    after: int,
    to_position: int,
    batch_size: int = 500,
    first: Collection[str] | None = None,
) -> int:
    """Apply to the ``prefix`` shadows of ``projections`` the events in (after, to_position] of ``event_types`` at
    ``scope``'s ancestors and in its subtree (``projections.scan.scoped_query``; ``first``: in that order); how
    many."""
    applied = 0
    with shadow_connection(engine, projections, prefix) as conn, from_scratch(projections) as finish:
        for rows in scoped_batches(engine, event_types, scope, after, to_position, batch_size, first):
            events = [decode_event(body, codec, types, position) for position, body in rows]
            with conn.begin():
                for projection in projections:
                    projection.apply(conn, events)
            applied += len(events)
        with conn.begin():
            finish(conn)  # what the read models held in memory (the rollup's rows: set-based, COPY)
    return applied


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


def victims(order: Sequence[K], busy: Collection[K], size: int) -> list[K]:
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

    key: Key
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while building or dropping the tables
    ready: bool = False
    users: int = 0
    evicting: bool = False
    built_at: datetime | None = None
    seconds: float = 0.0
    events: int = 0
    copied_from: int | None = None

    @property
    def position(self) -> int:
        """The store position it holds every event up to."""
        return self.key.position

    def to_json(self) -> dict[str, Any]:
        """The entry as the audit endpoint shows it."""
        return {
            "position": self.position,
            "read_models": list(self.key.models) or None,
            "scope": self.key.scope or None,
            "tables_prefix": self.key.prefix,
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
    reused: int = 0  # rebuilds found complete in readmodel_asof: built by another process, or before a restart
    evictions: int = 0


def _lock_id(prefix: str, purpose: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for ``purpose`` on the rebuild ``prefix``."""
    return int.from_bytes(hashlib.sha256(f"thidua-asof|{purpose}|{prefix}".encode()).digest()[:8], "big", signed=True)


def _prefix_of_table(name: str) -> str:
    """``asof_123_rollup_slot`` → ``asof_123_``."""
    return name[: name.index("_", len(TABLE_PREFIX)) + 1] if "_" in name[len(TABLE_PREFIX) :] else name


class AsOfCache:
    """Shadow rebuilds of read models keyed by (store position, read models, scope), least recently used dropped
    beyond ``size``; complete ones are listed in ``readmodel_asof`` and reused by every process of the node.

    On first use a process drops the ``asof_`` tables that are not a complete rebuild of the code's read-model
    versions (a crash may have left one half done, and the read models' code may have changed since), then takes
    the listed ones as its own, least recently used first.
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
        self._by_name = {p.name: p for p in self.projections}
        self.size = max(1, size)
        self.batch_size = batch_size
        self.stats = CacheStats()
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()  # guards the entries' bookkeeping, never held during DDL of one entry
        self._builds = threading.BoundedSemaphore(1)  # one rebuild at a time: requests cannot pile up replays
        self._started = False

    def now(self) -> datetime:
        """The node's current time (the store's clock: the one recording times are read from)."""
        return self.store.clock()

    def resolve(self, moment: datetime) -> AsOfPoint:
        """The position ``moment`` maps to, and the head now."""
        with self.engine.connect() as conn:
            return AsOfPoint(moment, position_at(conn, moment), head_position(conn))

    def key(self, position: int, models: Sequence[str] = (), scope: str | None = None) -> Key:
        """The rebuild that answers a question on ``models`` (none: every read model) within ``scope``: the scope is
        kept only when every read model asked is subtree-closed."""
        names = tuple(sorted(set(models)))
        unknown = [n for n in names if n not in self._by_name]
        if unknown:
            raise ValueError(f"unknown read models {unknown}")
        if set(names) == set(self._by_name):
            names = ()
        closed = bool(names) and all(getattr(self._by_name[n], "subtree_closed", False) for n in names)
        return Key(position, names, scope if scope and closed else "")

    def start(self) -> None:
        """Drop ``asof_`` tables that are not a complete rebuild of the code's versions; adopt the others (once)."""
        with self._lock:
            if self._started:
                return
            kept: dict[str, Key] = {}
            with self.engine.begin() as conn:
                for row in conn.execute(select(readmodel_asof).order_by(readmodel_asof.c.used_at)):
                    key = Key(int(row.position), tuple(n for n in row.models.split(",") if n), row.scope)
                    valid = all(n in self._by_name for n in key.models) and key.prefix == row.prefix
                    if valid and row.versions == self._versions(key):
                        kept[row.prefix] = key
                conn.execute(delete(readmodel_asof).where(readmodel_asof.c.prefix.not_in(list(kept))))
            names = [n for n in inspect(self.engine).get_table_names() if n.startswith(TABLE_PREFIX)]
            for prefix in sorted({_prefix_of_table(n) for n in names} - set(kept)):
                with self._advisory(prefix, "build", wait=False) as free:
                    if free:  # not being built by another process right now
                        with self.engine.begin() as conn:
                            for name in (n for n in names if n.startswith(prefix)):
                                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
            for key in kept.values():
                self._entries[key] = _Entry(key, ready=True)
            self.stats.reused += len(kept)
            self._started = True
        self._evict()

    def discard(self, key: Key) -> None:
        """Drop the rebuild ``key`` (tables and catalog row) if nobody here uses it: the next read builds it again."""
        self.start()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.users:
                return
            self._entries.pop(key, None)
        self._drop_tables(key)

    def close(self) -> None:
        """Nothing to drop at shutdown: complete rebuilds stay for the node's other and next processes (each keeps
        at most ``size``)."""

    @contextmanager
    def connect(self, point: AsOfPoint, models: Sequence[str] = (), scope: str | None = None) -> Iterator[Connection]:
        """A connection that reads ``models`` (none: every read model) as of ``point`` within ``scope`` (an org path;
        a read model whose subtrees are closed is rebuilt for that subtree only): the live tables at the head, else
        the cached rebuild (built first if missing)."""
        if point.live:
            with self.engine.connect() as conn:
                yield conn
            return
        key = self.key(point.position, models, scope)
        with self._lease(key) as prefix, shadow_connection(self.engine, self._projections_of(key), prefix) as conn:
            yield conn

    def status(self, position: int, models: Sequence[str] = (), scope: str | None = None) -> dict[str, Any]:
        """The cache as the audit endpoint shows it: the entry for the key (if any), every entry, counters."""
        key = self.key(position, models, scope)
        with self._lock:
            entry = self._entries.get(key)
            return {
                "size": self.size,
                "entry": entry.to_json() if entry else None,
                "entries": [e.to_json() for e in reversed(self._entries.values())],  # most recent first
                "stats": vars(self.stats).copy(),
            }

    def positions(self) -> list[int]:
        """Positions of the rebuilds held (ready), least recently used first."""
        with self._lock:
            return [k.position for k, e in self._entries.items() if e.ready]

    def _projections_of(self, key: Key) -> list[Projection]:
        return [self._by_name[n] for n in key.models] if key.models else self.projections

    def _types_of(self, key: Key) -> frozenset[str] | None:
        """The event types the key's read models use (None: all, when one of them does not say)."""
        found: set[str] = set()
        for projection in self._projections_of(key):
            types = getattr(projection, "event_types", None)
            if types is None:
                return None
            found |= types
        return frozenset(found)

    def _versions(self, key: Key) -> str:
        versions = ((p.name, code_version(p)) for p in self._projections_of(key))
        return ";".join(f"{name}:{v.number}:{v.fingerprint}" for name, v in versions)

    @contextmanager
    def _advisory(self, prefix: str, purpose: str, shared: bool = False, wait: bool = True) -> Iterator[bool]:
        """A PostgreSQL session advisory lock on the rebuild ``prefix`` for ``purpose`` (other processes of the node
        see it); True without waiting elsewhere (SQLite: one process per file, the in-process locks suffice)."""
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        kind = ("try_" if not wait else "") + "advisory_lock" + ("_shared" if shared else "")
        with self.engine.connect() as conn:
            got = conn.execute(text(f"SELECT pg_{kind}(:k)"), {"k": _lock_id(prefix, purpose)}).scalar()
            conn.commit()  # a session lock outlives the transaction
            held = got is not False
            try:
                yield held
            finally:
                if held:
                    unlock = "advisory_unlock" + ("_shared" if shared else "")
                    conn.execute(text(f"SELECT pg_{unlock}(:k)"), {"k": _lock_id(prefix, purpose)})
                    conn.commit()

    def _catalogued(self, key: Key) -> bool:
        """Whether ``readmodel_asof`` lists the rebuild, complete, of the code's versions."""
        t = readmodel_asof.c
        with self.engine.connect() as conn:
            found = conn.execute(select(t.versions).where(t.prefix == key.prefix)).scalar()
        return found == self._versions(key)

    def _touch(self, key: Key) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(readmodel_asof).where(readmodel_asof.c.prefix == key.prefix).values(used_at=utcnow()))

    @contextmanager
    def _lease(self, key: Key) -> Iterator[str]:
        self.start()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(key)
            entry.users += 1
            self._entries.move_to_end(key)
        try:
            with self._advisory(key.prefix, "use", shared=True):  # no other process drops it while it is read
                with entry.lock:
                    if entry.ready and not self._catalogued(key):
                        entry.ready = False  # dropped by another process
                    if entry.ready:
                        with self._lock:
                            self.stats.hits += 1
                        self._touch(key)
                    else:
                        self._build(entry)
                self._evict()
                yield key.prefix
        finally:
            with self._lock:
                entry.users -= 1
                if not entry.ready and not entry.users and not entry.evicting and self._entries.get(key) is entry:
                    del self._entries[key]  # a failed build leaves nothing behind
            self._evict()

    def _build(self, entry: _Entry) -> None:
        """Build ``entry``'s tables (its lock held), unless another process has meanwhile."""
        with self._builds, self._advisory(entry.key.prefix, "build"):
            if self._catalogued(entry.key):
                entry.ready = True
                with self._lock:
                    self.stats.reused += 1
                self._touch(entry.key)
                return
            self._build_now(entry)

    def _build_now(self, entry: _Entry) -> None:
        """Copy the nearest smaller cached rebuild of the same read models and scope and apply the events after it,
        or replay from the start; then list it in ``readmodel_asof``."""
        started, key = time.monotonic(), entry.key
        source = self._pin_source(key)
        try:
            if source is not None:
                self._copy(source.key, key)
                entry.events, entry.copied_from = self._apply(key, source.position), source.position
            else:
                prepare_shadows(self.engine, self._projections_of(key), key.prefix, defer=True)
                entry.events, entry.copied_from = self._apply(key, 0), None
                create_deferred(self.engine, self._projections_of(key), key.prefix)
            entry.built_at, entry.seconds = datetime.now(UTC), time.monotonic() - started
            self._record(entry)
        except BaseException:
            self._drop_tables(key)
            raise
        finally:
            if source is not None:
                with self._lock:
                    source.users -= 1
        entry.ready = True
        with self._lock:
            if source is not None:
                self.stats.copies += 1
            else:
                self.stats.builds += 1

    def _record(self, entry: _Entry) -> None:
        key = entry.key
        values = {
            "prefix": key.prefix,
            "position": key.position,
            "models": ",".join(key.models),
            "scope": key.scope,
            "versions": self._versions(key),
            "events": entry.events,
            "seconds": entry.seconds,
            "copied_from": entry.copied_from,
            "built_at": entry.built_at,
            "used_at": utcnow(),
        }
        with self.engine.begin() as conn:
            conn.execute(delete(readmodel_asof).where(readmodel_asof.c.prefix == key.prefix))
            conn.execute(insert(readmodel_asof).values(values))

    def _apply(self, key: Key, after: int) -> int:
        """Apply the rebuild's events after ``after`` to its tables; how many."""
        return apply_scoped(
            self.engine,
            self.codec,
            self.types,
            self._projections_of(key),
            key.prefix,
            event_types=self._types_of(key),
            scope=key.scope,
            after=after,
            to_position=key.position,
            batch_size=self.batch_size,
            first=self._first_of(key),
        )

    def _first_of(self, key: Key) -> frozenset[str] | None:
        """The event types to apply first when the key's one read model is order-free (``apply_first``)."""
        projections = self._projections_of(key)
        return getattr(projections[0], "apply_first", None) if len(projections) == 1 else None

    def _pin_source(self, key: Key) -> _Entry | None:
        """The ready rebuild of the same read models and scope with the largest position below ``key``'s, marked in
        use; None when there is none or a read model's tables cannot be copied row for row (an autoincrement
        column)."""
        projections = self._projections_of(key)
        if any(t.autoincrement_column is not None for p in projections for t in p.metadata.sorted_tables):
            return None
        with self._lock:
            below = [
                e
                for k, e in self._entries.items()
                if (k.models, k.scope) == (key.models, key.scope)
                and k.position < key.position
                and e.ready
                and not e.evicting
            ]
            if not below:
                return None
            source = max(below, key=lambda e: e.position)
            source.users += 1
            return source

    def _copy(self, source: Key, key: Key) -> None:
        """Copy the rebuild ``source`` into ``key``'s tables."""
        old, new = source.prefix, key.prefix
        for projection in self._projections_of(key):
            origin, target = shadow_metadata(projection, old), shadow_metadata(projection, new)
            with self.engine.begin() as conn:
                target.drop_all(conn)
                target.create_all(conn)
                for table in projection.metadata.sorted_tables:
                    columns = [c.name for c in table.columns]
                    src, dst = origin.tables[old + table.name], target.tables[new + table.name]
                    conn.execute(insert(dst).from_select(columns, select(*[src.c[n] for n in columns])))

    def _evict(self) -> None:
        """Drop least recently used rebuilds beyond ``size`` that nobody uses."""
        with self._lock:
            order = [k for k, e in self._entries.items() if not e.evicting]
            busy = {k for k in order if self._entries[k].users > 0}
            chosen = [self._entries[k] for k in victims(order, busy, self.size)]
            for entry in chosen:
                entry.evicting = True
        for entry in chosen:
            self._drop(entry)

    def _drop(self, entry: _Entry) -> None:
        """Drop ``entry``'s tables unless someone leased it meanwhile, here or in another process (it then stays)."""
        with entry.lock:
            with self._lock:
                busy = entry.users > 0
            with self._advisory(entry.key.prefix, "use", wait=False) as free:
                if busy or not free:
                    with self._lock:
                        entry.evicting = False
                    return
                self._drop_tables(entry.key)
            entry.ready = False
            with self._lock:
                entry.evicting = False
                if entry.users == 0 and self._entries.get(entry.key) is entry:
                    del self._entries[entry.key]
                    self.stats.evictions += 1

    def _drop_tables(self, key: Key) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(readmodel_asof).where(readmodel_asof.c.prefix == key.prefix))
            for projection in self._projections_of(key):
                shadow_metadata(projection, key.prefix).drop_all(conn)
