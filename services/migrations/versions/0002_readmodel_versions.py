"""Read-model versions: which version each read model's live tables hold, and the builds in progress.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

The read models of a database at 0001 were built by v0.1.0: they are recorded as version 1 with the fingerprints
of v0.1.0's tables (``projections.versions.fingerprint``), so that those unchanged since are kept and the others
are rebuilt blue/green by the node. The downgrade drops every read model (tables and runner positions): the
release below rebuilds them from the store at its start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

V0_1_0 = {  # read model: (fingerprint of its tables at v0.1.0, its tables)
    "awards": (
        "bae908afdf91261cb24d54e3d718f20613ed160e79f531721504fd875708d98b",
        ["awards_conferred", "awards_proposal", "awards_step"],
    ),
    "guidance": (
        "61853e3be2861bfe3469f4e66797c21eae419905e24d54d317b8cefc10f3851f",
        [
            "guidance_criteria",
            "guidance_document",
            "guidance_document_target",
            "guidance_plan",
            "guidance_report",
            "guidance_target",
            "guidance_unit",
        ],
    ),
    "orgunits": ("1bddafd3fbc64bb8a3c618da9d1644dec3efa30be19bb54ea1823b07b1f06dff", ["orgunit_unit"]),
    "plans": (
        "7253df30f280837c30aa666e8d68abb0fa4947ab6960aa6fcadd1f64a6fae074",
        ["plans_amendment", "plans_criteria", "plans_parent", "plans_plan"],
    ),
    "rollup": (
        "fe11b11f8271d07147901d1101174f8e117879899e329dcd752f6b255764828b",
        [
            "rollup_count",
            "rollup_duty",
            "rollup_facts_token",
            "rollup_indicator",
            "rollup_indicator_count",
            "rollup_plan",
            "rollup_plan_link",
            "rollup_slot",
            "rollup_slot_code",
            "rollup_unit",
        ],
    ),
}


def upgrade() -> None:
    """Create ``readmodel_version`` and ``readmodel_build``; record the v0.1.0 read models present."""
    version = op.create_table(
        "readmodel_version",
        sa.Column("projection", sa.String(length=100), nullable=False),
        sa.Column(
            "version",
            sa.Integer(),
            nullable=False,
            comment="The read model's number (bumped when evolve changes meaning).",
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False, comment="sha256 of its tables' DDL."),
        sa.Column("tables", sa.JSON(), nullable=False, comment="Names of the live tables of this version."),
        sa.Column(
            "built_through",
            sa.BigInteger(),
            nullable=False,
            comment="Store position a blue/green build had applied when switched in; Kafka workers skip records at "
            "or below it (0: none).",
        ),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("projection", name=op.f("pk_readmodel_version")),
        comment="Which version of each read model its live tables hold.",
    )
    op.create_table(
        "readmodel_build",
        sa.Column("projection", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "prefix",
            sa.String(length=20),
            nullable=False,
            comment="Prefix of the new version's tables while it is built.",
        ),
        sa.Column(
            "position", sa.BigInteger(), nullable=False, comment="Last store position applied to the new tables."
        ),
        sa.Column("events", sa.BigInteger(), nullable=False, comment="Events applied to the new tables."),
        sa.Column("owner", sa.String(length=200), nullable=False, comment="The process building it (host:pid)."),
        sa.Column(
            "lease_until", sa.DateTime(timezone=True), nullable=False, comment="Another process may take over after."
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("projection", name=op.f("pk_readmodel_build")),
        comment="A new read-model version being built beside the live one (blue/green).",
    )
    present = set(sa.inspect(op.get_bind()).get_table_names())
    now = datetime.now(UTC)
    rows = [
        {
            "projection": name,
            "version": 1,
            "fingerprint": fingerprint,
            "tables": tables,
            "built_through": 0,
            "switched_at": now,
        }
        for name, (fingerprint, tables) in V0_1_0.items()
        if all(table in present for table in tables)
    ]
    if rows:
        op.bulk_insert(version, rows)


def downgrade() -> None:
    """Drop every read model recorded (its tables, those of a build in progress, its runners' positions), then
    the two tables."""
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    recorded = sa.table("readmodel_version", sa.column("projection", sa.String), sa.column("tables", sa.JSON))
    builds: dict[str, str] = {
        r.projection: r.prefix for r in bind.execute(sa.text("SELECT * FROM readmodel_build")).all()
    }
    for row in bind.execute(sa.select(recorded.c.projection, recorded.c.tables)).all():  # SQLite: no open cursor
        name, tables = str(row.projection), [str(t) for t in row.tables]
        for table in [*tables, *(builds[name] + t for t in tables if name in builds)]:
            if table in present:
                op.drop_table(table)
        for tracking in ("projection_position", "projection_kafka_offset", "projection_event"):
            bind.execute(sa.text(f"DELETE FROM {tracking} WHERE projection = :name"), {"name": name})
    op.drop_table("readmodel_build")
    op.drop_table("readmodel_version")
