"""Webhook subscriptions (the push form of the event feed) and their delivery log.

A client manages its own subscriptions; a subscription receives what the client could read from the feed: events
of the chosen types in a subtree of the client's org unit, from its creation on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import Connection

from services.api.bodies import Body, OrgUnitPath, example, optional_text
from services.api.idempotency import Idempotency, run_once
from services.api.pagination import DEFAULT_LIMIT, DELIVERIES, MAX_LIMIT, Cursors
from services.api.problems import READ_RESPONSES, WRITE_RESPONSES
from services.api.routers.events import event_types
from services.api.security import Caller, Principal, current_principal, require_within
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.settings import ApiSettings
from services.webhooks import subscriptions

SubscriptionId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="Mã đăng ký / subscription id")]


class SubscriptionBody(Body):
    """Đăng ký nhận sự kiện qua webhook / subscribe to events by webhook."""

    model_config = example(
        {
            "url": "https://lgsp.laocai.gov.vn/hooks/thidua",
            "event_types": ["AwardDecided"],
            "subtree": "VN/15",
            "description": "Kết quả khen thưởng cho cổng dịch vụ công",
        }
    )

    url: HttpUrl = Field(description="Địa chỉ nhận POST / where deliveries are POSTed", max_length=2000)
    event_types: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        [], description="Loại sự kiện (rỗng: tất cả), ví dụ AwardDecided / event types (empty: all)", max_length=50
    )
    subtree: OrgUnitPath | None = Field(
        None, description="Phạm vi (mặc định: đơn vị của mã truy cập) / subtree (default: the caller's org unit)"
    )
    description: str | None = optional_text("Mô tả", "description", 1000)


class SubscriptionOut(BaseModel):
    """A subscription (without its secret)."""

    subscription_id: str
    url: str
    event_types: list[str] = Field(description="Loại sự kiện; rỗng: tất cả / event types; empty: all")
    subtree: str
    description: str | None
    active: bool
    created_at: str


class SubscriptionCreated(SubscriptionOut):
    """A new subscription with its signing secret, shown this once."""

    secret: str = Field(
        description="Khóa ký theo Standard Webhooks (whsec_…: webhook-signature; X-Thidua-Signature đã lỗi thời), chỉ "
        "hiện một lần / the Standard Webhooks signing secret (webhook-signature; X-Thidua-Signature is deprecated), "
        "shown once"
    )


class SubscriptionList(BaseModel):
    """The caller's subscriptions."""

    items: list[SubscriptionOut]


class AttemptOut(BaseModel):
    """One attempt at a delivery."""

    attempt: int
    at: datetime
    status_code: int | None = Field(description="Mã HTTP trả về; null: không có trả lời / status answered")
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    """A delivery of one event to one subscription, with its attempts."""

    delivery_id: str
    event_id: str
    event_type: str
    position: int
    state: Literal["PENDING", "DELIVERED", "FAILED", "CANCELLED"]
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    """A page of the delivery log, by event position."""

    items: list[DeliveryOut]
    next_cursor: str | None


def _unknown(subscription_id: str) -> DomainRefusal:
    return DomainRefusal(
        "UNKNOWN_SUBSCRIPTION",
        Kind.NOT_FOUND,
        f"Không tìm thấy đăng ký webhook {subscription_id}.",
        f"Unknown webhook subscription {subscription_id}.",
        subscription_id=subscription_id,
    )


def router(node: Node[ApiSettings]) -> APIRouter:
    """POST/GET /api/v1/webhooks, GET/DELETE /api/v1/webhooks/{id}, GET /api/v1/webhooks/{id}/deliveries."""
    api = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], dependencies=[Depends(current_principal)])

    def owned(conn: Connection, principal: Principal, subscription_id: str) -> subscriptions.Subscription:
        found = subscriptions.get(conn, subscription_id, principal.client_id)
        if found is None:
            raise _unknown(subscription_id)
        return found

    @api.post("", status_code=201, response_model=SubscriptionCreated, responses=WRITE_RESPONSES)
    def subscribe(body: SubscriptionBody, principal: Caller, key: Idempotency) -> Response:
        """Đăng ký webhook / subscribe. Sự kiện từ lúc đăng ký, trong phạm vi của mã truy cập."""
        subtree = body.subtree or principal.path
        require_within(principal, subtree)
        url = str(body.url)
        if node.settings.webhook_require_https and not url.startswith("https://"):
            raise DomainRefusal(
                "HTTPS_REQUIRED", Kind.INVALID, "URL webhook phải dùng https.", "Webhook URLs must use https."
            )
        types = event_types(node, body.event_types) or []

        def create(conn: Connection) -> Response:
            sub = subscriptions.create(conn, principal.client_id, url, types, subtree, body.description)
            created = SubscriptionCreated(**sub.public(), secret=sub.secret)
            headers = {"Location": f"/api/v1/webhooks/{sub.subscription_id}"}
            return JSONResponse(created.model_dump(), status_code=201, headers=headers)

        return run_once(node.engine, key, create)

    @api.get("", response_model=SubscriptionList, responses=READ_RESPONSES)
    def list_subscriptions(principal: Caller) -> SubscriptionList:
        """Các đăng ký của ứng dụng / the caller's subscriptions."""
        with node.engine.connect() as conn:
            found = subscriptions.of_client(conn, principal.client_id)
        return SubscriptionList(items=[SubscriptionOut(**s.public()) for s in found])

    @api.get("/{subscription_id}", response_model=SubscriptionOut, responses=READ_RESPONSES)
    def get_subscription(subscription_id: SubscriptionId, principal: Caller) -> SubscriptionOut:
        """Một đăng ký / one subscription."""
        with node.engine.connect() as conn:
            return SubscriptionOut(**owned(conn, principal, subscription_id).public())

    @api.delete("/{subscription_id}", status_code=204, responses=READ_RESPONSES)
    def unsubscribe(subscription_id: SubscriptionId, principal: Caller) -> Response:
        """Hủy đăng ký; các lần gửi đang chờ bị hủy / unsubscribe; pending deliveries are cancelled."""
        with node.engine.begin() as conn:
            subscriptions.deactivate(conn, owned(conn, principal, subscription_id).subscription_id)
        return Response(status_code=204)

    @api.get("/{subscription_id}/deliveries", response_model=DeliveryPage, responses=READ_RESPONSES)
    def delivery_log(
        subscription_id: SubscriptionId,
        principal: Caller,
        cursors: Cursors,
        state: Literal["PENDING", "DELIVERED", "FAILED", "CANCELLED"] | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """Nhật ký gửi: từng lần gửi và các lần thử / the delivery log with every attempt, by event position."""
        key = cursors.decode(DELIVERIES, cursor)
        after = key[0] if key else None
        with node.engine.connect() as conn:
            owned(conn, principal, subscription_id)
            rows = subscriptions.deliveries(conn, subscription_id, state, after, limit + 1)
        items = rows[:limit]
        more = len(rows) > limit
        return {"items": items, "next_cursor": cursors.encode(DELIVERIES, [items[-1]["position"]]) if more else None}

    return api
