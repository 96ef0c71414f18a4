"""Signed appends: the node's Ed25519 key (outside the database) seals every batch the store writes.

A **seal** is kept on the last row of each append batch (``event.signature``). It signs the RFC 6962 Merkle root of
the batch's chain hashes::

    thidua-append/v1\\n<node>\\n<count>\\n<base64 root>\\n

Each chain hash commits to every earlier event (``hash = sha256(prev_hash || body)``), so a seal also vouches for
the whole history before its batch; the root (rather than the last hash alone) lets one event of a batch be proven
by itself: an event sent to another node carries an **origin proof** (the seal, its index in the batch, its
predecessor's hash and the inclusion path), so the receiver checks the origin's signature without the origin's
other events.

The key lives in a file (PEM, PKCS#8; generated on first use, mode 0600) or behind the ``Signer`` seam (an HSM or a
cloud KMS implements ``current()``); never in a table. ``FileSigner`` notices a rotated key file within a second.
Every key that signs is announced in the log first (``SigningKeyActivated``, stream ``keys-<node>``), so the log
names the keys that verify it and peers learn them over sync.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import merkle

ALGORITHM = "Ed25519"
SEAL_VERSION = 1
_SEAL = struct.Struct(">BI16s64s")  # version, count, key id (16 bytes), signature
SEAL_SIZE = _SEAL.size  # 85 bytes
_PROOF_HEAD = struct.Struct(">BI32sB")  # version, index in the batch, predecessor's hash, path length
KEY_ACTIVATED, KEY_REVOKED = "SigningKeyActivated", "SigningKeyRevoked"
ROOT_UNIT: dict[str, Any] = {"code": "VN", "path": "VN", "level": "CENTRAL", "name": None}
AUDIT_ACTOR: dict[str, Any] = {
    "actor_id": "audit",
    "kind": "SYSTEM",
    "display_name": "Kiểm tra",
    "org_unit_path": None,
    "roles": [],
}


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 bytes (hex) of sha256 of the raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:32]


def keys_stream(node: str) -> str:
    """The stream of a node's key events."""
    return f"keys-{node}"


class SigningKey(Protocol):
    """One key as a signer sees it: its id, its public half, and a way to sign (an HSM never shows the rest)."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> Ed25519PublicKey: ...

    def sign(self, message: bytes) -> bytes: ...


class Signer(Protocol):
    """Where the node's current signing key comes from (a file, or a key-management service)."""

    def current(self) -> SigningKey: ...


