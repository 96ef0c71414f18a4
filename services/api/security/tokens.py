"""Access tokens: JWTs signed by the node's key (or by a trusted external issuer's JWKS) naming who calls.

Claims: ``iss``, ``aud``, ``sub`` (client id), ``iat``, ``nbf``, ``exp``, ``jti``, ``name`` (the client's name),
``org_unit`` (path), ``roles`` and ``node``.

A token that verified is kept (:class:`VerifiedTokens`, keyed by the whole token string) until its ``exp`` and at
most :data:`VERIFIED_SECONDS`, so a client sending the same token again costs a dictionary lookup instead of a
signature check and the claims' validation. Only what the token itself proves is kept: whether its client or the
token was revoked is asked at every request (``Security.authenticate``), so a revocation still refuses the very next
request. A token of a trusted external issuer is re-verified against its JWKS at least every
:data:`VERIFIED_SECONDS` (``PyJWKClient`` keeps the keys as long).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from services.kernel.errors import InvalidOrgPath
from services.kernel.orgpaths import OrgPath

from .errors import Unauthenticated, WouldBlock, wrong_node
from .keys import KeyRing
from .scopes import Principal, known_roles

EXTERNAL_ALGORITHMS = ["RS256", "EdDSA", "ES256"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
LEEWAY_SECONDS = 30
VERIFIED_SECONDS = 300.0  # the longest a verified token is kept (PyJWKClient's default key lifespan)
VERIFIED_MAX = 10_000  # tokens kept at most (a few MB); the oldest go first


class VerifiedTokens:
    """Tokens that verified, by their exact text, with what they proved; bounded in number and in time."""

    def __init__(
        self,
        max_tokens: int = VERIFIED_MAX,
        max_seconds: float = VERIFIED_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_tokens = max_tokens
        self.max_seconds = max_seconds
        self.clock = clock
        self._kept: dict[str, tuple[float, Principal, bool]] = {}  # token → (Unix time it goes, principal, own)
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[Principal, bool] | None:
        """The principal and issuer of ``token`` if it verified and has not expired since (else None)."""
        found = self._kept.get(token)
        if found is None or found[0] <= self.clock():
            return None
        return found[1], found[2]

    def put(self, token: str, principal: Principal, own: bool, expires: float) -> None:
        """Keep a verified token until ``expires`` (its ``exp``, Unix seconds), at most ``max_seconds`` from now."""
        now = self.clock()
        until = min(expires, now + self.max_seconds)
        if until <= now:
            return
        with self._lock:
            if len(self._kept) >= self.max_tokens and token not in self._kept:
                for gone in [t for t, kept in self._kept.items() if kept[0] <= now] or [next(iter(self._kept))]:
                    del self._kept[gone]
            self._kept[token] = (until, principal, own)

    def __len__(self) -> int:
        return len(self._kept)


@dataclass(frozen=True)
class TokenIssuer:
    """Mints and verifies tokens for one node."""

    keyring: KeyRing
    node_id: str
    issuer: str
    audience: str
    ttl_seconds: int
    trusted_jwks: jwt.PyJWKClient | None = None
    trusted_issuer: str | None = None
    verified: VerifiedTokens = field(default_factory=VerifiedTokens, compare=False, repr=False)

    def mint(
        self, client_id: str, org_unit: str, roles: list[str], name: str | None = None, now: datetime | None = None
    ) -> str:
        """A signed token for a client of ``org_unit`` with ``roles`` on this node."""
        now = now or datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=self.ttl_seconds),
            "jti": str(uuid.uuid4()),
            "name": name,
            "org_unit": org_unit,
            "roles": sorted(roles),
            "node": self.node_id,
        }
        key = self.keyring.key
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})

    def verify(self, token: str, blocking: bool = True) -> tuple[Principal, bool]:
        """The caller a token names, and whether this node issued it; 401 or 403 problems otherwise (a token that
        verified before answers from :class:`VerifiedTokens` until its expiry; else, unless ``blocking``,
        :class:`WouldBlock`: the first check may read the key file or fetch the issuer's JWKS)."""
        found = self.verified.get(token)
        if found is not None:
            return found
        if not blocking:
            raise WouldBlock
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _invalid("Mã truy cập không đúng định dạng JWT.", "The token is not a well-formed JWT.") from exc
        own = self.keyring.key
        if header.get("kid") == own.kid:
            claims = self._decode(token, own.public, [own.algorithm], self.issuer)
        elif self.trusted_jwks is not None and self.trusted_issuer is not None:
            try:
                key = self.trusted_jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWTError as exc:
                raise _invalid("Khóa ký của mã truy cập không được tin cậy.", "Unknown signing key.") from exc
            claims = self._decode(token, key, EXTERNAL_ALGORITHMS, self.trusted_issuer)
        else:
            raise _invalid("Khóa ký của mã truy cập không được tin cậy.", "Unknown signing key.")
        principal, issued_here = self._principal(claims), header.get("kid") == own.kid
        self.verified.put(token, principal, issued_here, float(claims["exp"]))
        return principal, issued_here

    def _decode(self, token: str, key: Any, algorithms: list[str], issuer: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("TOKEN_EXPIRED", "Mã truy cập đã hết hạn.", "The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise _invalid(f"Mã truy cập không hợp lệ ({exc}).", f"Invalid token ({exc}).") from exc

    def _principal(self, claims: dict[str, Any]) -> Principal:
        node, org_unit, roles = claims.get("node"), claims.get("org_unit"), claims.get("roles")
        if not isinstance(node, str) or not isinstance(org_unit, str) or not isinstance(roles, list):
            raise _invalid("Mã truy cập thiếu node, org_unit hoặc roles.", "The token lacks node, org_unit or roles.")
        if node != self.node_id:
            raise wrong_node(node, self.node_id)
        try:
            path = OrgPath.parse(org_unit)
        except InvalidOrgPath as exc:
            raise _invalid("Đơn vị trong mã truy cập không hợp lệ.", "Invalid org_unit in the token.") from exc
        name, jti = claims.get("name"), claims.get("jti")
        return Principal(
            str(claims["sub"]),
            path,
            known_roles(roles),
            node,
            name if isinstance(name, str) else None,
            token_id=jti if isinstance(jti, str) else None,
        )


def _invalid(message_vi: str, message_en: str) -> Unauthenticated:
    return Unauthenticated("INVALID_TOKEN", message_vi, message_en)
