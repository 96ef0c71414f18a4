"""Signed checkpoints: the node's Ed25519 signature over the head of its log, appended as an event; and the
automatic ``Checkpointer`` (every N events or S seconds) that ``thidua serve`` and the leader relay run.

Now a checkpoint is a C2SP tlog-checkpoint (``services/audit/notes.py``) over the RFC 6962 Merkle tree of
the chain hashes of every event up to the head, in position order. The event keeps the tree's compact range, so the
next checkpoint extends the tree from it (reading only the events since) and the sync sender proves consistency to
a witness from it. Checkpoints written before (the ``thidua-checkpoint/v1`` statement) still verify.
"""

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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, select

from services.kernel import merkle
from services.kernel.settings import AuditSettings
from services.kernel.signing import ALGORITHM, AUDIT_ACTOR, ROOT_UNIT, LocalKey, SigningKey
from services.kernel.store import GENESIS_HASH, EventStore, NewEvent
from services.kernel.tables import event as event_table

from .notes import Checkpoint as NoteCheckpoint
from .notes import NoteError, checkpoint_text, note_signed_by, origin_of, parse_note, sign_note

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0  # how often serve's checkpoint thread looks (two small indexed queries)

CHECKPOINT = "CheckpointSigned"
WITNESSED, REFUSED = "CheckpointWitnessed", "CheckpointWitnessRefused"
AUDIT_ONLY = (CHECKPOINT, WITNESSED, REFUSED)  # events that never make a checkpoint due (or it would never rest)


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
    note: str = ""


def signing_key(key: SigningKey | Ed25519PrivateKey | None, store: EventStore) -> SigningKey:
    """The key to sign with: the one given, else the store's signer's current key."""
    if isinstance(key, Ed25519PrivateKey):
        return LocalKey(key)
    if key is not None:
        return key
    if store.signer is None:
        raise ValueError("no key to sign the checkpoint with: pass one or give the store a signer")
    return store.signer.current()


def write_checkpoint(
    store: EventStore, key: SigningKey | Ed25519PrivateKey | None = None, when: datetime | None = None
) -> Checkpoint:
    """Sign the current head and append it as a ``CheckpointSigned`` event, under the append lock."""
    with store.engine.begin() as conn:
        store.lock(conn)
        return _sign_head(conn, store, signing_key(key, store), when)


def checkpoint_if(
    store: EventStore,
    key: SigningKey | Ed25519PrivateKey | None,
    wanted: Callable[[LogState], bool],
    when: datetime | None = None,
) -> Checkpoint | None:
    """``write_checkpoint`` if ``wanted`` says yes to the log's state read under the append lock (so that two
    processes deciding at once write one checkpoint, not two)."""
    with store.engine.begin() as conn:
        store.lock(conn)
        if not wanted(log_state(conn, store.node_id)):
            return None
        return _sign_head(conn, store, signing_key(key, store), when)


@dataclass(frozen=True)
class TreeState:
    """The Merkle tree of a log at a checkpoint: size, compact range and the position of the last event."""

    size: int
    frontier: tuple[bytes, ...]
    head_position: int

    @property
    def root(self) -> bytes:
        """Its root."""
        return merkle.root_of_frontier(self.frontier)


def last_tree(conn: Connection, store: EventStore) -> TreeState:
    """The tree of this node's last C2SP checkpoint (the empty tree when there is none)."""
    c = event_table.c
    row = conn.execute(
        select(c.body).where(c.stream_id == stream_of(store.node_id)).order_by(c.stream_version.desc()).limit(1)
    ).first()
    if row is None:
        return TreeState(0, (), 0)
    data = store.codec.decode(bytes(row.body)).datum
    if not data.get("note"):
        return TreeState(0, (), 0)  # a v1 checkpoint: the tree is built from the first event
    frontier = tuple(base64.b64decode(h) for h in data["frontier"])
    return TreeState(int(data["event_count"]), frontier, int(data["head_position"]))


def extend_tree(conn: Connection, start: TreeState, head: int) -> TreeState:
    """``start`` extended with the events after its head up to position ``head`` (their chain hashes as leaves)."""
    c = event_table.c
    frontier, size, after = list(start.frontier), start.size, start.head_position
    while True:
        rows = conn.execute(
            select(c.position, c.hash).where(c.position > after, c.position <= head).order_by(c.position).limit(20_000)
        ).all()
        for row in rows:
            size = merkle.append_leaf(frontier, size, merkle.leaf_hash(bytes(row.hash)))
        if len(rows) < 20_000:
            return TreeState(size, tuple(frontier), head)
        after = rows[-1].position


def _sign_head(conn: Connection, store: EventStore, key: SigningKey, when: datetime | None) -> Checkpoint:
    head, head_hash, count = _head(conn)
    tree = extend_tree(conn, last_tree(conn, store), head)
    if tree.size != count:  # the last checkpoint does not describe this log's prefix any more: build from scratch
        tree = extend_tree(conn, TreeState(0, (), 0), head)
    origin = origin_of(store.node_id)
    note = sign_note(checkpoint_text(origin, count, tree.root), origin, key)
    signed_at = when or store.clock()
    payload = {
        "signer_node": store.node_id,
        "head_position": head,
        "head_hash": head_hash,
        "event_count": count,
        "algorithm": ALGORITHM,
        "key_id": key.key_id,
        "signature": base64.b64encode(note.signatures[0].signature).decode(),
        "signed_at": signed_at,
        "note": note.render(),
        "root_hash": base64.b64encode(tree.root).decode(),
        "frontier": [base64.b64encode(h).decode() for h in tree.frontier],
    }
    new = NewEvent(CHECKPOINT, payload, ROOT_UNIT, AUDIT_ACTOR, signed_at)
    result = store.append_in(conn, stream_of(store.node_id), None, [new])
    return Checkpoint(result.positions[0], head, head_hash, count, key.key_id, note.render())


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
    query = select(func.count()).select_from(event_table).where(c.event_type.not_in(AUDIT_ONLY))
    if last is not None:
        query = query.where(c.position > last.position)
    unsigned = int(conn.execute(query).scalar_one())
    return LogState(unsigned, None if last is None else _utc(last.recorded_at))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def events_since_checkpoint(store: EventStore) -> int:
    """Events appended after this node's last checkpoint (all events when there is none), not counting checkpoints
    and witness records."""
    with store.engine.connect() as conn:
        return log_state(conn, store.node_id).unsigned


