"""Alembic's environment for thidua-sync: run on the connection ``services.migrations`` passes in (no alembic.ini,
no URL here: the node's settings decide the database)."""

from __future__ import annotations

from typing import Any

from alembic import context

from services.migrations.metadata import operations_metadata

target = operations_metadata()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only the operations tables: read models (versioned, rebuilt blue/green) and other tables are not ours."""
    return type_ != "table" or name in target.tables


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with `thidua db upgrade` (services.migrations), which passes the connection")
context.configure(
    connection=connection,
    target_metadata=target,
    include_name=include_name,
    compare_type=True,
    render_as_batch=True,  # SQLite alters a table by copying it: autogenerate writes batch operations
)
with context.begin_transaction():
    context.run_migrations()
