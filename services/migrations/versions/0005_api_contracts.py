"""API contracts: the node's shared secrets (cursor HMAC key), tokens revoked one by one, shared quotas.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

``api_node_secret`` holds secrets every API process of a node shares (the HMAC key that authenticates pagination
cursors, created by the first process that needs it); ``api_revoked_token`` the ``jti`` of tokens revoked before
their expiry (``thidua clients revoke-token``); ``api_quota`` the token buckets of the API's quotas, shared by every
API process of a node on PostgreSQL (unused on SQLite). New tables only. The downgrade drops them: cursors issued before
are then refused once (400 INVALID_CURSOR: start again) when a new secret is made, and revoked tokens that have
not yet expired work again until their expiry (at most ``THIDUA_API_TOKEN_TTL_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``api_node_secret``, ``api_revoked_token`` and ``api_quota``."""
    op.create_table(
        "api_node_secret",
        sa.Column("name", sa.String(length=40), nullable=False, comment="What the secret is for, e.g. cursor."),
        sa.Column("secret", sa.String(length=100), nullable=False, comment="32 random bytes, base64url."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_api_node_secret")),
        comment="Secrets every API process of the node shares (the HMAC key of pagination cursors).",
    )
    op.create_table(
        "api_revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False, comment="The token's jti claim."),
        sa.Column("client_id", sa.String(length=64), nullable=True, comment="The client it was issued to, when known."),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="After this the row can be forgotten.",
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_api_revoked_token")),
        comment="Tokens revoked one by one (thidua clients revoke-token) before their expiry.",
    )

    op.create_table(
        "api_quota",
        sa.Column("bucket", sa.String(length=100), nullable=False, comment="The client id whose quota this is."),
        sa.Column("tokens", sa.Float(), nullable=False, comment="Requests left in the bucket at updated."),
        sa.Column("updated", sa.Float(), nullable=False, comment="Database clock (Unix seconds) of the last take."),
        sa.Column("allowed", sa.Boolean(), nullable=False, comment="Whether the last take found a token."),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_api_quota")),
        comment="Token buckets of the API's quotas, shared by every API process of the node (PostgreSQL only).",
    )


def downgrade() -> None:
    """Drop the three tables with their rows (quotas start full again)."""
    op.drop_table("api_quota")
    op.drop_table("api_revoked_token")
    op.drop_table("api_node_secret")
