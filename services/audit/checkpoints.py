"""Signed checkpoints: the node's Ed25519 signature over the head of its hash chain, appended as an event; and the
automatic ``Checkpointer`` (every N events or M minutes) that ``thidua serve`` and the leader relay run."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, select

from services.kernel.settings import Settings
from services.kernel.store import GENESIS_HASH, EventStore, NewEvent
from services.kernel.tables import event as event_table

from .keys import ALGORITHM, PublicKey, key_id, load_or_create

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0  # how often serve's checkpoint thread looks (two small indexed queries)

CHECKPOINT = "CheckpointSigned"
ROOT_UNIT: dict[str, Any] = {"code": "VN", "path": "VN", "level": "CENTRAL", "name": None}
AUDIT_ACTOR: dict[str, Any] = {
    "actor_id": "audit",
    "kind": "SYSTEM",
    "display_name": "Kiểm tra",
    "org_unit_path": None,
    "roles": [],
}


def statement(node: str, position: int, head_hash: str, count: int) -> bytes:
    """The bytes a checkpoint signs (docs/audit.md)."""
    return f"thidua-checkpoint/v1\n{node}\n{position}\n{head_hash}\n{count}\n".encode()


def stream_of(node: str) -> str:
    """The stream of a node's checkpoints."""
    return f"checkpoint-{node}"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint written: where it sits in the log and what it covers."""

    position: int
    head_position: int
    head_hash: str
    event_count: int
    key_id: str


def write_checkpoint(store: EventStore, key: Ed25519PrivateKey, when: datetime | None = None) -> Checkpoint:
    """Sign the current head and append the signature as a ``CheckpointSigned`` event, under the append lock."""
    with store.engine.begin() as conn:
        store.lock(conn)
        return _sign_head(conn, store, key, when)


def checkpoint_if(
    store: EventStore, key: Ed25519PrivateKey, wanted: Callable[[LogState], bool], when: datetime | None = None
) -> Checkpoint | None:
    """``write_checkpoint`` if ``wanted`` says yes to the log's state read under the append lock (so that two
    processes deciding at once write one checkpoint, not two)."""
    with store.engine.begin() as conn:
        store.lock(conn)
        if not wanted(log_state(conn, store.node_id)):
            return None
        return _sign_head(conn, store, key, when)


def _sign_head(conn: Connection, store: EventStore, key: Ed25519PrivateKey, when: datetime | None) -> Checkpoint:
    head, head_hash, count = _head(conn)
    signed_at = when or store.clock()
    signer = key_id(key.public_key())
    payload = {
        "signer_node": store.node_id,
        "head_position": head,
        "head_hash": head_hash,
        "event_count": count,
        "algorithm": ALGORITHM,
        "key_id": signer,
        "signature": base64.b64encode(key.sign(statement(store.node_id, head, head_hash, count))).decode(),
        "signed_at": signed_at,
    }
    new = NewEvent(CHECKPOINT, payload, ROOT_UNIT, AUDIT_ACTOR, signed_at)
    result = store.append_in(conn, stream_of(store.node_id), None, [new])
    return Checkpoint(result.positions[0], head, head_hash, count, signer)


def _head(conn: Connection) -> tuple[int, str, int]:
    row = conn.execute(
        select(event_table.c.position, event_table.c.hash).order_by(event_table.c.position.desc()).limit(1)
    ).first()
    count = int(conn.execute(select(func.count()).select_from(event_table)).scalar_one())
    if row is None:
        return 0, GENESIS_HASH.hex(), 0
    return int(row.position), bytes(row.hash).hex(), count


@dataclass(frozen=True)
class LogState:
    """What decides whether a checkpoint is due: events appended after this node's last checkpoint (all events
    when there is none) and when that checkpoint was recorded."""

    unsigned: int
    last_signed_at: datetime | None


def log_state(conn: Connection, node: str) -> LogState:
    """The log's state for node ``node``'s checkpoints."""
    c = event_table.c
    last = conn.execute(
        select(c.position, c.recorded_at).where(c.stream_id == stream_of(node)).order_by(c.position.desc()).limit(1)
    ).first()
    query = select(func.count()).select_from(event_table)
    if last is not None:
        query = query.where(c.position > last.position)
    unsigned = int(conn.execute(query).scalar_one())
    return LogState(unsigned, None if last is None else _utc(last.recorded_at))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def events_since_checkpoint(store: EventStore) -> int:
    """Events appended after this node's last checkpoint (all events when there is none)."""
    with store.engine.connect() as conn:
        return log_state(conn, store.node_id).unsigned


