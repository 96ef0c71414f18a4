"""GET /su-kien: the server-sent event stream that reloads an open page's live parts (``services.web.live``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.responses import StreamingResponse

from services.api.security.scopes import require_within
from services.web.auth import Signed

from . import web_of

router = APIRouter(include_in_schema=False)


@router.get("/su-kien")
def live(
    request: Request, person: Signed, path: str, last_event_id: Annotated[str | None, Header()] = None
) -> StreamingResponse:
    """``changed`` events for the subtree ``path`` (within the person's own, like every read)."""
    require_within(person.principal, path)
    seen = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    stream = web_of(request).live.stream(path, seen)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
