"""Column and table comments that say what they hold instead of which issue brought them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Four comments written by earlier revisions named the work item that added them ("issue 7", "issue 20"): an operator
reading the schema learns nothing from that. Comments only: no data, no lock beyond the catalog's. SQLite keeps no
comments, so the revision does nothing there. The downgrade puts the old texts back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, column (None: the table's own comment), old comment, new comment
COMMENTS: list[tuple[str, str | None, str, str]] = [
    (
        "event",
        "signature",
        (
            "On the last event of each append batch: the node key's seal over the batch (issue 20, "
            "services/kernel/signing.py); NULL on the batch's other events and on events written before signing began."
        ),
        (
            "On the last event of each append batch: the node key's seal over the batch (signed appends, "
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
        (
            "The origin's seal over the event's batch with the event's inclusion proof (signed appends); NULL when "
            "the origin did not sign it."
        ),
    ),
    (
        "foreign_event",
        None,
        "Events imported from other nodes (issue 7): the local chain links them; the origin's facts stay here.",
        "Events imported from other nodes by sync: the local chain links them; the origin's facts stay here.",
    ),
    (
        "sync_parked",
        "origin_signature",
        "The origin proof it came with (issue 20).",
        "The origin's seal and inclusion proof it came with (signed appends).",
    ),
]


def upgrade() -> None:
    """Write the new comments (PostgreSQL)."""
    _comment(new=True)


def downgrade() -> None:
    """Write the old comments back (PostgreSQL)."""
    _comment(new=False)


def _comment(*, new: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, old_text, new_text in COMMENTS:
        text = new_text if new else old_text
        if column is None:
            op.create_table_comment(table, text)
        else:
            op.alter_column(table, column, comment=text, existing_comment=old_text if new else new_text)
