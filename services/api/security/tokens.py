"""Access tokens: JWTs signed by the node's key (or by a trusted external issuer's JWKS) naming who calls.

Claims: ``iss``, ``aud``, ``sub`` (client id), ``iat``, ``nbf``, ``exp``, ``jti``, ``name`` (the client's name),
``org_unit`` (path), ``roles`` and ``node``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from services.kernel.errors import InvalidOrgPath
from services.kernel.orgpaths import OrgPath

from .errors import Unauthenticated, wrong_node
from .keys import KeyRing
from .scopes import Principal, known_roles

EXTERNAL_ALGORITHMS = ["RS256", "EdDSA", "ES256"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
LEEWAY_SECONDS = 30


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

    def verify(self, token: str) -> tuple[Principal, bool]:
        """The caller a token names, and whether this node issued it; 401 or 403 problems otherwise."""
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
        return self._principal(claims), header.get("kid") == own.kid

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
