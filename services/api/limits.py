"""Request bodies larger than ``api_max_body_bytes`` get 413, whether declared (Content-Length) or streamed."""

from __future__ import annotations

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
