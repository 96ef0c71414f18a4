"""The keys a verifier trusts: anchors from files (outside the database) and the key events of the log.

**Anchors.** The node's own key file (its public half) and every Ed25519 public key ``*.pem`` in
``audit_trusted_keys_dir`` (``<node>[.<anything>].pem``: pinned keys of peers, kept old keys).

**Key events** (``SigningKeyActivated``, ``SigningKeyRevoked``; stream ``keys-<node>``): a node announces every key
before it seals with it, and its parent and children import the announcement over sync. A key of the log is
trusted when a trusted key vouches for it, in either direction:

* backwards: a trusted key's own announcement names the key it replaced, signed by itself (``possession``), so the
  current key file alone anchors the node's whole key history;
* forwards: its announcement was sealed by a trusted key (a rotation is sealed by the key it replaces).

A peer's first announced key (no predecessor) is trusted on first use: it came over a sync topic that only that
peer may write (docs/pipeline.md, ACLs), and pinning a file overrides it. A key the database merely *contains*
(an attacker's self-announced key) is never trusted: nobody trusted names it.

**Revocation** with a date: what a revoked key sealed for events recorded after ``revoked_since`` is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, select

from services.kernel.codec import AvroCodec
from services.kernel.errors import ThiduaError
from services.kernel.signing import (
    ALGORITHM,
    KEY_ACTIVATED,
    KEY_REVOKED,
    Seal,
    batch_root,
    key_id,
    keys_stream,
    possession_message,
    public_from_b64,
    raw_public,
)
from services.kernel.signing import load_or_create as load_or_create
from services.kernel.tables import event as event_table

from .notes import origin_of, verifier_key


@dataclass(frozen=True)
class PublicKey:
    """A public key a verifier trusts from a file, with its node and where it came from."""

    key: Ed25519PublicKey
    node_id: str
    source: str

    @property
    def key_id(self) -> str:
        """Id of the key (as checkpoints and seals name it)."""
        return key_id(self.key)

    def to_json(self) -> dict[str, Any]:
        """The key as published at GET /api/v1/audit/keys (PEM and an OKP JWK)."""
        return public_json(self.key, self.node_id) | {"source": self.source}


def public_json(key: Ed25519PublicKey, node: str) -> dict[str, Any]:
    """A public key as JSON: id, node, PEM, OKP JWK and signed-note verifier key."""
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    x = base64.urlsafe_b64encode(raw_public(key)).rstrip(b"=").decode()
    kid = key_id(key)
    return {
        "key_id": kid,
        "node_id": node,
        "algorithm": ALGORITHM,
        "public_key_pem": pem.decode(),
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"},
        "note_verifier_key": verifier_key(origin_of(node), key),
    }


def trusted_keys(
    node_key: Ed25519PrivateKey | Ed25519PublicKey | None, node_id: str, folder: Path | None
) -> list[PublicKey]:
    """The node's own public key and every ``*.pem`` public key in ``folder`` (named <node>[.<anything>].pem)."""
    public = node_key.public_key() if isinstance(node_key, Ed25519PrivateKey) else node_key
    keys = [PublicKey(public, node_id, "node")] if public is not None else []
    for path in sorted(folder.glob("*.pem")) if folder and folder.is_dir() else []:
        loaded = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(loaded, Ed25519PublicKey):
            keys.append(PublicKey(loaded, path.name.split(".", 1)[0], path.name))
    return keys


