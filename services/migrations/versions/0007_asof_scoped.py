"""As-of reads scoped to the question: the rebuild catalog shared by processes, the subtree-and-type event index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

``readmodel_asof`` lists the as-of rebuilds (``asof_…_`` tables) that are complete, with the read models and the
versions they were built with, so another process of the node (or the next start) reuses them instead of replaying
again. ``ix_event_subtree_type`` (``org_unit_path``, ``event_type``; ``text_pattern_ops`` on PostgreSQL)
finds a subtree's events of the types a read model uses without scanning the log. The downgrade drops both; the
release below drops every ``asof_`` table at its start anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the catalog and the index."""
    op.create_table(
        "readmodel_asof",
        sa.Column("prefix", sa.String(length=20), nullable=False, comment="Prefix of the rebuild's tables (asof_…_)."),
        sa.Column(
            "position",
            sa.BigInteger(),
            nullable=False,
            comment="Store position the rebuild holds every event up to.",
        ),
        sa.Column(
            "models", sa.String(length=200), nullable=False, comment="Read models rebuilt (comma-separated names)."
        ),
        sa.Column(
            "scope",
            sa.String(length=200),
            nullable=False,
            comment="Org path: its subtree and ancestors ('': all).",
        ),
        sa.Column("versions", sa.Text(), nullable=False, comment="The read models' versions it was built with."),
        sa.Column("events", sa.BigInteger(), nullable=False, comment="Events replayed (or applied after a copy)."),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column(
            "copied_from",
            sa.BigInteger(),
            nullable=True,
            comment="Position of the cached rebuild copied first, if any.",
        ),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "used_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Last read: least recently used go first.",
        ),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_readmodel_asof")),
        comment="As-of rebuilds that are complete, reused by every process of the node (docs/audit.md).",
    )
    op.create_index(
        "ix_event_subtree_type",
        "event",
        ["org_unit_path", "event_type"],
        unique=False,
        postgresql_ops={"org_unit_path": "text_pattern_ops"},
    )


def downgrade() -> None:
    """Drop the index and the catalog (the release below drops the asof_ tables at its start)."""
    op.drop_index("ix_event_subtree_type", table_name="event")
    op.drop_table("readmodel_asof")
