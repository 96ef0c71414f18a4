"""GET /api/v1/events: the event feed over HTTP, for subscribers that cannot consume Kafka.

Ordered by global position; the cursor carries the last position read, and since positions commit in order (the
store's append lock) a reader that follows ``next_cursor`` never misses an event. Only events of org units in the
caller's subtree (or in ``subtree`` below it) are served.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.api.pagination import EVENTS, Cursors
from services.api.problems import READ_RESPONSES
from services.api.security import Caller, current_principal, require_within
from services.bootstrap import Node
from services.kernel.cloudevents import CloudEvent, to_cloudevent
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.schemas import EVENT_NAMESPACE

FEED_MAX = 500


class EventPage(BaseModel):
    """A page of the feed."""

    items: list[CloudEvent] = Field(description="Sự kiện theo thứ tự vị trí / events in position order")
    next_cursor: str = Field(
        description="Con trỏ để đọc tiếp (kể cả khi hết: dùng lại để chờ sự kiện mới) / cursor to read on "
        "(also on the last page: poll with it for new events)"
    )
    has_more: bool = Field(description="Còn sự kiện ngay sau trang này / more events follow right away")


def event_types(node: Node, requested: list[str] | None) -> list[str] | None:
    """Short event type names from ``a,b`` lists of short or full names; 422 UNKNOWN_EVENT_TYPE otherwise."""
    if not requested:
        return None
    known = {v.name for v in node.catalog.events()}
    names = [n.strip().removeprefix(EVENT_NAMESPACE + ".") for item in requested for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - known)
    if unknown:
        raise DomainRefusal(
            "UNKNOWN_EVENT_TYPE",
            Kind.INVALID,
            f"Loại sự kiện không có: {', '.join(unknown)}; có: {', '.join(sorted(known))}.",
            f"Unknown event types: {', '.join(unknown)}; known: {', '.join(sorted(known))}.",
            unknown=unknown,
        )
    return names or None


Types = Annotated[
    list[str] | None,
    Query(description="Loại sự kiện, ví dụ AwardDecided,AwardProposed / event types (short or full names)"),
]
Subtree = Annotated[
    str | None, Query(description="Chỉ sự kiện trong phạm vi này (mặc định: đơn vị của mã truy cập) / subtree")
]


def router(node: Node) -> APIRouter:
    """The event feed of ``node``."""
    api = APIRouter(
        prefix="/api/v1", tags=["events"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )

    @api.get("/events", response_model=EventPage)
    def feed(
        principal: Caller,
        cursors: Cursors,
        after: Annotated[str | None, Query(description="Con trỏ next_cursor của trang trước / previous cursor")] = None,
        types: Types = None,
        subtree: Subtree = None,
        limit: Annotated[int, Query(ge=1, le=FEED_MAX)] = 100,
    ) -> EventPage:
        """Sự kiện sau con trỏ, lọc theo loại và phạm vi / events after the cursor, by type and subtree.

        Mỗi sự kiện là một CloudEvent JSON / each event is a CloudEvents 1.0 JSON object.
        """
        under = subtree or principal.path
        require_within(principal, under)
        key = cursors.decode(EVENTS, after, legacy=True)
        start = key[0] if key else 0
        stored = node.store.read_all(start, limit + 1, under=under, types=event_types(node, types))
        page = stored[:limit]
        last = page[-1].position if page else start
        items = [CloudEvent.model_validate(to_cloudevent(s, node.codec)) for s in page]
        return EventPage(items=items, next_cursor=cursors.encode(EVENTS, [last]), has_more=len(stored) > limit)

    return api
