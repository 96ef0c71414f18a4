"""Subscriptions and their delivery log (SQLAlchemy Core; callers own the transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, insert, or_, select, update

from services.kernel.store import utcnow
from services.kernel.tables import event

from .signing import new_secret
from .tables import webhook_attempt, webhook_delivery, webhook_subscription

S = webhook_subscription.c
D = webhook_delivery.c


@dataclass(frozen=True)
class Subscription:
    """A subscription (its secret only where it must be shown or used)."""

    subscription_id: str
    client_id: str
    url: str
    event_types: tuple[str, ...]
    subtree: str
    secret: str
    description: str | None
    start_position: int
    created_at: datetime
    deactivated_at: datetime | None

    def matches(self, event_type: str, org_unit_path: str, position: int) -> bool:
        """Whether an event is for this subscription."""
        in_subtree = org_unit_path == self.subtree or org_unit_path.startswith(self.subtree + "/")
        wanted = not self.event_types or event_type in self.event_types
        return position > self.start_position and in_subtree and wanted

    def public(self) -> dict[str, Any]:
        """What the API shows (never the secret)."""
        return {
            "subscription_id": self.subscription_id,
            "url": self.url,
            "event_types": list(self.event_types),
            "subtree": self.subtree,
            "description": self.description,
            "active": self.deactivated_at is None,
            "created_at": self.created_at.isoformat(),
        }


def aware(data: dict[str, Any]) -> dict[str, Any]:
    """Datetimes read back as UTC (SQLite returns them naive)."""
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for k, v in data.items()}


def _subscription(row: Any) -> Subscription:
    data = aware(row._asdict())
    data["event_types"] = tuple(data["event_types"])
    return Subscription(**data)


def create(
    conn: Connection, client_id: str, url: str, event_types: list[str], subtree: str, description: str | None
) -> Subscription:
    """A new subscription from the store's current head (no history is delivered), with a fresh secret."""
    head = int(conn.execute(select(func.coalesce(func.max(event.c.position), 0))).scalar_one())
    row: dict[str, Any] = {
        "subscription_id": str(uuid.uuid4()),
        "client_id": client_id,
        "url": url,
        "event_types": sorted(set(event_types)),
        "subtree": subtree,
        "secret": new_secret(),
        "description": description,
        "start_position": head,
        "created_at": utcnow(),
        "deactivated_at": None,
    }
    conn.execute(insert(webhook_subscription).values(row))
    return Subscription(**{**row, "event_types": tuple(row["event_types"])})


def of_client(conn: Connection, client_id: str) -> list[Subscription]:
    """A client's subscriptions, oldest first."""
    query = select(webhook_subscription).where(S.client_id == client_id).order_by(S.created_at, S.subscription_id)
    return [_subscription(r) for r in conn.execute(query)]


def get(conn: Connection, subscription_id: str, client_id: str | None = None) -> Subscription | None:
    """One subscription (of ``client_id`` when given)."""
    query = select(webhook_subscription).where(S.subscription_id == subscription_id)
    if client_id is not None:
        query = query.where(S.client_id == client_id)
    row = conn.execute(query).first()
    return _subscription(row) if row else None


def active(conn: Connection, revoked_clients: Select[tuple[str]]) -> list[Subscription]:
    """Every active subscription of a client that is not among ``revoked_clients`` (a query of client ids: the API
    owns the clients and says which are revoked; clients of an external issuer have no row and stay allowed)."""
    query = select(webhook_subscription).where(S.deactivated_at.is_(None), S.client_id.not_in(revoked_clients))
    return [_subscription(r) for r in conn.execute(query)]


def deactivate(conn: Connection, subscription_id: str) -> None:
    """Stop a subscription; its pending deliveries are cancelled."""
    now = utcnow()
    conn.execute(
        update(webhook_subscription)
        .where(S.subscription_id == subscription_id, S.deactivated_at.is_(None))
        .values(deactivated_at=now)
    )
    conn.execute(
        update(webhook_delivery)
        .where(D.subscription_id == subscription_id, D.state == "PENDING")
        .values(state="CANCELLED", finished_at=now)
    )


def deliveries(
    conn: Connection, subscription_id: str, state: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` deliveries of a subscription after position ``after``, each with its attempts."""
    query = select(webhook_delivery).where(D.subscription_id == subscription_id)
    if state is not None:
        query = query.where(D.state == state)
    if after is not None:
        query = query.where(D.position > after)
    rows = [aware(r._asdict()) for r in conn.execute(query.order_by(D.position).limit(limit))]
    ids = [r["delivery_id"] for r in rows]
    attempts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        found = (
            select(webhook_attempt).where(webhook_attempt.c.delivery_id.in_(ids)).order_by(webhook_attempt.c.attempt)
        )
        for attempt in conn.execute(found):
            attempts[attempt.delivery_id].append(aware(attempt._asdict()))
    return [{**r, "attempt_log": attempts[r["delivery_id"]]} for r in rows]


def lease_free(now: datetime) -> Any:
    """Deliveries no dispatcher holds at ``now``."""
    return or_(D.lease_until.is_(None), D.lease_until < now)


def due(now: datetime, revoked_clients: Select[tuple[str]]) -> Any:
    """Deliveries whose next attempt is due, that no dispatcher holds, of a subscription still allowed to receive
    (active, of a client not among ``revoked_clients``)."""
    allowed = select(S.subscription_id).where(S.deactivated_at.is_(None), S.client_id.not_in(revoked_clients))
    return and_(D.state == "PENDING", D.next_attempt_at <= now, lease_free(now), D.subscription_id.in_(allowed))