@dataclass
class KnownKey:
    """A key the ring knows: from a file (anchor) or from the log's key events."""

    key_id: str
    node_id: str
    public: Ed25519PublicKey
    source: str  # "file:<name>" | "node" | "log"
    position: int | None = None  # position of its SigningKeyActivated (None: known from a file only)
    activated_at: datetime | None = None
    previous_key_id: str | None = None
    possession_ok: bool = False
    seal: bytes | None = None  # the seal of its announcement (a batch of one) and the announcement's chain hash
    chain_hash: bytes = b""
    revoked_since: datetime | None = None
    revoked_reason: str | None = None
    revoked_position: int | None = None
    trusted: bool = False
    why: str = ""

    def to_json(self, own_node: str, current: str | None) -> dict[str, Any]:
        """The key as /api/v1/keys lists it."""
        status = "revoked" if self.revoked_since else ("active" if self.key_id == current else "retired")
        if self.node_id != own_node:
            status = "revoked" if self.revoked_since else "known"
        return public_json(self.public, self.node_id) | {
            "status": status,
            "source": self.source,
            "trusted": self.trusted,
            "trusted_because": self.why,
            "activated_position": self.position,
            "activated_at": _iso(self.activated_at),
            "previous_key_id": self.previous_key_id,
            "revoked_since": _iso(self.revoked_since),
            "revocation_reason": self.revoked_reason,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass
class KeyRing:
    """Every key known to a verifier, by id, with which are trusted."""

    own_node: str
    keys: dict[str, KnownKey] = field(default_factory=dict)

    def get(self, kid: str, node: str) -> KnownKey | None:
        """The key ``kid`` of ``node`` (None when unknown, or known as another node's)."""
        found = self.keys.get(kid)
        return found if found is not None and found.node_id == node else None

    def trusted(self, kid: str, node: str) -> KnownKey | None:
        """The key when it is trusted for ``node``."""
        found = self.get(kid, node)
        return found if found is not None and found.trusted else None

    def of_node(self, node: str) -> list[KnownKey]:
        """Keys of ``node``, in announcement order (file-only keys first)."""
        return sorted((k for k in self.keys.values() if k.node_id == node), key=lambda k: k.position or 0)

    def add_files(self, anchors: Iterable[PublicKey]) -> None:
        """Trust the keys of files."""
        for anchor in anchors:
            known = self.keys.get(anchor.key_id)
            if known is None:
                known = self.keys[anchor.key_id] = KnownKey(anchor.key_id, anchor.node_id, anchor.key, anchor.source)
            known.trusted, known.why = True, f"file {anchor.source}"

    def add_event(
        self, event_type: str, datum: dict[str, Any], position: int, seal: bytes | None, hash_: bytes
    ) -> None:
        """Learn from one key event of the log (its seal: the batch of one the store wrote it in)."""
        node = datum["meta"]["node_id"]
        if event_type == KEY_REVOKED:
            known = self.keys.get(datum["key_id"])
            if known is not None and known.node_id == node:
                since = _utc(datum["revoked_since"])
                if known.revoked_since is None or since < known.revoked_since:
                    known.revoked_since, known.revoked_reason = since, datum["reason"]
                    known.revoked_position = position
            return
        if event_type != KEY_ACTIVATED:
            return
        try:
            public = public_from_b64(datum["public_key"])
        except (binascii.Error, ValueError):
            return
        kid = key_id(public)
        if kid != datum["key_id"]:
            return
        known = self.keys.get(kid)
        if known is None:
            known = self.keys[kid] = KnownKey(kid, node, public, "log")
        elif known.node_id != node:
            return
        if known.position is None:
            known.position, known.activated_at = position, _utc(datum["activated_at"])
            known.previous_key_id = datum.get("previous_key_id")
            known.possession_ok = _possession(public, node, kid, known.previous_key_id, datum["possession"])
            known.seal, known.chain_hash = seal, hash_

    def settle(self) -> None:
        """Decide which log keys are trusted (see the module docstring), to a fixed point."""
        changed = True
        while changed:
            changed = False
            for known in self.keys.values():
                if not known.possession_ok or known.position is None:
                    continue
                previous = self.keys.get(known.previous_key_id or "")
                if (
                    known.trusted
                    and previous is not None
                    and previous.node_id == known.node_id
                    and not previous.trusted
                ):
                    previous.trusted, previous.why = True, f"named as predecessor by trusted key {known.key_id}"
                    changed = True
                if known.trusted:
                    continue
                sealer = self._sealer(known)
                if sealer is not None and sealer.trusted and sealer.key_id != known.key_id:
                    known.trusted, known.why = True, f"announced under a seal of trusted key {sealer.key_id}"
                    changed = True
                elif known.node_id != self.own_node and known.previous_key_id is None and self._first(known):
                    known.trusted, known.why = True, "first key of a peer, received over its sync topic"
                    changed = True

    def _sealer(self, known: KnownKey) -> KnownKey | None:
        """The key whose valid seal covers ``known``'s announcement alone (None: no such seal)."""
        try:
            parsed = Seal.from_bytes(known.seal or b"")
        except ValueError:
            return None
        sealer = self.get(parsed.key_id, known.node_id)
        if sealer is None or parsed.count != 1:
            return None
        return sealer if parsed.verifies(sealer.public, known.node_id, batch_root([known.chain_hash])) else None

    def _first(self, candidate: KnownKey) -> bool:
        others = [k for k in self.keys.values() if k.node_id == candidate.node_id and k.position is not None]
        return min(others, key=lambda k: k.position or 0) is candidate


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _possession(public: Ed25519PublicKey, node: str, kid: str, previous: str | None, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), possession_message(node, kid, previous))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def load_keyring(
    conn: Connection, codec: AvroCodec, own_node: str, anchors: Iterable[PublicKey], nodes: Iterable[str] = ()
) -> KeyRing:
    """The ring of ``own_node``: file anchors and the key events of the log for the own node, ``nodes`` (peers) and
    the nodes of the anchors."""
    anchors = list(anchors)
    ring = KeyRing(own_node)
    ring.add_files(anchors)
    wanted = sorted({own_node, *nodes, *(a.node_id for a in anchors)})
    c = event_table.c
    rows = conn.execute(
        select(c.position, c.event_type, c.body, c.signature, c.hash)
        .where(c.stream_id.in_([keys_stream(n) for n in wanted]))
        .order_by(c.position)
    )
    for row in rows:
        try:
            datum = codec.decode(bytes(row.body)).datum
        except ThiduaError:  # an altered body: the walk reports it at its position
            continue
        ring.add_event(row.event_type, datum, row.position, row.signature, bytes(row.hash))
    ring.settle()
    return ring
