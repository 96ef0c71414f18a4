"""Refusals of the access layer: 401 (who are you), 403 (not allowed), 429 (too many requests)."""

from __future__ import annotations

import math
from typing import Any

from services.kernel.errors import DomainRefusal, Kind, ThiduaError

REALM = "thidua"


class Unauthenticated(ThiduaError):
    """No token, or a token that is malformed, expired, revoked or signed by an unknown key (401)."""

    kind = Kind.UNAUTHENTICATED

    def __init__(self, code: str, message_vi: str, message_en: str, **details: Any) -> None:
        self.code = code
        super().__init__(message_vi, message_en, **details)
        error = "invalid_request" if code == "MISSING_TOKEN" else "invalid_token"
        self.headers = {"WWW-Authenticate": f'Bearer realm="{REALM}", error="{error}"'}


class InvalidClient(ThiduaError):
    """Wrong client id or secret at the token endpoint (OAuth 2.0 ``invalid_client``, 401)."""

    code = "INVALID_CLIENT"
    kind = Kind.UNAUTHENTICATED

    def __init__(self) -> None:
        super().__init__(
            "Sai mã ứng dụng (client_id) hoặc khóa bí mật, hoặc ứng dụng đã bị thu hồi.",
            "Wrong client id or secret, or the client was revoked.",
            error="invalid_client",
        )
        self.headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'}


class RateLimited(ThiduaError):
    """The client used up its request quota for now (429, with Retry-After)."""

    code = "RATE_LIMITED"
    kind = Kind.RATE_LIMITED

    def __init__(self, client_id: str, retry_after: float, per_minute: int) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            f"Vượt hạn mức {per_minute} yêu cầu/phút của ứng dụng {client_id}; thử lại sau {seconds} giây.",
            f"Client {client_id} exceeded its quota of {per_minute} requests/minute; retry after {seconds} s.",
            client_id=client_id,
            retry_after=seconds,
        )
        self.headers = {"Retry-After": str(seconds)}


def role_not_allowed(action: str, roles: frozenset[str], held: frozenset[str]) -> DomainRefusal:
    """403: the caller's roles do not include one the action needs."""
    needed = ", ".join(sorted(roles))
    return DomainRefusal(
        "ROLE_NOT_ALLOWED",
        Kind.FORBIDDEN,
        f"Quy tắc: thao tác '{action}' cần một trong các vai trò {needed}; tài khoản có "
        f"{', '.join(sorted(held)) or 'không có vai trò nào'}.",
        f"Rule: '{action}' needs one of the roles {needed}; the caller has {', '.join(sorted(held)) or 'none'}.",
        rule="ROLE",
        action=action,
        required_roles=sorted(roles),
    )


def wrong_node(token_node: str, node: str) -> DomainRefusal:
    """403: the token was issued for another node."""
    return DomainRefusal(
        "WRONG_NODE",
        Kind.FORBIDDEN,
        f"Quy tắc: mã truy cập cấp cho nút {token_node}, không dùng được tại nút {node}.",
        f"Rule: the token is for node {token_node}, not for node {node}.",
        rule="NODE",
        token_node=token_node,
        node=node,
    )


class WouldBlock(Exception):  # noqa: N818 (a signal between the access layer's parts, never an answer)
    """Raised by the access layer's non-blocking path when the answer needs the database (or a file, or a JWKS
    fetch): the caller runs the blocking path in a worker thread instead."""
