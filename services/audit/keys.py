"""The node's Ed25519 checkpoint key and the public keys whose checkpoints a verifier trusts."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 bytes (hex) of sha256 of the raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:32]


@dataclass(frozen=True)
class PublicKey:
    """A public key a verifier trusts, with its id and where it came from."""

    key: Ed25519PublicKey
    node_id: str
    source: str

    @property
    def key_id(self) -> str:
        """Id of the key (as checkpoints name it)."""
        return key_id(self.key)

    def to_json(self) -> dict[str, str]:
        """The key as published at GET /api/v1/audit/keys (PEM and an OKP JWK)."""
        pem = self.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        x = base64.urlsafe_b64encode(raw_public(self.key)).rstrip(b"=").decode()
        return {
            "key_id": self.key_id,
            "node_id": self.node_id,
            "algorithm": ALGORITHM,
            "source": self.source,
            "public_key_pem": pem.decode(),
            "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.key_id, "use": "sig"},  # type: ignore[dict-item]
        }


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path`` (PEM, PKCS#8), generated there (mode 0600) on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def trusted_keys(node_key: Ed25519PrivateKey | None, node_id: str, folder: Path | None) -> list[PublicKey]:
    """The node's own public key and every ``*.pem`` public key in ``folder`` (named <node>[.<anything>].pem)."""
    keys = [PublicKey(node_key.public_key(), node_id, "node")] if node_key is not None else []
    for path in sorted(folder.glob("*.pem")) if folder and folder.is_dir() else []:
        loaded = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(loaded, Ed25519PublicKey):
            keys.append(PublicKey(loaded, path.name.split(".", 1)[0], path.name))
    return keys
