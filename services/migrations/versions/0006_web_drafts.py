"""Web app drafts: a person's saved, unsent forms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

``web_draft`` (``services.web.accounts.tables``): the fields of a registration or report form a person saved
without sending, keyed by the person, the form and its subject (plan, unit, year or period). Drafts are never
events and never synchronised; sending the form deletes its draft. New table only: nothing else changes. The
downgrade drops it with its rows (unsent drafts): the backup ``thidua db downgrade`` takes keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``web_draft``."""
    op.create_table(
        "web_draft",
        sa.Column(
            "username",
            sa.String(length=64),
            nullable=False,
            comment="The person whose draft it is (only they see it).",
        ),
        sa.Column(
            "form", sa.String(length=40), nullable=False, comment="Which form: targets (đăng ký thi đua), report."
        ),
        sa.Column(
            "subject",
            sa.String(length=300),
            nullable=False,
            comment="What it is about: plan, unit and year or period.",
        ),
        sa.Column(
            "fields", sa.JSON(), nullable=False, comment="The form's fields as typed (never an event until sent)."
        ),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "form", "subject"),
        comment="Saved drafts of the web app's forms: a person's own, deleted when the form is sent.",
    )


def downgrade() -> None:
    """Drop ``web_draft`` and the drafts in it."""
    op.drop_table("web_draft")
