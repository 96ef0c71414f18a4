"""Web app accounts: users, sessions, sign-in attempts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

The officials' web app (``services.web.accounts.tables``): ``web_user`` (people: org unit, roles, argon2id password
hash, linked single sign-on subject), ``web_session`` (browser sessions, the cookie's token stored hashed) and
``web_signin_attempt`` (the sign-in log the back-off and lock count from). New tables only: nothing else changes.
The downgrade drops them with their rows (accounts, sessions, sign-in log): the release below has no web app; the
backup ``thidua db downgrade`` takes on SQLite (``pg_dump`` on PostgreSQL) keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the web app's three tables and their indexes."""
    op.create_table(
        "web_session",
        sa.Column(
            "token_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the cookie's token (never the token).",
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column(
            "csrf_token", sa.String(length=64), nullable=False, comment="The session's anti-forgery token (every form)."
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, comment="Idle expiry counts from here."),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, comment="Absolute expiry."),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "end_reason",
            sa.String(length=20),
            nullable=True,
            comment="SIGNED_OUT, IDLE, EXPIRED, DISABLED, PASSWORD_CHANGED",
        ),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_session")),
        comment="Browser sessions of the web app (idle and absolute expiry), one per sign-in.",
    )
    op.create_index(op.f("ix_web_session_username"), "web_session", ["username"])

    op.create_table(
        "web_signin_attempt",
        sa.Column(
            "attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "username", sa.String(length=100), nullable=False, comment="As typed (lower-cased, NFC), known or not."
        ),
        sa.Column(
            "outcome",
            sa.String(length=20),
            nullable=False,
            comment="SUCCESS, FAILED, THROTTLED, LOCKED, DISABLED, UNLOCKED",
        ),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_web_signin_attempt")),
        comment="Every sign-in attempt (the sign-in log): back-off and lock count the failures in a row.",
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_web_signin_attempt_at"), "web_signin_attempt", ["at"])
    op.create_index(op.f("ix_web_signin_attempt_username_attempt_id"), "web_signin_attempt", ["username", "attempt_id"])

    op.create_table(
        "web_user",
        sa.Column(
            "username",
            sa.String(length=64),
            nullable=False,
            comment="Sign-in name: lower-case ASCII letters, digits . _ -",
        ),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "org_unit_path",
            sa.String(length=200),
            nullable=False,
            comment="The unit the person acts for (their subtree).",
        ),
        sa.Column(
            "roles", sa.JSON(), nullable=False, comment="The same roles as API clients (submitter, reviewer, ...)."
        ),
        sa.Column(
            "password_hash",
            sa.String(length=200),
            nullable=True,
            comment="argon2id (PHC string); null: no password (single sign-on only).",
        ),
        sa.Column(
            "must_change_password",
            sa.Boolean(),
            nullable=False,
            comment="A temporary password: change at next sign-in.",
        ),
        sa.Column(
            "external_subject",
            sa.String(length=255),
            nullable=True,
            comment="OIDC issuer|sub linked to this account (SSO).",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "disabled_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Set: the account cannot sign in; its sessions end.",
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_web_user")),
        sa.UniqueConstraint("external_subject", name=op.f("uq_web_user_external_subject")),
        comment="People who sign in to the web app: their org unit and roles (the same as API clients').",
    )


def downgrade() -> None:
    """Drop the three tables (their indexes go with them), and so the accounts, sessions and sign-in log."""
    for table in ("web_user", "web_signin_attempt", "web_session"):
        op.drop_table(table)
