"""Limits every API request meets before routing: bodies larger than ``api_max_body_bytes`` get 413, whether
declared (Content-Length) or streamed; a path or query parameter holding a control character (NUL first of all:
no database stores it) or bytes that are not UTF-8 gets 400 ``INVALID_PARAMETER``."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem


class BodyTooLarge(HTTPException):
    """The body exceeds the limit (raised while it is read, so FastAPI's body parsing keeps it a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Nội dung yêu cầu vượt quá {limit} byte / request body exceeds {limit} bytes")


class BodyLimit:
    """ASGI middleware: refuse a declared oversize body at once, and stop reading a streamed one at the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            too_large = BodyTooLarge(self.max_bytes)
            response = problem(413, "PAYLOAD_TOO_LARGE", "Nội dung yêu cầu quá lớn", str(too_large.detail))
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _unreadable(raw: bytes) -> bool:
    """Whether a percent-encoded path or query string decodes to non-UTF-8 bytes or holds a control character."""
    try:
        decoded = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded)


class ParameterGuard:
    """ASGI middleware: 400 INVALID_PARAMETER for an ``/api/`` path or query string that no handler could read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            where = "query" if _unreadable(scope.get("query_string", b"")) else None
            where = "path" if _unreadable(raw_path) else where
            if where is not None:
                response = problem(
                    400,
                    "INVALID_PARAMETER",
                    "Tham số không đọc được",
                    f"Đường dẫn hoặc tham số truy vấn chứa ký tự điều khiển hoặc byte không phải UTF-8 ({where}); "
                    f"sửa rồi gửi lại / The {where} holds a control character or bytes that are not UTF-8; fix it "
                    "and send it again",
                    where=where,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
