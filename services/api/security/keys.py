"""Signing keys: the node's own (a deployment PEM file, or a dev key generated in <data_dir>) and its JWKS.

Tokens are asymmetric: RSA keys sign RS256, Ed25519 keys sign EdDSA. Anyone can verify them with the public keys
at ``/.well-known/jwks.json``; the ``kid`` is the RFC 7638 thumbprint of the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

log = logging.getLogger(__name__)
DEV_KEY_FILE = "api-dev-signing-key.pem"
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}


@dataclass(frozen=True)
class SigningKey:
    """A private key with its algorithm, key id and public JWK."""

    private: Any
    algorithm: str
    kid: str
    public_jwk: dict[str, Any]

    @classmethod
    def from_private(cls, private: Any) -> SigningKey:
        """Wrap an Ed25519 (EdDSA) or RSA (RS256) private key."""
        if isinstance(private, ed25519.Ed25519PrivateKey):
            algorithm, jwk = "EdDSA", OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
        elif isinstance(private, rsa.RSAPrivateKey):
            algorithm, jwk = "RS256", RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        else:
            raise ValueError(f"unsupported signing key {type(private).__name__}: use RSA or Ed25519")
        kid = thumbprint(jwk)
        return cls(private, algorithm, kid, {**jwk, "kid": kid, "alg": algorithm, "use": "sig"})

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """Load a PEM private key (PKCS#8 or traditional, unencrypted)."""
        return cls.from_private(serialization.load_pem_private_key(pem, password=None))

    @property
    def public(self) -> Any:
        """The public key."""
        return self.private.public_key()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url without padding)."""
    members = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_dev_key(path: Path) -> bytes:
    """Create an Ed25519 key at ``path`` (mode 0600) unless one is there; return the PEM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    log.warning("generated a DEV token signing key at %s (set THIDUA_API_SIGNING_KEY_FILE in deployment)", path)
    return pem


class KeyRing:
    """The node's signing key, loaded on first use (so building the app touches no file)."""

    def __init__(self, key_file: Path | None, dev_key_dir: Path | None) -> None:
        self.key_file = key_file
        self.dev_key_dir = dev_key_dir
        self._key: SigningKey | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> SigningKey:
        """The signing key: the configured file, else the dev key (generated if missing)."""
        with self._lock:
            if self._key is None:
                self._key = SigningKey.from_pem(self._pem())
            return self._key

    def _pem(self) -> bytes:
        if self.key_file is not None:
            return self.key_file.read_bytes()
        if self.dev_key_dir is None:
            raise RuntimeError("no token signing key: set THIDUA_API_SIGNING_KEY_FILE")
        path = self.dev_key_dir / DEV_KEY_FILE
        return path.read_bytes() if path.exists() else generate_dev_key(path)

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK Set."""
        return {"keys": [self.key.public_jwk]}