@dataclass(frozen=True)
class LocalKey:
    """An Ed25519 private key held in this process (its public half and id computed once: a seal per append)."""

    private: Ed25519PrivateKey
    public_key: Ed25519PublicKey = field(init=False, repr=False, compare=False)
    key_id: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", self.private.public_key())
        object.__setattr__(self, "key_id", key_id(self.public_key))

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        return self.private.sign(message)

    def current(self) -> LocalKey:
        """A fixed key is its own signer (tests, the rotation command)."""
        return self


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path`` (PEM, PKCS#8), generated there (mode 0600) on first use."""
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_private_key(path, key)
            return key
        except FileExistsError:  # another process created it meanwhile: use theirs
            pass
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return loaded


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` to a new file ``path`` (mode 0600; FileExistsError if it exists)."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())


class FileSigner:
    """The key in a PEM file, generated on first use and reloaded when the file changes (a rotation installs a new
    file by rename); the file is looked at no more than once per ``recheck_seconds``."""

    def __init__(self, path: Path, recheck_seconds: float = 1.0) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self._key: LocalKey | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> LocalKey:
        """The key in the file now."""
        now = time.monotonic()
        if self._key is not None and now - self._checked < self.recheck_seconds:
            return self._key
        with self._lock:
            stamp = self._file_stamp()
            if self._key is None or stamp != self._stamp:
                self._key = LocalKey(load_or_create(self.path))
                self._stamp = self._file_stamp()
            self._checked = now
            return self._key

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)


# --- seals: one signature per append batch ---------------------------------------------------------------------


def append_message(node: str, count: int, root: bytes) -> bytes:
    """The bytes a seal signs."""
    return f"thidua-append/v1\n{node}\n{count}\n{base64.b64encode(root).decode()}\n".encode()


@dataclass(frozen=True)
class Seal:
    """The signature of one append batch: how many events it covers, by which key, and the signature."""

    count: int
    key_id: str
    signature: bytes

    def to_bytes(self) -> bytes:
        """85 bytes: version, count, key id, signature."""
        return _SEAL.pack(SEAL_VERSION, self.count, bytes.fromhex(self.key_id), self.signature)

    @classmethod
    def from_bytes(cls, data: bytes) -> Seal:
        """Parse a seal (ValueError when it is not one)."""
        if len(data) != SEAL_SIZE or data[0] != SEAL_VERSION:
            raise ValueError("not a version 1 append seal")
        _, count, kid, signature = _SEAL.unpack(data)
        if count < 1:
            raise ValueError("a seal covers at least one event")
        return cls(count, kid.hex(), signature)

    def verifies(self, public: Ed25519PublicKey, node: str, root: bytes) -> bool:
        """Whether the signature holds for ``node``'s batch of ``count`` events with this Merkle ``root``."""
        try:
            public.verify(self.signature, append_message(node, self.count, root))
        except InvalidSignature:
            return False
        return True


def batch_root(hashes: Sequence[bytes]) -> bytes:
    """The RFC 6962 root of a batch's chain hashes."""
    return merkle.root([merkle.leaf_hash(h) for h in hashes])


def seal(key: SigningKey, node: str, hashes: Sequence[bytes]) -> bytes:
    """The seal (bytes) of a batch of events with chain ``hashes``, signed by ``key``."""
    signature = key.sign(append_message(node, len(hashes), batch_root(hashes)))
    return Seal(len(hashes), key.key_id, signature).to_bytes()


@dataclass(frozen=True)
class OriginProof:
    """What lets another node check one event against its origin's seal: the seal, the event's index in the sealed
    batch, the hash of its predecessor in the origin's chain and its inclusion path in the batch's tree."""

    seal: Seal
    index: int
    prev_hash: bytes
    path: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """Binary form (stored in ``foreign_event.origin_signature``; base64 in the ``ce_signature`` header)."""
        head = _PROOF_HEAD.pack(SEAL_VERSION, self.index, self.prev_hash, len(self.path))
        return head + self.seal.to_bytes() + b"".join(self.path)

    @classmethod
    def from_bytes(cls, data: bytes) -> OriginProof:
        """Parse (ValueError when malformed)."""
        if len(data) < _PROOF_HEAD.size + SEAL_SIZE or data[0] != SEAL_VERSION:
            raise ValueError("not a version 1 origin proof")
        _, index, prev_hash, n = _PROOF_HEAD.unpack_from(data)
        rest = data[_PROOF_HEAD.size :]
        found = Seal.from_bytes(rest[:SEAL_SIZE])
        path = rest[SEAL_SIZE:]
        if len(path) != 32 * n:
            raise ValueError("origin proof path has the wrong length")
        return cls(found, index, prev_hash, tuple(path[i : i + 32] for i in range(0, len(path), 32)))

    def check(self, public: Ed25519PublicKey, node: str, body: bytes, origin_hash: bytes) -> str | None:
        """None when ``body`` hashes to ``origin_hash`` after ``prev_hash`` and the seal covers it; else why not."""
        if hashlib.sha256(self.prev_hash + body).digest() != origin_hash:
            return "sha256(prev_hash || body) is not the origin's hash"
        leaf = merkle.leaf_hash(origin_hash)
        root = merkle.root_from_inclusion(self.index, self.seal.count, leaf, self.path)
        if root is None:
            return "the inclusion path does not fit the sealed batch"
        if not self.seal.verifies(public, node, root):
            return f"the seal by key {self.seal.key_id} does not verify"
        return None


def origin_proofs(seal_bytes: bytes, hashes: Sequence[bytes], prev: bytes, wanted: Sequence[int]) -> dict[int, bytes]:
    """Origin proofs (bytes) of the events at indexes ``wanted`` of a sealed batch with chain ``hashes``, whose first
    event follows ``prev``."""
    found = Seal.from_bytes(seal_bytes)
    paths = merkle.inclusion_proofs([merkle.leaf_hash(h) for h in hashes], wanted)
    return {i: OriginProof(found, i, hashes[i - 1] if i else prev, tuple(paths[i])).to_bytes() for i in wanted}


# --- keys announced in the log ---------------------------------------------------------------------------------


def possession_message(node: str, kid: str, previous: str | None) -> bytes:
    """What a new key signs to prove the node holds it, naming the key it replaces (``-``: none): so a trusted key
    vouches for its predecessors, and the current key alone anchors the node's key history."""
    return f"thidua-key/v1\n{node}\n{kid}\n{previous or '-'}\n".encode()


def activation_payload(key: SigningKey, node: str, previous: str | None, when: datetime) -> dict[str, Any]:
    """The payload of a ``SigningKeyActivated`` event for ``key``."""
    return {
        "key_id": key.key_id,
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(raw_public(key.public_key)).decode(),
        "activated_at": when,
        "previous_key_id": previous,
        "possession": base64.b64encode(key.sign(possession_message(node, key.key_id, previous))).decode(),
    }


def public_from_b64(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its raw bytes in base64."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
