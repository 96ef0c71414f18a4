"""Tables of the webhooks: subscriptions, deliveries (one per subscription and event), attempts, the position."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from services.kernel.db import new_metadata

metadata = new_metadata()

webhook_subscription = Table(
    "webhook_subscription",
    metadata,
    Column("subscription_id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False, comment="The client that owns (and alone sees) it."),
    Column("url", Text, nullable=False),
    Column("event_types", JSON, nullable=False, comment="Short event type names; empty: every type."),
    Column("subtree", String(200), nullable=False, comment="Only events of org units in this subtree."),
    Column("secret", String(100), nullable=False, comment="HMAC-SHA256 key of the signatures (kept to sign)."),
    Column("description", Text),
    Column("start_position", BigInteger, nullable=False, comment="Store head at creation: only later events."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deactivated_at", DateTime(timezone=True)),
    Index(None, "client_id"),
)

webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("state", String(10), nullable=False, comment="PENDING, DELIVERED, FAILED (given up) or CANCELLED."),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), comment="A dispatcher claimed it until then."),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index(None, "subscription_id", "event_id", unique=True),
    Index(None, "state", "next_attempt_at"),
    Index(None, "subscription_id", "position"),
)

webhook_attempt = Table(
    "webhook_attempt",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, comment="HTTP status answered; null: no answer (see error)."),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)

webhook_position = Table(
    "webhook_position",
    metadata,
    Column("reactor", String(50), primary_key=True),
    Column("position", BigInteger, nullable=False, comment="Last store position scanned for subscriptions."),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    comment="The webhook reactor's own position: projection rebuilds and replays never move it.",
)
