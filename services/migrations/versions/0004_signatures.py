"""Signed appends: the batch seal on events, the origin proof on imported and parked events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Three nullable columns, added in place (``ALTER TABLE ... ADD COLUMN`` on SQLite and PostgreSQL: no table is
copied). Events written before are legacy history to ``thidua audit verify``: the node's first append after the
upgrade announces its key (``SigningKeyActivated``) and seals its batch, and every append after it is sealed
(docs/audit.md "Signed appends").

The downgrade drops the columns only while none holds a value: once the node has sealed an append (or imported an
event with its origin's proof) the seals are the evidence that protects its history, and the release below would
append unsealed events after the key announcement, which ``audit verify`` reports as ``UNSIGNED_EVENTS``. Then the
way back is the backup taken before the upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [  # table, column, comment (as in the code's tables: services/kernel/tables.py, services/sync/tables.py)
    (
        "event",
        "signature",
        (
            "On the last event of each append batch: the node key's seal over the batch (issue 20, "
            "services/kernel/signing.py); NULL on the batch's other events and on events written before signing began."
        ),
    ),
    (
        "foreign_event",
        "origin_signature",
        (
            "The origin's seal over the event's batch with the event's inclusion proof (issue 20); NULL when the "
            "origin did not sign it."
        ),
    ),
    ("sync_parked", "origin_signature", "The origin proof it came with (issue 20)."),
]


def upgrade() -> None:
    """Add ``event.signature``, ``foreign_event.origin_signature`` and ``sync_parked.origin_signature``."""
    for table, column, comment in COLUMNS:
        op.add_column(table, sa.Column(column, sa.LargeBinary(), nullable=True, comment=comment))


def downgrade() -> None:
    """Drop the three columns; refused while one of them holds a seal or an origin proof."""
    bind = op.get_bind()
    for table, column, _ in COLUMNS:
        if bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")).first():
            raise RuntimeError(
                f"{table}.{column} holds signatures (the node has signed since the upgrade): dropping them would "
                "leave its history unverifiable"
            )
    sequence = _sqlite_sequence(bind)
    for table, column, _ in reversed(COLUMNS):
        # SQLite copies the table without the column; event keeps AUTOINCREMENT, which reflection does not see
        options = {"sqlite_autoincrement": True} if table == "event" else {}
        with op.batch_alter_table(table, table_kwargs=options) as batch:
            batch.drop_column(column)
    if sequence is not None:  # positions never reused: the copy's counter is where the original's was
        bind.execute(sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = 'event'"), {"seq": sequence})


def _sqlite_sequence(bind: sa.Connection) -> int | None:
    """SQLite's AUTOINCREMENT counter of ``event`` (None on PostgreSQL, or before the first event)."""
    if bind.dialect.name != "sqlite":
        return None
    found = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'event'")).scalar()
    return int(found) if found is not None else None
