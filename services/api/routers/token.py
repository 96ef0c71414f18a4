"""POST /api/v1/token (OAuth 2.0 client credentials; the LGSP's AccessKey / SecretKey) and the JWKS.

Credentials come as HTTP Basic (RFC 6749 §2.3.1), as form fields, or as JSON. Retrying is safe without an
Idempotency-Key: each call mints a fresh token and writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeGuard
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from services.api.problems import problem_responses
from services.api.security import security_of
from services.api.security.errors import InvalidClient
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind

FORM = "application/x-www-form-urlencoded"
_CREDENTIALS_SCHEMA = {
    "type": "object",
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string", "description": "AccessKey"},
        "client_secret": {"type": "string", "description": "SecretKey"},
    },
    "required": ["grant_type"],
}


class TokenResponse(BaseModel):
    """An access token (RFC 6749 §5.1)."""

    access_token: str = Field(description="JWT ký bởi nút (RS256/EdDSA) / the JWT")
    token_type: str = Field(description="Bearer")
    expires_in: int = Field(description="Số giây còn hiệu lực / lifetime in seconds")
    scope: str = Field(description="Các vai trò, cách nhau bởi dấu cách / the roles, space-separated")
    org_unit: str = Field(description="Đơn vị của ứng dụng / the client's org unit")
    node: str = Field(description="Nút cấp / issuing node")


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def _fields(content_type: str, body: bytes) -> dict[str, Any]:
    """The form or JSON fields of the body; 400 MALFORMED_BODY for JSON that does not parse."""
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(body or b"{}")
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise HTTPException(400, "malformed JSON") from exc
        return parsed if isinstance(parsed, dict) else {}
    try:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
    except (ValueError, UnicodeDecodeError):
        return {}


def _readable_id(client_id: Any) -> TypeGuard[str]:
    """A client id worth looking up: 1–64 printable characters (no NUL reaches the database)."""
    return isinstance(client_id, str) and 0 < len(client_id) <= 64 and client_id.isprintable()


def router(node: Node) -> APIRouter:
    """The token endpoint and the public keys of ``node``."""
    api = APIRouter(tags=["access"])

    @api.post(
        "/api/v1/token",
        response_model=TokenResponse,
        responses=problem_responses(400, 401, 413, 429),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {FORM: {"schema": _CREDENTIALS_SCHEMA}, "application/json": {"schema": _CREDENTIALS_SCHEMA}},
            }
        },
    )
    async def token(request: Request) -> JSONResponse:
        """Cấp mã truy cập theo client credentials / issue an access token for client credentials.

        Gửi client_id (AccessKey) và client_secret (SecretKey) qua HTTP Basic hoặc trong nội dung; mã có hiệu lực
        ``expires_in`` giây / send client_id and client_secret by HTTP Basic or in the body.
        """
        fields = _fields(request.headers.get("content-type", FORM), await request.body())
        grant = fields.get("grant_type")
        if grant != "client_credentials":
            raise DomainRefusal(
                "UNSUPPORTED_GRANT_TYPE",
                Kind.UNREADABLE,
                "Chỉ hỗ trợ grant_type=client_credentials.",
                "Only grant_type=client_credentials is supported.",
                error="unsupported_grant_type",
            )
        credentials = _basic(request.headers.get("authorization")) or (
            fields.get("client_id"),
            fields.get("client_secret"),
        )
        client_id, secret = credentials
        if not _readable_id(client_id) or not isinstance(secret, str):
            raise InvalidClient()
        security = security_of(request)
        security.throttle(f"token:{client_id}", local=True)  # ids the caller chooses: never a database row
        client = await _authenticate(request, client_id, secret)
        if client is None:
            raise InvalidClient()
        issued = security.tokens.mint(client.client_id, client.org_unit_path, list(client.roles), client.name)
        body = TokenResponse(
            access_token=issued,
            token_type="Bearer",
            expires_in=security.tokens.ttl_seconds,
            scope=" ".join(client.roles),
            org_unit=client.org_unit_path,
            node=node.settings.node_id,
        )
        return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @api.get("/.well-known/jwks.json", tags=["access"])
    def jwks(request: Request) -> dict[str, Any]:
        """Khóa công khai để kiểm tra mã truy cập / public keys that verify the tokens (JWK Set)."""
        return security_of(request).tokens.keyring.jwks()

    return api


async def _authenticate(request: Request, client_id: str, secret: str) -> Any:
    """Check the secret off the event loop (scrypt is deliberately slow)."""
    return await run_in_threadpool(security_of(request).clients.authenticate, client_id, secret)
