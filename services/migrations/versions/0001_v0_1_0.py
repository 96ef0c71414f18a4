"""v0.1.0: the operations tables of the first release, as its create_all made them.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.migrations import baseline

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the store, API, webhook, sync, relay and tracking tables of v0.1.0."""
    baseline.metadata().create_all(op.get_bind())


def downgrade() -> None:
    """Drop them: only an empty event store may go (below 0001 there is no database to speak of)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM event")).scalar():
        raise RuntimeError("the event store holds events: going below revision 0001 would delete them")
    baseline.metadata().drop_all(bind)
