"""Signed checkpoints: the node's Ed25519 signature over the head of its hash chain, appended as an event."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, select

from services.kernel.store import GENESIS_HASH, EventStore, NewEvent
from services.kernel.tables import event as event_table

from .keys import ALGORITHM, PublicKey, key_id

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


def events_since_checkpoint(store: EventStore) -> int:
    """Events appended after this node's last checkpoint (all events when there is none)."""
    c = event_table.c
    with store.engine.connect() as conn:
        last = conn.execute(select(func.max(c.position)).where(c.stream_id == stream_of(store.node_id))).scalar()
        query = select(func.count()).select_from(event_table)
        if last is not None:
            query = query.where(c.position > last)
        return int(conn.execute(query).scalar_one())


def maybe_checkpoint(store: EventStore, key: Ed25519PrivateKey, every: int) -> Checkpoint | None:
    """Write a checkpoint when ``every`` (>0) events or more were appended since the last one."""
    if every > 0 and events_since_checkpoint(store) >= every:
        return write_checkpoint(store, key)
    return None


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
