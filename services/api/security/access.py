"""The access layer of the API: who calls (bearer token), whether it may still (client not revoked), how often.

``Security`` is built once per app and kept on ``app.state.security``; ``current_principal`` is the dependency
every protected route declares (it also shows the bearer scheme in OpenAPI). It runs on the event loop when the
answer is in memory (a token verified before, its client row and the revoked set cached, a token of the quota's
lease left: the common case), and in a worker thread only when it needs the database, a file or the issuer's JWKS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from services.kernel.settings import ApiSettings

from .clients import ClientStore
from .errors import RateLimited, Unauthenticated, WouldBlock
from .keys import KeyRing
from .ratelimit import RateLimiter, SharedRateLimiter
from .scopes import Principal
from .tokens import TokenIssuer

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="Mã truy cập từ POST /api/v1/token / access token from POST /api/v1/token",
)


@dataclass
class Security:
    """Tokens, clients and quotas of one node."""

    tokens: TokenIssuer
    clients: ClientStore
    limiter: RateLimiter

    @classmethod
    def for_node(cls, settings: ApiSettings, engine: Engine) -> Security:
        """Wire the access layer from settings (no file or database is touched until first use)."""
        dev_dir = settings.data_dir if settings.api_dev_signing_key else None
        keyring = KeyRing(settings.api_signing_key_file, dev_dir)
        trusted = jwt.PyJWKClient(settings.api_trusted_jwks_url) if settings.api_trusted_jwks_url else None
        tokens = TokenIssuer(
            keyring,
            settings.node_id,
            settings.api_token_issuer or f"thidua:{settings.node_id}",
            settings.api_token_audience,
            settings.api_token_ttl_seconds,
            trusted,
            settings.api_trusted_issuer,
        )
        per_minute, burst = settings.api_rate_limit_per_minute, settings.api_rate_limit_burst
        shared = engine.dialect.name == "postgresql"  # several API processes: the quotas live in the database
        limiter = SharedRateLimiter(engine, per_minute, burst) if shared else RateLimiter(per_minute, burst)
        return cls(tokens, ClientStore(engine), limiter)

    def authenticate(self, token: str, blocking: bool = True) -> Principal:
        """The caller, if the token is valid and its client (when this node issued it) is not revoked (unless
        ``blocking``, :class:`WouldBlock` when that needs the database: nothing was taken from the quota then)."""
        principal, own = self.tokens.verify(token, blocking)
        quota = None
        if own:
            client = self.clients.get(principal.client_id, cached=True, blocking=blocking)
            if client is None or not client.active:
                raise Unauthenticated(
                    "TOKEN_REVOKED",
                    f"Ứng dụng {principal.client_id} đã bị thu hồi quyền truy cập.",
                    f"Client {principal.client_id} has been revoked.",
                )
            quota = client.rate_limit_per_minute
        if principal.token_id is not None and self.clients.token_revoked(principal.token_id, True, blocking):
            raise Unauthenticated(
                "TOKEN_REVOKED",
                f"Mã truy cập {principal.token_id} đã bị thu hồi; lấy mã mới.",
                f"Token {principal.token_id} has been revoked; get a new one.",
            )
        self.throttle(principal.client_id, quota, blocking=blocking)
        return principal

    def throttle(
        self, client_id: str, per_minute: int | None = None, local: bool = False, blocking: bool = True
    ) -> None:
        """429 when ``client_id`` has used up its quota (``local``: a bucket of this process only; unless
        ``blocking``, :class:`WouldBlock` when taking from the quota needs the database)."""
        wait = self.limiter.take(client_id, per_minute, local, blocking)
        if wait > 0:
            raise RateLimited(client_id, wait, per_minute or self.limiter.per_minute)


def security_of(request: Request) -> Security:
    """The app's access layer."""
    return request.app.state.security  # type: ignore[no-any-return]


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The authenticated, not throttled caller of this request (401 / 429 otherwise): on the event loop from memory,
    else in a worker thread (see the module)."""
    if credentials is None:
        raise Unauthenticated(
            "MISSING_TOKEN",
            "Thiếu mã truy cập: gửi 'Authorization: Bearer <token>' (lấy tại POST /api/v1/token).",
            "Missing bearer token: send 'Authorization: Bearer <token>' (get one at POST /api/v1/token).",
        )
    security = security_of(request)
    try:
        principal = security.authenticate(credentials.credentials, blocking=False)
    except WouldBlock:
        principal = await run_in_threadpool(security.authenticate, credentials.credentials)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(current_principal)]
