"""The event store's tables (SQLAlchemy Core). Nothing in ``event`` is ever updated or deleted."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, Table

from .db import new_metadata

metadata = new_metadata()

Position = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid

event = Table(
    "event",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True, comment="Global position (commit order)."),
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
    Column(
        "signature",
        LargeBinary,
        comment="On the last event of each append batch: the node key's seal over the batch (signed appends, "
        "services/kernel/signing.py); NULL on the batch's other events and on events written before signing began.",
    ),
    Index(None, "stream_id", "stream_version", unique=True),
    Index(None, "org_unit_path"),
    # a subtree's events of some types (as-of reads scoped to the question): path = p or LIKE 'p/%'; text_pattern_ops
    # lets PostgreSQL use the index for the prefix whatever the database's collation
    Index("ix_event_subtree_type", "org_unit_path", "event_type", postgresql_ops={"org_unit_path": "text_pattern_ops"}),
    Index(None, "recorded_at"),
    sqlite_autoincrement=True,
)

lookup = Table(
    "lookup",
    metadata,
    Column("kind", String(40), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("ref", String(200), primary_key=True),
    comment="Write-side lookups kept in the command's transaction (unique document numbers, awards per nominee).",
)

foreign_event = Table(
    "foreign_event",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("position", Position, nullable=False, unique=True, comment="Local position of the imported event."),
    Column("origin_node", String(50), nullable=False, comment="Node that wrote the event (meta.node_id)."),
    Column("source_node", String(50), nullable=False, comment="Node whose sync topic delivered it."),
    Column("origin_position", BigInteger, comment="Position at the origin node (ce_sequence)."),
    Column("origin_hash", LargeBinary(32), comment="Hash of the event in the origin node's chain."),
    Column(
        "origin_signature",
        LargeBinary,
        comment="The origin's seal over the event's batch with the event's inclusion proof (signed appends); NULL "
        "when the origin did not sign it.",
    ),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index(None, "source_node", "imported_at"),
    comment="Events imported from other nodes by sync: the local chain links them; the origin's facts stay here.",
)
