"""Key life cycle: rotation (the old key vouches for the new, the new names the old) and revocation with a date.

``rotate_key`` appends the new key's ``SigningKeyActivated`` in a batch sealed by the current key, then makes the new
key the store's; ``rotate_key_file`` does it for the key file: the new key is written to a temporary file first
(fsync), the announcement is committed, and only then is the file renamed over the old one (every process that uses
the file picks the new key up within a second, ``FileSigner``). The old private key is deleted with the rename: the
log's announcements and the new key's word keep old history verifiable without it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from services.kernel.signing import (
    AUDIT_ACTOR,
    KEY_ACTIVATED,
    KEY_REVOKED,
    ROOT_UNIT,
    LocalKey,
    SigningKey,
    activation_payload,
    keys_stream,
    write_private_key,
)
from services.kernel.store import EventStore, NewEvent
from services.kernel.tables import event as event_table


def _version(store: EventStore, conn: object) -> int:
    c = event_table.c
    query = select(func.coalesce(func.max(c.stream_version), 0)).where(c.stream_id == keys_stream(store.node_id))
    return int(conn.execute(query).scalar_one())  # type: ignore[attr-defined]


def announce_successor(store: EventStore, new_key: SigningKey, when: datetime | None = None) -> str:
    """Append ``new_key``'s announcement sealed by the store's current key; return the current (old) key's id."""
    moment = (when or store.clock()).astimezone(UTC)
    with store.engine.begin() as conn:
        store.lock(conn)
        old = store.signing_key(conn)  # announced first if it was not yet
        if old is None:
            raise ValueError("the store has no signing key to rotate from")
        payload = activation_payload(new_key, store.node_id, old.key_id, moment)
        store.append_in(
            conn,
            keys_stream(store.node_id),
            _version(store, conn),
            [NewEvent(KEY_ACTIVATED, payload, ROOT_UNIT, AUDIT_ACTOR, moment)],
        )
    return old.key_id


def rotate_key(store: EventStore, new_key: LocalKey, when: datetime | None = None) -> str:
    """Rotate an in-process key: announce ``new_key`` under the old one, then seal with it; the old key's id."""
    old = announce_successor(store, new_key, when)
    store.signer = new_key
    return old


def rotate_key_file(store: EventStore, path: Path) -> tuple[str, str]:
    """Rotate the key file ``path`` (the store's ``FileSigner``): (old key id, new key id)."""
    new = LocalKey(Ed25519PrivateKey.generate())
    staged = path.with_name(path.name + ".new")
    staged.unlink(missing_ok=True)
    write_private_key(staged, new.private)
    try:
        old = announce_successor(store, new)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, path)
    return old, new.key_id


def revoke_key(store: EventStore, key_id: str, since: datetime, reason: str) -> None:
    """Revoke ``key_id`` from ``since``: what it sealed for events recorded after that is refused by verify."""
    if store.signer is not None and store.signer.current().key_id == key_id:
        raise ValueError("rotate first: the key being revoked is the one the node signs with")
    moment = store.clock().astimezone(UTC)
    payload = {"key_id": key_id, "revoked_since": since.astimezone(UTC), "reason": reason}
    with store.engine.begin() as conn:
        store.lock(conn)
        store.append_in(
            conn,
            keys_stream(store.node_id),
            _version(store, conn),
            [NewEvent(KEY_REVOKED, payload, ROOT_UNIT, AUDIT_ACTOR, moment)],
        )