def due(state: LogState, now: datetime, every: int, minutes: float, started_at: datetime) -> bool:
    """Whether to sign now: never over nothing new; when ``every`` (>0) events or more came since the last
    checkpoint, or when ``minutes`` (>0) passed since it (since ``started_at`` when there is none)."""
    if state.unsigned <= 0:
        return False
    if every > 0 and state.unsigned >= every:
        return True
    since = state.last_signed_at or started_at
    return minutes > 0 and now - since >= timedelta(minutes=minutes)


def maybe_checkpoint(store: EventStore, key: Ed25519PrivateKey, every: int) -> Checkpoint | None:
    """Write a checkpoint when ``every`` (>0) events or more were appended since the last one."""
    if every <= 0:
        return None
    return checkpoint_if(store, key, lambda state: due(state, store.clock(), every, 0, store.clock()))


class Checkpointer:
    """Automatic checkpoints (DESIGN.md §8): every ``every`` events or ``minutes`` minutes, whichever comes first,
    and never over nothing new. The decision reads the store (the last checkpoint's time and the events after
    it), so restarts and several processes (serve, the leader relay) agree; it is checked again under the
    append lock before signing."""

    def __init__(
        self,
        store: EventStore,
        key: Callable[[], Ed25519PrivateKey],
        every: int,
        minutes: float,
        started_at: datetime | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.every = every
        self.minutes = minutes
        self.started_at = started_at or store.clock()
        self.written = 0

    @property
    def enabled(self) -> bool:
        """Whether either trigger is on."""
        return self.every > 0 or self.minutes > 0

    def due(self, state: LogState, now: datetime) -> bool:
        """The decision for ``state`` at ``now`` (no I/O)."""
        return self.enabled and due(state, now, self.every, self.minutes, self.started_at)

    def tick(self, now: datetime | None = None) -> Checkpoint | None:
        """Write a checkpoint if one is due at ``now`` (default: the store's clock); return it."""
        moment = now or self.store.clock()
        if not self.enabled:
            return None
        with self.store.engine.connect() as conn:
            if not self.due(log_state(conn, self.store.node_id), moment):
                return None
        done = checkpoint_if(self.store, self.key(), lambda state: self.due(state, moment))
        if done is not None:
            self.written += 1
            log.info(
                "checkpoint signed",
                extra={"position": done.position, "head_position": done.head_position, "events": done.event_count},
            )
        return done

    def run(self, stop: threading.Event, interval: float = TICK_SECONDS) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; a failure is logged and the loop goes on."""
        while not stop.wait(interval):
            try:
                self.tick()
            except Exception as exc:  # the database away, a key file unreadable: log, try again next tick
                log.error("automatic checkpoint failed; retrying at the next tick", exc_info=exc)


def checkpointer_for(store: EventStore, settings: Settings) -> Checkpointer | None:
    """The node's automatic checkpointer from settings (None when both triggers are off); the key is loaded
    (generated on first use) only when a checkpoint is written."""
    if settings.audit_checkpoint_every <= 0 and settings.audit_checkpoint_minutes <= 0:
        return None
    path = settings.effective_audit_key_file
    loaded: list[Ed25519PrivateKey] = []

    def key() -> Ed25519PrivateKey:
        if not loaded:
            loaded.append(load_or_create(path))
        return loaded[0]

    return Checkpointer(store, key, settings.audit_checkpoint_every, settings.audit_checkpoint_minutes)


def start_checkpoints(
    checkpointer: Checkpointer, stop: threading.Event, interval: float = TICK_SECONDS
) -> threading.Thread:
    """Run ``checkpointer`` in a daemon thread until ``stop`` is set."""
    thread = threading.Thread(target=checkpointer.run, args=(stop, interval), name="checkpoints", daemon=True)
    thread.start()
    return thread


def check_signature(data: dict[str, Any], keys: list[PublicKey]) -> str | None:
    """None when the checkpoint's signature verifies with a trusted key of that id; else what is wrong."""
    key = next((k for k in keys if k.key_id == data["key_id"]), None)
    if key is None:
        return f"key {data['key_id']} is not trusted (GET /api/v1/audit/keys, audit_trusted_keys_dir)"
    if data.get("algorithm", ALGORITHM) != ALGORITHM:
        return f"algorithm {data['algorithm']} is not {ALGORITHM}"
    message = statement(data["signer_node"], data["head_position"], data["head_hash"], data["event_count"])
    try:
        key.key.verify(base64.b64decode(data["signature"], validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return "the signature does not verify over the checkpoint's statement"
    return None
