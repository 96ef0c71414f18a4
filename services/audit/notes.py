"""C2SP signed notes (c2sp.org/signed-note), transparency-log checkpoints (c2sp.org/tlog-checkpoint) and witness
cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``), with Ed25519 keys.

A node's checkpoint::

    thidua-sync/p15                   origin: "thidua-sync/" + node id
    12345                             tree size: events covered
    <base64 RFC 6962 root>            over the chain hashes of those events, in position order

    — thidua-sync/p15 <base64(key hash(4) || Ed25519 signature(64))>
    — thidua-sync/central <base64(key hash(4) || timestamp(8, big-endian) || Ed25519 signature(64))>

The first signature line is the node's (signature type 0x01 over the note text); the others are witnesses'
cosignatures (type 0x04 over ``cosignature/v1\\ntime <t>\\n`` + the note text). One node key signs appends,
checkpoints and cosignatures: the three messages start differently (``thidua-append/v1``, the origin,
``cosignature/v1``), which is the domain separation the signed-note spec asks for when a key is reused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.kernel.signing import SigningKey, raw_public

ORIGIN_PREFIX = "thidua-sync/"
ED25519, COSIGNATURE_V1 = 0x01, 0x04
DASH = "\u2014"


def origin_of(node: str) -> str:
    """The checkpoint origin (and key name) of a node's log."""
    return ORIGIN_PREFIX + node


def key_hash(name: str, kind: int, public: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + raw_public(public)).digest()[:4]


def verifier_key(name: str, public: Ed25519PublicKey, kind: int = ED25519) -> str:
    """The key as a signed-note verifier key string: ``<name>+<hex key ID>+<base64(type || public key)>``."""
    material = base64.b64encode(bytes([kind]) + raw_public(public)).decode()
    return f"{name}+{key_hash(name, kind, public).hex()}+{material}"


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    """The note text of a checkpoint."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class SignatureLine:
    """One signature line: key name, key ID and the signature bytes after it."""

    name: str
    key_hash: bytes
    signature: bytes

    def render(self) -> str:
        """``— <name> <base64(key ID || signature)>``."""
        return f"{DASH} {self.name} {base64.b64encode(self.key_hash + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note."""

    text: str
    signatures: tuple[SignatureLine, ...]

    def render(self) -> str:
        """The note with its signature lines."""
        return self.text + "\n" + "".join(s.render() for s in self.signatures)

    def with_signature(self, line: SignatureLine) -> Note:
        """The note with one more signature line (replacing one from the same key)."""
        kept = tuple(s for s in self.signatures if (s.name, s.key_hash) != (line.name, line.key_hash))
        return Note(self.text, (*kept, line))


class NoteError(ValueError):
    """Text that is not a well-formed signed note or checkpoint."""


def parse_note(data: str) -> Note:
    """Parse a signed note (text, blank line, signature lines)."""
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise NoteError("a signed note may not contain control characters other than newline")
    cut = data.rfind("\n\n")
    if cut < 0 or not data.endswith("\n"):
        raise NoteError("a signed note is text, a blank line and signature lines, each ending in a newline")
    text, lines = data[: cut + 1], data[cut + 2 :].splitlines()
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or not parts[1]:
            raise NoteError(f"malformed signature line {line!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise NoteError(f"signature line {line!r} is not base64") from exc
        if len(raw) < 5:
            raise NoteError(f"signature line {line!r} is too short")
        signatures.append(SignatureLine(parts[1], raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("a signed note needs at least one signature line")
    return Note(text, tuple(signatures))


def sign_note(text: str, name: str, key: SigningKey) -> Note:
    """A note of ``text`` signed (Ed25519, type 0x01) by ``key`` under ``name``."""
    line = SignatureLine(name, key_hash(name, ED25519, key.public_key), key.sign(text.encode()))
    return Note(text, (line,))


def note_signed_by(note: Note, name: str, public: Ed25519PublicKey) -> bool | None:
    """True when the note carries a valid Ed25519 signature by (name, public); False when it carries a line of that
    key that does not verify; None when it has no line of that key (the spec: ignore unknown keys)."""
    wanted = key_hash(name, ED25519, public)
    lines = [s for s in note.signatures if s.name == name and s.key_hash == wanted]
    if not lines:
        return None
    try:
        for line in lines:
            public.verify(line.signature, note.text.encode())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Checkpoint:
    """The three lines of a tlog-checkpoint."""

    origin: str
    size: int
    root: bytes

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """From a note's text (extension lines are refused: none is expected from a thidua log)."""
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise NoteError("a checkpoint is exactly three lines: origin, tree size, root hash")
        origin, size, root = lines[:3]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("malformed checkpoint origin or tree size")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error as exc:
            raise NoteError("the checkpoint root is not base64") from exc
        if len(digest) != 32:
            raise NoteError("the checkpoint root is not a SHA-256 hash")
        return cls(origin, int(size), digest)


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs."""
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(note: Note, name: str, key: SigningKey, timestamp: int) -> SignatureLine:
    """A witness's cosignature line over ``note`` at POSIX time ``timestamp``."""
    signature = key.sign(cosignature_message(note.text, timestamp))
    return SignatureLine(name, key_hash(name, COSIGNATURE_V1, key.public_key), timestamp.to_bytes(8, "big") + signature)


def cosigned_at(note: Note, name: str, public: Ed25519PublicKey) -> int | None:
    """The timestamp of the valid cosignature by (name, public) on ``note``; None when there is none."""
    wanted = key_hash(name, COSIGNATURE_V1, public)
    for line in note.signatures:
        if line.name != name or line.key_hash != wanted or len(line.signature) != 72:
            continue
        timestamp = int.from_bytes(line.signature[:8], "big")
        try:
            public.verify(line.signature[8:], cosignature_message(note.text, timestamp))
        except InvalidSignature:
            return None
        return timestamp
    return None