def due(state: LogState, now: datetime, every: int, seconds: float, started_at: datetime) -> bool:
    """Whether to sign now: never over nothing new; when ``every`` (>0) events or more came since the last
    checkpoint, or when ``seconds`` (>0) passed since it (since ``started_at`` when there is none)."""
    if state.unsigned <= 0:
        return False
    if every > 0 and state.unsigned >= every:
        return True
    since = state.last_signed_at or started_at
    return seconds > 0 and now - since >= timedelta(seconds=seconds)


def maybe_checkpoint(store: EventStore, key: SigningKey | Ed25519PrivateKey | None, every: int) -> Checkpoint | None:
    """Write a checkpoint when ``every`` (>0) events or more were appended since the last one."""
    if every <= 0:
        return None
    return checkpoint_if(store, key, lambda state: due(state, store.clock(), every, 0, store.clock()))


class Checkpointer:
    """Automatic checkpoints (DESIGN.md §8): every ``every`` events or ``seconds`` seconds, whichever comes first,
    and never over nothing new. The decision reads the store (the last checkpoint's time and the events after
    it), so restarts and several processes (serve, the leader relay) agree; it is checked again under the
    append lock before signing."""

    def __init__(
        self,
        store: EventStore,
        key: Callable[[], SigningKey | Ed25519PrivateKey | None],
        every: int,
        seconds: float,
        started_at: datetime | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.every = every
        self.seconds = seconds
        self.started_at = started_at or store.clock()
        self.written = 0

    @property
    def enabled(self) -> bool:
        """Whether either trigger is on."""
        return self.every > 0 or self.seconds > 0

    @property
    def tick_seconds(self) -> float:
        """How often to look: every 5 s, or half the time trigger when that is shorter (at least 0.2 s)."""
        return min(TICK_SECONDS, max(0.2, self.seconds / 2)) if self.seconds > 0 else TICK_SECONDS

    def due(self, state: LogState, now: datetime) -> bool:
        """The decision for ``state`` at ``now`` (no I/O)."""
        return self.enabled and due(state, now, self.every, self.seconds, self.started_at)

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

    def run(self, stop: threading.Event, interval: float | None = None) -> None:
        """Tick every ``interval`` seconds (default ``tick_seconds``) until ``stop`` is set; a failure is logged and
        the loop goes on."""
        while not stop.wait(interval or self.tick_seconds):
            try:
                self.tick()
            except Exception as exc:  # the database away, a key file unreadable: log, try again next tick
                log.error("automatic checkpoint failed; retrying at the next tick", exc_info=exc)


def checkpointer_for(store: EventStore, settings: AuditSettings) -> Checkpointer | None:
    """The node's automatic checkpointer from settings (None when both triggers are off); it signs with the store's
    signer (the node key, loaded or generated on first use)."""
    seconds = settings.effective_checkpoint_seconds
    if settings.audit_checkpoint_every <= 0 and seconds <= 0:
        return None
    return Checkpointer(store, lambda: None, settings.audit_checkpoint_every, seconds)


def start_checkpoints(
    checkpointer: Checkpointer, stop: threading.Event, interval: float | None = None
) -> threading.Thread:
    """Run ``checkpointer`` in a daemon thread until ``stop`` is set."""
    thread = threading.Thread(target=checkpointer.run, args=(stop, interval), name="checkpoints", daemon=True)
    thread.start()
    return thread


def check_signature(data: dict[str, Any], public: Ed25519PublicKey) -> str | None:
    """None when the checkpoint's signature verifies with ``public``: the C2SP note (and its three lines agree with
    the event's fields), or the v1 statement of checkpoints written before signed appends; else what is wrong."""
    if data.get("algorithm", ALGORITHM) != ALGORITHM:
        return f"algorithm {data['algorithm']} is not {ALGORITHM}"
    if not data.get("note"):
        message = statement(data["signer_node"], data["head_position"], data["head_hash"], data["event_count"])
        try:
            public.verify(base64.b64decode(data["signature"], validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return "the signature does not verify over the checkpoint's statement"
        return None
    origin = origin_of(data["signer_node"])
    try:
        note = parse_note(data["note"])
        body = NoteCheckpoint.parse(note.text)
    except NoteError as exc:
        return f"the checkpoint note is malformed: {exc}"
    if note_signed_by(note, origin, public) is not True:
        return f"the note carries no valid signature by {origin} with key {data['key_id']}"
    if (
        body.origin != origin
        or body.size != data["event_count"]
        or base64.b64encode(body.root).decode() != data["root_hash"]
    ):
        return "the signed note does not say what the event's fields say (origin, tree size or root)"
    return None
