"""The event store: atomic, optimistically concurrent appends; reads by stream and by global position.

Ordering guarantee (why a tailing reader never misses an event): every append takes one store-wide lock for
the length of its transaction (``pg_advisory_xact_lock`` on PostgreSQL, keyed by the event table; SQLite's write
lock, taken at ``BEGIN IMMEDIATE``). Positions are therefore allocated *and committed* in the same order, so when
a reader has seen position N, no transaction can later commit a position below N. Gaps (a rolled-back append
burns a sequence value) are harmless: readers never wait for a missing number. The same lock gives each event
its predecessor's hash without races. The cost is one writer at a time; appends are short and batched: under the
lock an append reads the log's state in one statement and writes its rows in one more (COPY for bulk batches on
PostgreSQL), and the lock is taken once per transaction (see ``eventlog.py``). A command is decided before the
lock is taken (``uow.py``): what it read is checked in the append's own read of the log's state (``reads``), so
the lock is held for the write and the commit only.

Signed appends (docs/audit.md): with a ``Signer`` the store seals every batch it writes (``append_many``, each imported
event) with the node's key, on the batch's last row (``services/kernel/signing.py``), and announces a key in the log
(``SigningKeyActivated``) before the first batch it seals.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from .codec import AvroCodec
from .db import is_postgres
from .errors import DuplicateEventConflict, StaleRead, StoreIntegrityError, StreamConflict, VersionConflict
from .eventlog import GENESIS_HASH as GENESIS_HASH
from .eventlog import LogState, lock_and_read_state, read_state, write_rows
from .signing import AUDIT_ACTOR, KEY_ACTIVATED, ROOT_UNIT, Signer, SigningKey, activation_payload, keys_stream, seal
from .tables import event as event_table
from .tables import foreign_event as foreign_table

# The PostgreSQL advisory lock that serialises appends: "thid" in the high 32 bits, the event table's OID in the low
# ones, so nodes that share a database in their own schemas (the sync rig, a shared server) do not wait on each other.
APPEND_LOCK = "SELECT pg_advisory_xact_lock((x'74686964' :: bigint << 32) + CAST('event' :: regclass AS oid) :: bigint)"
_LOCKED_IN = "thidua.append_lock"  # Connection.info key: the transaction that holds the append lock
_ANNOUNCED_IN = "thidua.key_announced"  # Connection.info key: (transaction, key id) announced in that transaction
# PostgreSQL NOTIFY channel: a transaction that took the node's append lock committed. One per node, named like the
# lock after the event table's OID (``thidua_appended_<oid>``), so nodes that share a database do not wake each
# other's pollers; a listener finds its node's name with ``APPENDED_CHANNEL_NAME`` (services.kernel.appended).
APPENDED_CHANNEL = "thidua_appended"
APPENDED_CHANNEL_NAME = f"SELECT '{APPENDED_CHANNEL}_' || CAST(CAST('event' :: regclass AS oid) AS text)"
# The payload of an import's announcement: a parent's sync sender, which never sends imported events on, need not
# read them as they come (services/sync/outbound.py); every other listener takes it like any append.
IMPORTED_PAYLOAD = "imported"


def _lock_and_announce(payload: str) -> str:
    channel = f"'{APPENDED_CHANNEL}_' || CAST(CAST('event' :: regclass AS oid) AS text)"
    return f"{APPEND_LOCK}, pg_notify({channel}, '{payload}')"


_LOCK_AND_ANNOUNCE, _LOCK_AND_ANNOUNCE_IMPORT = _lock_and_announce(""), _lock_and_announce(IMPORTED_PAYLOAD)
ANY_VERSION = None
NOTHING_READ: Mapping[str, int] = MappingProxyType({})  # an append that read no stream before taking the lock


def utcnow() -> datetime:
    """Current time in UTC (the store's default clock)."""
    return datetime.now(UTC)


def link_hash(prev_hash: bytes, body: bytes) -> bytes:
    """The hash that links an event to its predecessor: sha256(prev_hash || body)."""
    return hashlib.sha256(prev_hash + body).digest()


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its type, payload (all fields but ``meta``) and envelope facts."""

    event_type: str
    payload: Mapping[str, Any]
    org_unit: Mapping[str, Any]
    actor: Mapping[str, Any]
    occurred_at: datetime
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with its global position and hash link."""

    position: int
    event_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_fingerprint: bytes
    occurred_at: datetime
    recorded_at: datetime
    org_unit_path: str
    node_id: str
    actor_id: str
    correlation_id: str | None
    causation_id: str | None
    body: bytes
    prev_hash: bytes
    hash: bytes
    signature: bytes | None = None  # the batch's seal, on its last event (signed appends)


Append = tuple[str, int | None, Sequence["NewEvent"]]  # (stream id, expected version or None, events)


@dataclass(frozen=True)
class AppendResult:
    """Positions written (or found, for an idempotent repeat) and the stream's version afterwards."""

    stream_id: str
    version: int
    positions: list[int]
    event_ids: list[str]
    duplicate: bool = False


class EventStore:
    """Append-only event store on SQLite or PostgreSQL."""

    def __init__(
        self,
        engine: Engine,
        codec: AvroCodec,
        node_id: str,
        clock: Callable[[], datetime] = utcnow,
        signer: Signer | None = None,
    ) -> None:
        self.engine = engine
        self.codec = codec
        self.node_id = node_id
        self.clock = clock
        self.signer = signer
        self._postgres = is_postgres(engine)
        self._announced: set[str] = set()  # key ids seen committed in the log as SigningKeyActivated

    @property
    def postgres(self) -> bool:
        """Whether the store is on PostgreSQL (else SQLite)."""
        return self._postgres

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically if it is at ``expected_version`` (None: any)."""
        with self.engine.begin() as conn:
            return self.append_in(conn, stream_id, expected_version, events)

    def append_in(
        self, conn: Connection, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """``append`` inside the caller's transaction (e.g. with an idempotency record)."""
        return self.append_many(conn, [(stream_id, expected_version, events)])[0]

    def append_many(
        self, conn: Connection, batch: Sequence[Append], reads: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        """Several appends in the caller's transaction with one lock, one read of the log's state (stored event
        ids, stream versions, head hash) and one bulk insert; any conflict fails the whole batch and writes
        nothing. Each item is (stream, expected version or None, events). Conflicts and schema violations are found
        before anything is written. With a signer, the batch is sealed (its last row carries the seal).

        ``reads``: the streams the caller read before it took the lock and the version each had (an optimistic
        command, ``UnitOfWork``); checked in the same read of the log's state, before the expected versions: one
        that moved raises StaleRead and nothing is written."""
        if self.signer is not None and self.signer.current().key_id not in self._announced:
            self.lock(conn)  # the key's announcement is appended first, under the lock
        return self._append_locked(conn, batch, self.signing_key(conn), reads or NOTHING_READ)

    def check_reads(self, conn: Connection, reads: Mapping[str, int]) -> None:
        """Take the append lock (if not held) and raise StaleRead if a stream of ``reads`` is no longer at the version
        read (on PostgreSQL the lock and the read in one round trip)."""
        _check_reads(reads, self._locked_state(conn, (), reads))

    def _locked_state(
        self, conn: Connection, event_ids: Sequence[str], stream_ids: Iterable[str], *, imports: bool = False
    ) -> LogState:
        """The log's state under the append lock (taken for ``imports``: see ``lock``). On PostgreSQL, when this
        transaction does not hold the lock yet, it is taken in the same round trip (``lock_and_read_state``): the
        lock's wait is the only one left before the append's write."""
        if not self._postgres or self._holds_lock(conn) or conn.get_transaction() is None:
            self.lock(conn, imports=imports)
            return read_state(conn, self._postgres, event_ids, stream_ids)
        state = lock_and_read_state(
            conn, _LOCK_AND_ANNOUNCE_IMPORT if imports else _LOCK_AND_ANNOUNCE, event_ids, stream_ids
        )
        self._mark_locked(conn)
        return state

    def _append_locked(
        self, conn: Connection, batch: Sequence[Append], key: SigningKey | None, reads: Mapping[str, int] = NOTHING_READ
    ) -> list[AppendResult]:
        ids = [e.event_id for _, _, events in batch for e in events]
        state = self._locked_state(conn, ids, {stream for stream, _, _ in batch}.union(reads))
        _check_reads(reads, state)
        plan = _plan(batch, state)
        fresh = [(step[0], step[1], batch[i][2]) for i, step in enumerate(plan) if not isinstance(step, AppendResult)]
        rows = list(self._encode_rows(fresh, state.head_hash, self.clock().astimezone(UTC)))
        if key is not None and rows:
            rows[-1]["signature"] = seal(key, self.node_id, [row["hash"] for row in rows])
        try:
            positions = write_rows(conn, self._postgres, rows, state)
        except IntegrityError as exc:  # backstop: a writer that bypassed the lock took a key, or a defect
            raise _refusal(exc, fresh, state) from exc
        results, taken = [], 0
        for step, (_, _, events) in zip(plan, batch, strict=True):
            if not isinstance(step, AppendResult):
                stream_id, version = step
                taken_here, event_ids = positions[taken : taken + len(events)], [e.event_id for e in events]
                step = AppendResult(stream_id, version + len(events), taken_here, event_ids)
                taken += len(events)
            results.append(step)
        return results

    def _encode_rows(
        self, fresh: list[tuple[str, int, Sequence[NewEvent]]], prev_hash: bytes, recorded_at: datetime
    ) -> Iterator[dict[str, Any]]:
        """The rows of ``fresh`` appends (stream, version before, events), hash-linked from ``prev_hash``."""
        for stream_id, version, events in fresh:
            for offset, new in enumerate(events, start=1):
                row = encode_row(self.codec, self.node_id, stream_id, version + offset, new, prev_hash, recorded_at)
                prev_hash = row["hash"]
                yield row

    def lock(self, conn: Connection, *, imports: bool = False) -> None:
        """Take the store-wide append lock for the rest of ``conn``'s transaction (re-entrant; on PostgreSQL one
        round trip per transaction: a lock taken outside a savepoint is remembered for the transaction).

        The same statement announces the append on the node's ``APPENDED_CHANNEL`` (services.kernel.appended):
        PostgreSQL delivers a notification only when the transaction commits, once per transaction, so an idle relay
        wakes when there is something to publish instead of at its next poll. A transaction of ``imports`` (sync)
        says so in the payload (``IMPORTED_PAYLOAD``)."""
        if not self._postgres:
            return  # SQLite: the engine began this transaction with BEGIN IMMEDIATE, which holds the write lock.
        if self._holds_lock(conn):
            return
        conn.exec_driver_sql(_LOCK_AND_ANNOUNCE_IMPORT if imports else _LOCK_AND_ANNOUNCE)
        self._mark_locked(conn)

    @staticmethod
    def _holds_lock(conn: Connection) -> bool:
        transaction = conn.get_transaction()
        return transaction is not None and conn.info.get(_LOCKED_IN) is transaction

    @staticmethod
    def _mark_locked(conn: Connection) -> None:
        if not conn.in_nested_transaction():  # a savepoint's rollback would release it
            conn.info[_LOCKED_IN] = conn.get_transaction()

    def signing_key(self, conn: Connection) -> SigningKey | None:
        """The key that seals this transaction's batches (None: unsigned store); announced in the log first. Called
        under the append lock."""
        if self.signer is None:
            return None
        key = self.signer.current()
        if key.key_id not in self._announced:
            self._announce(conn, key)
        return key

    def _announce(self, conn: Connection, key: SigningKey) -> None:
        """Append ``SigningKeyActivated`` for ``key`` unless the log has it. A key is remembered as announced only
        once seen in a committed transaction (an announcement rolled back with its transaction is made again)."""
        c = event_table.c
        stream = keys_stream(self.node_id)
        rows = conn.execute(select(c.event_type, c.body).where(c.stream_id == stream).order_by(c.stream_version)).all()
        activated = [self.codec.decode(r.body).datum["key_id"] for r in rows if r.event_type == KEY_ACTIVATED]
        transaction = conn.get_transaction()
        if key.key_id in activated:
            if conn.info.get(_ANNOUNCED_IN) != (transaction, key.key_id):
                self._announced.add(key.key_id)
            return
        now = self.clock().astimezone(UTC)
        payload = activation_payload(key, self.node_id, activated[-1] if activated else None, now)
        new = NewEvent(KEY_ACTIVATED, payload, ROOT_UNIT, AUDIT_ACTOR, now)
        self._append_locked(conn, [(stream, len(rows), [new])], key)
        conn.info[_ANNOUNCED_IN] = (transaction, key.key_id)

    @staticmethod
    def _version(conn: Connection, stream_id: str) -> int:
        query = select(func.coalesce(func.max(event_table.c.stream_version), 0))
        return int(conn.execute(query.where(event_table.c.stream_id == stream_id)).scalar_one())

    def _row(self, stream_id: str, version: int, new: NewEvent, prev_hash: bytes) -> dict[str, Any]:
        """The ``event`` row of ``new`` at ``version``, linked to ``prev_hash``, recorded now (no position)."""
        return encode_row(self.codec, self.node_id, stream_id, version, new, prev_hash, self.clock().astimezone(UTC))

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        """Events of one stream after ``after_version``, in version order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(event_table)
                .where(event_table.c.stream_id == stream_id, event_table.c.stream_version > after_version)
                .order_by(event_table.c.stream_version)
            ).all()
        return [_stored(r) for r in rows]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        conn: Connection | None = None,
        *,
        under: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events after ``after_position``, in global order (safe for tailing); optionally only
        events of org units in the subtree ``under`` and of the event ``types``."""
        query = select(event_table).where(event_table.c.position > after_position)
        if under is not None:
            path = event_table.c.org_unit_path
            query = query.where(or_(path == under, path.startswith(under + "/", autoescape=True)))
        if types is not None:
            query = query.where(event_table.c.event_type.in_(list(types)))
        query = query.order_by(event_table.c.position).limit(limit)
        if conn is not None:
            return [_stored(r) for r in conn.execute(query)]
        with self.engine.connect() as own:
            return [_stored(r) for r in own.execute(query)]

    def read_recent(
        self,
        limit: int,
        conn: Connection | None = None,
        *,
        under: str | None = None,
        within: int | None = None,
        skip_types: Sequence[str] = (),
    ) -> list[StoredEvent]:
        """The newest ``limit`` events (newest first), optionally of the subtree ``under``, only among the last
        ``within`` positions (a bounded scan however small the subtree), without the event types ``skip_types``."""
        if conn is None:
            with self.engine.connect() as own:
                return self.read_recent(limit, own, under=under, within=within, skip_types=skip_types)
        query = select(event_table)
        if under is not None:
            path = event_table.c.org_unit_path
            query = query.where(or_(path == under, path.startswith(under + "/", autoescape=True)))
        if within is not None:
            head = int(conn.execute(select(func.coalesce(func.max(event_table.c.position), 0))).scalar_one())
            query = query.where(event_table.c.position > head - within)
        if skip_types:
            query = query.where(event_table.c.event_type.not_in(list(skip_types)))
        return [_stored(r) for r in conn.execute(query.order_by(event_table.c.position.desc()).limit(limit))]

    def head_position(self) -> int:
        """The highest committed position (0 when empty)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(event_table.c.position), 0))).scalar_one())

    def stream_version(self, stream_id: str) -> int:
        """Current version of a stream (0 when it does not exist)."""
        with self.engine.connect() as conn:
            return self._version(conn, stream_id)

    # Import of events written by other nodes (sync between levels, services/sync).

    def import_foreign(
        self,
        conn: Connection,
        body: bytes,
        source_node: str,
        origin_hash: bytes | None = None,
        origin_position: int | None = None,
        origin_signature: bytes | None = None,
    ) -> ForeignImport:
        """Append another node's event with its original bytes, event id, stream id and version, origin node and
        business time, inside the caller's transaction. The local hash chain links it at a local position (sealed
        by this node's key, as a batch of one); the origin's hash, position and proof of signature are kept in
        ``foreign_event``. Idempotent by event id; a version that is taken by another event raises StreamConflict;
        a version ahead of the stream returns GAP and writes nothing. Whatever it refuses, it refuses before it writes
        (the caller needs no savepoint around it)."""
        item = Foreign(body, source_node, origin_hash, origin_position, origin_signature)
        [outcome] = self.import_foreign_many(conn, [item])
        if isinstance(outcome, StreamConflict):
            raise outcome
        return outcome

    def import_foreign_many(self, conn: Connection, items: Sequence[Foreign]) -> list[ForeignImport | StreamConflict]:
        """``import_foreign`` of several events, in order, with one read of the log's state, one insert of their
        rows and one of their ``foreign_event`` rows: per item what ``import_foreign`` would have done after the
        items before it (a StreamConflict is returned, not raised, and nothing of that item is written). Each event
        is sealed on its own, as ``import_foreign`` seals it."""
        if self.signer is not None and self.signer.current().key_id not in self._announced:
            self.lock(conn, imports=True)  # the key's announcement is appended first, under the lock
        key = self.signing_key(conn)
        rows = [foreign_row(self.codec, item.body) for item in items]
        ids, streams = [r["event_id"] for r in rows], {r["stream_id"] for r in rows}
        state = self._locked_state(conn, ids, streams, imports=True)  # the lock and the read: one round trip
        plan = _ForeignPlan(state, rows)
        outcomes, fresh = plan.outcomes, [rows[i] for i in plan.order]
        prev_hash = state.head_hash
        for row in fresh:
            row["prev_hash"], row["hash"] = prev_hash, link_hash(prev_hash, row["body"])
            row["signature"] = seal(key, self.node_id, [row["hash"]]) if key is not None else None
            prev_hash = row["hash"]
        positions = dict(
            zip((r["event_id"] for r in fresh), write_rows(conn, self._postgres, fresh, state), strict=True)
        )
        if fresh:
            conn.execute(insert(foreign_table), self._foreign_rows(items, rows, outcomes, positions))
        return [
            plan.answer(row, outcome, positions, lambda stream, version: self._holder(conn, stream, version))
            for row, outcome in zip(rows, outcomes, strict=True)
        ]

    def _foreign_rows(
        self, items: Sequence[Foreign], rows: list[dict[str, Any]], outcomes: list[str], positions: dict[str, int]
    ) -> list[dict[str, Any]]:
        imported_at = self.clock().astimezone(UTC)
        return [
            {
                "event_id": row["event_id"],
                "position": positions[row["event_id"]],
                "origin_node": row["node_id"],
                "source_node": item.source_node,
                "origin_position": item.origin_position,
                "origin_hash": item.origin_hash,
                "origin_signature": item.origin_signature,
                "imported_at": imported_at,
            }
            for item, row, outcome in zip(items, rows, outcomes, strict=True)
            if outcome == IMPORTED
        ]

    @staticmethod
    def _holder(conn: Connection, stream_id: str, version: int) -> str | None:
        c = event_table.c
        query = select(c.event_id).where(c.stream_id == stream_id, c.stream_version == version)
        return conn.execute(query).scalar()

    def first_event(self, conn: Connection, stream_id: str) -> StoredEvent | None:
        """The first event of ``stream_id`` with its origin node (None when the stream is not here)."""
        c = event_table.c
        row = conn.execute(select(event_table).where(c.stream_id == stream_id, c.stream_version == 1)).first()
        return _stored(row) if row is not None else None


_STREAM_VERSION_KEY = "ix_event_stream_id_stream_version"
_EVENT_ID_KEY = "uq_event_event_id"


def _constraint(exc: IntegrityError) -> tuple[bool, str | None]:
    """Whether a unique key was taken, and the constraint's name (PostgreSQL) or columns (SQLite: ``table.col``)."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return getattr(exc.orig, "sqlstate", None) == "23505", str(diag.constraint_name)  # 23505: unique_violation
    text = str(exc.orig)
    for prefix in ("UNIQUE constraint failed: ", "NOT NULL constraint failed: ", "CHECK constraint failed: "):
        if text.startswith(prefix):
            return prefix.startswith("UNIQUE"), text[len(prefix) :].strip()
    return False, None


def _refusal(exc: IntegrityError, fresh: list[tuple[str, int, Sequence[NewEvent]]], state: LogState) -> Exception:
    """What an IntegrityError of an append means: a stream version taken meanwhile is a version conflict, an event id
    taken meanwhile a duplicate; anything else (NOT NULL, CHECK, another key) is reported as itself."""
    unique, constraint = _constraint(exc)
    if unique and constraint in (_STREAM_VERSION_KEY, "event.stream_id, event.stream_version"):
        stream_id, version, _ = fresh[0]
        return VersionConflict(stream_id, version, state.versions.get(stream_id, 0))
    if unique and constraint in (_EVENT_ID_KEY, "event.event_id"):
        return DuplicateEventConflict(sorted({e.event_id for _, _, events in fresh for e in events}))
    return StoreIntegrityError(constraint, str(exc.orig).splitlines()[0])


def _check_reads(reads: Mapping[str, int], state: LogState) -> None:
    """StaleRead for the first stream of ``reads`` whose version in ``state`` is not the one read."""
    for stream_id, version in reads.items():
        if (actual := state.versions.get(stream_id, 0)) != version:
            raise StaleRead(stream_id, version, actual)


def _plan(batch: Sequence[Append], state: LogState) -> list[tuple[str, int] | AppendResult]:
    """Per item: its stream and version before it, or the answer of an idempotent repeat; raises the batch's
    conflicts (a partial or cross-stream repeat, a stale expected version, one new event id twice)."""
    repeats = _repeats(batch, state)
    versions = dict(state.versions)
    plan: list[tuple[str, int] | AppendResult] = []
    new_ids: list[str] = []
    for index, (stream_id, expected_version, events) in enumerate(batch):
        if index in repeats:
            plan.append(repeats[index])
            continue
        version = versions.get(stream_id, 0)
        if expected_version is not None and expected_version != version:
            raise VersionConflict(stream_id, expected_version, version)
        plan.append((stream_id, version))
        versions[stream_id] = version + len(events)
        new_ids += [e.event_id for e in events]
    if len(set(new_ids)) != len(new_ids):
        raise DuplicateEventConflict(sorted({i for i in new_ids if new_ids.count(i) > 1}))
    return plan


def _repeats(batch: Sequence[Append], state: LogState) -> dict[int, AppendResult]:
    """Items whose events are all stored already (an idempotent repeat); a partial repeat is a conflict."""
    repeats = {}
    for index, (stream_id, _, events) in enumerate(batch):
        held = [state.held[e.event_id] for e in events if e.event_id in state.held]
        if not held:
            continue
        if len(held) != len(events) or any(h.stream_id != stream_id for h in held):
            raise DuplicateEventConflict(sorted(h.event_id for h in held))
        held.sort(key=lambda h: h.position)
        positions, ids = [h.position for h in held], [h.event_id for h in held]
        repeats[index] = AppendResult(stream_id, state.versions.get(stream_id, 0), positions, ids, duplicate=True)
    return repeats


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return moment.astimezone(UTC)


def _stored(row: Any) -> StoredEvent:
    data = row._asdict()
    for key in ("occurred_at", "recorded_at"):
        if data[key].tzinfo is None:  # SQLite returns naive datetimes; the store writes UTC
            data[key] = data[key].replace(tzinfo=UTC)
    return StoredEvent(**data)


# --- Import of events written by other nodes (sync between levels) ---------------------------------------------

IMPORTED, DUPLICATE, GAP = "IMPORTED", "DUPLICATE", "GAP"


@dataclass(frozen=True)
class ForeignImport:
    """What ``import_foreign`` did with one event: IMPORTED (at ``position``), DUPLICATE (already held at
    ``position``) or GAP (its stream lacks the previous version here: the caller parks it and retries)."""

    outcome: str
    event_id: str
    stream_id: str
    stream_version: int
    origin_node: str
    position: int | None = None
    event_type: str = ""
    occurred_at: datetime | None = None  # business time (meta.occurred_at)


@dataclass(frozen=True)
class Foreign:
    """Another node's event to import: its bytes, the node whose topic delivered it, and the origin's hash, position
    and proof of signature (as its headers carried them)."""

    body: bytes
    source_node: str
    origin_hash: bytes | None = None
    origin_position: int | None = None
    origin_signature: bytes | None = None


CONFLICT = "CONFLICT"  # an import's plan: the version is taken by another event (answered as a StreamConflict)


class _ForeignPlan:
    """Where each event of an import batch goes, from the log's state read once, in order: DUPLICATE (held already, or
    earlier in the batch), CONFLICT (its version held by another event), IMPORTED (the next version of its stream, or
    the one after an event of the batch imported later: a stream that comes out of order is written in version
    order) or GAP (the previous version is neither here nor in the batch). ``order``: the rows to write, in order."""

    def __init__(self, state: LogState, rows: Sequence[Mapping[str, Any]]) -> None:
        self.state = state
        self.versions = dict(state.versions)
        self.placed: dict[str, tuple[str, int]] = {}  # event id → (stream, version) imported by this batch
        self.holders: dict[tuple[str, int], str] = {}  # (stream, version) → event id imported by this batch
        self.waiting: dict[tuple[str, int], int] = {}  # (stream, version) → the row that waits for its predecessor
        self.order: list[int] = []
        self.outcomes = [""] * len(rows)
        for index in range(len(rows)):
            self.outcomes[index] = self._place(rows, index)
        for index in self.waiting.values():
            self.outcomes[index] = GAP

    def _place(self, rows: Sequence[Mapping[str, Any]], index: int) -> str:
        row = rows[index]
        event_id, where = row["event_id"], (row["stream_id"], row["stream_version"])
        held = self.state.held.get(event_id)
        found = (held.stream_id, held.stream_version) if held is not None else self.placed.get(event_id)
        if found is not None:
            return DUPLICATE if found == where else CONFLICT
        current = self.versions.get(where[0], 0)
        if where[1] > current + 1:
            if where in self.waiting:  # the same event twice, both waiting: the second is a repeat of the first
                return DUPLICATE if rows[self.waiting[where]]["event_id"] == event_id else CONFLICT
            self.waiting[where] = index
            return GAP
        if where[1] <= current:
            return CONFLICT
        self._import(rows, index)
        return IMPORTED

    def _import(self, rows: Sequence[Mapping[str, Any]], index: int) -> None:
        """Write row ``index`` next, then the rows of the batch that waited for it."""
        while True:
            row = rows[index]
            event_id, where = row["event_id"], (row["stream_id"], row["stream_version"])
            self.versions[where[0]], self.placed[event_id], self.holders[where] = where[1], where, event_id
            self.order.append(index)
            after = self.waiting.pop((where[0], where[1] + 1), None)
            if after is None:
                return
            self.outcomes[after], index = IMPORTED, after

    def answer(
        self,
        row: Mapping[str, Any],
        outcome: str,
        positions: Mapping[str, int],
        holder: Callable[[str, int], str | None],
    ) -> ForeignImport | StreamConflict:
        """The ``ForeignImport`` of a placed row, or its StreamConflict (naming the event that holds its version)."""
        event_id, stream_id, version = row["event_id"], row["stream_id"], row["stream_version"]
        held = self.state.held.get(event_id)
        if outcome == CONFLICT:
            found = (held.stream_id, held.stream_version) if held is not None else self.placed.get(event_id)
            if found is not None:
                return StreamConflict(stream_id, version, event_id, f"{found[0]}@{found[1]}")
            other = self.holders.get((stream_id, version)) or holder(stream_id, version)
            return StreamConflict(stream_id, version, event_id, other)
        position = held.position if held is not None else positions.get(event_id)
        return ForeignImport(
            outcome, event_id, stream_id, version, row["node_id"], position, row["event_type"], row["occurred_at"]
        )


def foreign_row(codec: AvroCodec, body: bytes) -> dict[str, Any]:
    """The ``event`` row of another node's event, read from its body (meta), before the local hash link."""
    decoded = codec.decode(body)
    meta = decoded.datum["meta"]
    return {
        "event_id": meta["event_id"],
        "stream_id": meta["stream_id"],
        "stream_version": int(meta["stream_version"]),
        "event_type": decoded.name,
        "schema_fingerprint": decoded.writer_fingerprint,
        "occurred_at": _aware(meta["occurred_at"]),
        "recorded_at": _aware(meta["recorded_at"]),
        "org_unit_path": meta["org_unit"]["path"],
        "node_id": meta["node_id"],
        "actor_id": meta["actor"]["actor_id"],
        "correlation_id": meta.get("correlation_id"),
        "causation_id": meta.get("causation_id"),
        "body": body,
    }


def encode_row(
    codec: AvroCodec, node_id: str, stream_id: str, version: int, new: NewEvent, prev_hash: bytes, recorded_at: datetime
) -> dict[str, Any]:
    """The ``event`` row of ``new`` at ``version`` (no position): its envelope, Avro body and hash link."""
    occurred_at = _aware(new.occurred_at)
    meta = {
        "event_id": new.event_id,
        "stream_id": stream_id,
        "stream_version": version,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "node_id": node_id,
        "org_unit": new.org_unit,
        "actor": new.actor,
        "correlation_id": new.correlation_id,
        "causation_id": new.causation_id,
    }
    schema = codec.catalog.event(new.event_type)
    body = codec.encode_with(schema, {"meta": meta, **new.payload})
    return {
        "event_id": new.event_id,
        "stream_id": stream_id,
        "stream_version": version,
        "event_type": new.event_type,
        "schema_fingerprint": schema.fingerprint,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "org_unit_path": new.org_unit["path"],
        "node_id": node_id,
        "actor_id": new.actor["actor_id"],
        "correlation_id": new.correlation_id,
        "causation_id": new.causation_id,
        "body": body,
        "prev_hash": prev_hash,
        "hash": link_hash(prev_hash, body),
        "signature": None,
    }
