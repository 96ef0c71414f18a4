"""The operations tables exactly as release v0.1.0 created them with ``create_all`` (frozen: never edit; a change
of a table is a new revision). Revision 0001 creates them; ``thidua db upgrade`` compares a database that has
tables but no revision with them to recognise a v0.1.0 database."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from services.kernel.db import new_metadata


def metadata() -> MetaData:
    """A new MetaData holding v0.1.0's operations tables."""
    md = new_metadata()
    _store(md)
    _api(md)
    _webhooks(md)
    _sync(md)
    _pipeline(md)
    _tracking(md)
    return md


def _store(md: MetaData) -> None:
    position = BigInteger().with_variant(Integer(), "sqlite")
    Table(
        "event",
        md,
        Column("position", position, primary_key=True, autoincrement=True, comment="Global position (commit order)."),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("stream_id", String(200), nullable=False),
        Column("stream_version", BigInteger, nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("schema_fingerprint", LargeBinary(8), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False, comment="Business time."),
        Column("recorded_at", DateTime(timezone=True), nullable=False, comment="System time at the origin node."),
        Column("org_unit_path", String(200), nullable=False),
        Column("node_id", String(50), nullable=False, comment="Origin node."),
        Column("actor_id", String(100), nullable=False),
        Column("correlation_id", String(100)),
        Column("causation_id", String(100)),
        Column("body", LargeBinary, nullable=False, comment="Avro single-object bytes (meta + payload)."),
        Column("prev_hash", LargeBinary(32), nullable=False),
        Column("hash", LargeBinary(32), nullable=False, comment="sha256(prev_hash || body)."),
        Index(None, "stream_id", "stream_version", unique=True),
        Index(None, "org_unit_path"),
        Index(None, "recorded_at"),
        sqlite_autoincrement=True,
    )
    Table(
        "lookup",
        md,
        Column("kind", String(40), primary_key=True),
        Column("key", String(300), primary_key=True),
        Column("ref", String(200), primary_key=True),
        comment="Write-side lookups kept in the command's transaction (unique document numbers, awards per nominee).",
    )
    Table(
        "foreign_event",
        md,
        Column("event_id", String(36), primary_key=True),
        Column("position", position, nullable=False, unique=True, comment="Local position of the imported event."),
        Column("origin_node", String(50), nullable=False, comment="Node that wrote the event (meta.node_id)."),
        Column("source_node", String(50), nullable=False, comment="Node whose sync topic delivered it."),
        Column("origin_position", BigInteger, comment="Position at the origin node (ce_sequence)."),
        Column("origin_hash", LargeBinary(32), comment="Hash of the event in the origin node's chain."),
        Column("imported_at", DateTime(timezone=True), nullable=False),
        Index(None, "source_node", "imported_at"),
        comment="Events imported from other nodes (issue 7): the local chain links them; the origin's facts stay here.",
    )


def _api(md: MetaData) -> None:
    Table(
        "api_idempotency",
        md,
        Column("client_id", String(64), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False, comment="SHA-256 of method, path, If-Match and body."),
        Column("status_code", Integer, nullable=False),
        Column("media_type", String(100), nullable=False),
        Column("headers", JSON, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Index(None, "client_id", "expires_at"),
    )
    Table(
        "api_client",
        md,
        Column("client_id", String(64), primary_key=True, comment="AccessKey: the public half of the credentials."),
        Column("name", Text, nullable=False, comment="AppName: who the client is, e.g. LGSP tỉnh Lào Cai."),
        Column("secret_hash", String(200), nullable=False, comment="scrypt$N$r$p$salt$hash of the SecretKey."),
        Column("org_unit_path", String(200), nullable=False),
        Column("roles", JSON, nullable=False),
        Column("rate_limit_per_minute", Integer, comment="Quota; null: the node's default."),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
    )


def _webhooks(md: MetaData) -> None:
    Table(
        "webhook_subscription",
        md,
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
    Table(
        "webhook_delivery",
        md,
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
    Table(
        "webhook_attempt",
        md,
        Column("delivery_id", String(36), primary_key=True),
        Column("attempt", Integer, primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("status_code", Integer, comment="HTTP status answered; null: no answer (see error)."),
        Column("error", Text),
        Column("duration_ms", Integer, nullable=False),
    )
    Table(
        "webhook_position",
        md,
        Column("reactor", String(50), primary_key=True),
        Column("position", BigInteger, nullable=False, comment="Last store position scanned for subscriptions."),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        comment="The webhook reactor's own position: projection rebuilds and replays never move it.",
    )


def _sync(md: MetaData) -> None:
    Table(
        "sync_offset",
        md,
        Column("topic", String(250), primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("next_offset", BigInteger, nullable=False, comment="Next offset to import (written with the import)."),
        comment="How far the importer got in each sync topic partition; the database, not Kafka, decides.",
    )
    Table(
        "sync_parked",
        md,
        Column("event_id", String(36), primary_key=True),
        Column("stream_id", String(200), nullable=False, index=True),
        Column("stream_version", BigInteger, nullable=False),
        Column("source_node", String(50), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("origin_hash", LargeBinary(32)),
        Column("origin_position", BigInteger),
        Column("parked_at", DateTime(timezone=True), nullable=False),
        comment="Foreign events that arrived before their stream's previous version (reordering across sources).",
    )
    Table(
        "sync_receipt_due",
        md,
        Column("source_node", String(50), primary_key=True),
        Column("period", String(10), primary_key=True),
        comment="(source, period) pairs whose receipt must be (re)published; written with the import.",
    )


def _pipeline(md: MetaData) -> None:
    Table(
        "relay_position",
        md,
        Column("relay", String(100), primary_key=True),
        Column("position", BigInteger, nullable=False, comment="Last store position the broker acknowledged."),
        Column("published_at", DateTime(timezone=True), nullable=False),
    )


def _tracking(md: MetaData) -> None:
    Table(
        "projection_position",
        md,
        Column("projection", String(100), primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "projection_kafka_offset",
        md,
        Column("projection", String(100), primary_key=True),
        Column("topic", String(249), primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("offset", BigInteger, nullable=False, comment="Last offset applied (-1: none yet)."),
        Column("applied", BigInteger, nullable=False, comment="Events applied from this partition (metrics)."),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "projection_event",
        md,
        Column("projection", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        comment="Event ids a projection has applied from Kafka: duplicates (same event_id) have no effect.",
    )
