"""Shadow tables of read models: prefixed copies of a read model's tables that its unchanged code reads and writes
through a statement-rewriting connection, and the atomic switch that makes a shadow the live read model.

Used by the blue/green builds of new read-model versions (``projections.bluegreen``, prefix ``next_``), by
``thidua replay`` (``shadow_``) and by the as-of cache (``asof_<position>_``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Index, MetaData, Table, event, inspect
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.elements import conv

from services.kernel.db import new_metadata

from .base import Projection

_OPTION = "thidua_shadow_tables"


def shadow_metadata(projection: Projection, prefix: str) -> MetaData:
    """Copies of the projection's tables named ``<prefix><name>`` (indexes and constraints renamed alike)."""
    shadow = new_metadata()
    for table in projection.metadata.sorted_tables:
        shadow_table(table, shadow, prefix)
    return shadow


def shadow_table(table: Table, metadata: MetaData, prefix: str) -> Table:
    """A copy of ``table`` in ``metadata`` named ``<prefix><name>``, its indexes and constraints renamed alike."""
    copy = table.to_metadata(metadata, name=prefix + table.name)
    for item in [*copy.indexes, *copy.constraints]:  # names are per schema: keep the copies' apart
        name = getattr(item, "name", None)
        if isinstance(name, str) and not name.startswith(prefix):
            item.name = conv(prefixed(prefix, name))  # type: ignore[attr-defined]
    return copy


def prefixed(prefix: str, name: str) -> str:
    """``ix_x`` → ``ix_<prefix>x``; a name the naming convention already derived from the prefixed table stays."""
    kind, _, rest = name.partition("_")
    if kind not in ("ix", "uq", "pk", "ck", "fk"):
        return prefix + name
    return name if rest.startswith(prefix) else f"{kind}_{prefix}{rest}"


def _install_rewrite(engine: Engine) -> None:
    """Once per engine: statements run with the execution option ``(pattern, prefix)`` (set on a connection, or
    ``None`` on one statement to turn it off) get their table names rewritten."""
    if getattr(engine, "_thidua_shadow_rewrite", False):
        return

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _rewrite(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> Any:
        options = context.execution_options if context is not None else conn.get_execution_options()
        option = options.get(_OPTION)
        if option is not None:
            pattern, prefix = option
            statement = pattern.sub(lambda m: prefix + m.group(0), statement)
        return statement, params

    engine._thidua_shadow_rewrite = True  # type: ignore[attr-defined]


def shadow_connection(engine: Engine, projections: Sequence[Projection], prefix: str) -> Connection:
    """A connection on which the projections' own SQL reads and writes their ``<prefix>`` shadow tables."""
    _install_rewrite(engine)
    names = sorted({t.name for p in projections for t in p.metadata.sorted_tables}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, names)) + r")\b")
    return engine.connect().execution_options(**{_OPTION: (pattern, prefix)})


def rewritten(conn: Connection, statement: str) -> str:
    """``statement`` with the table names ``conn`` rewrites (a shadow connection's), for SQL sent to the driver
    directly (COPY)."""
    option = conn.get_execution_options().get(_OPTION)
    if option is None:
        return statement
    pattern, prefix = option
    return str(pattern.sub(lambda m: prefix + m.group(0), statement))


def verbatim(conn: Connection, sql: str) -> None:
    """Run ``sql`` as written, even on a shadow connection (DDL that names live and shadow tables)."""
    conn.exec_driver_sql(sql, execution_options={_OPTION: None})  # type: ignore[misc]  # a custom option


def deferred(projection: Projection, prefix: str, shadow: MetaData) -> list[Index]:
    """The shadow copies of the indexes ``projection`` names in ``indexes_after_build``: only its readers use them,
    never its ``apply``, so a build creates them once its rows are in (cheaper than keeping them up to date
    row by row)."""
    names = {prefixed(prefix, name) for name in getattr(projection, "indexes_after_build", ())}
    return [i for t in shadow.sorted_tables for i in t.indexes if i.name in names]


def prepare_shadows(engine: Engine, projections: Sequence[Projection], prefix: str, defer: bool = False) -> None:
    """Empty shadow tables for ``projections`` (dropped and created again), with their reference rows; ``defer``:
    without the indexes only readers use (:func:`create_deferred` adds them once the build is done)."""
    for projection in projections:
        shadow = shadow_metadata(projection, prefix)
        for index in deferred(projection, prefix, shadow) if defer else []:
            index.table.indexes.discard(index)  # type: ignore[union-attr]
        with engine.begin() as conn:
            shadow.drop_all(conn)
            shadow.create_all(conn)
    with shadow_connection(engine, projections, prefix) as conn:
        for projection in projections:
            with conn.begin():
                projection.setup(conn)


def create_deferred(engine: Engine, projections: Sequence[Projection], prefix: str) -> None:
    """Create the deferred indexes of the ``prefix`` shadows that do not exist yet (after a build's bulk)."""
    for projection in projections:
        with engine.begin() as conn:
            for index in deferred(projection, prefix, shadow_metadata(projection, prefix)):
                index.create(conn, checkfirst=True)


def drop_shadows(engine: Engine, projection: Projection, prefix: str) -> None:
    """Remove the projection's shadow tables."""
    with engine.begin() as conn:
        shadow_metadata(projection, prefix).drop_all(conn)


def shadows_exist(conn: Connection, projection: Projection, prefix: str) -> bool:
    """Whether every shadow table of ``projection`` exists."""
    present = set(inspect(conn).get_table_names())
    return all(prefix + t.name in present for t in projection.metadata.sorted_tables)


def promote(conn: Connection, projection: Projection, prefix: str, retired: Iterable[str]) -> None:
    """In the caller's transaction: drop the live tables named ``retired`` (the version being replaced, whatever its
    tables were) and rename the shadow tables, their indexes and constraints to the live names.

    PostgreSQL and SQLite both run DDL inside the transaction: readers see the old tables until it commits, then
    the new ones. SQLite cannot rename an index: the new tables' indexes are dropped and created again under their
    live names (in the same transaction).
    """
    present = set(inspect(conn).get_table_names())
    quote = conn.dialect.identifier_preparer.quote
    for name in retired:
        if name in present:
            verbatim(conn, f"DROP TABLE {quote(name)}")
    postgres = conn.dialect.name == "postgresql"
    for table in projection.metadata.sorted_tables:
        verbatim(conn, f"ALTER TABLE {quote(prefix + table.name)} RENAME TO {quote(table.name)}")
        for index in table.indexes:
            assert isinstance(index.name, str)
            if postgres:
                verbatim(conn, f"ALTER INDEX {quote(prefixed(prefix, index.name))} RENAME TO {quote(index.name)}")
            else:
                verbatim(conn, f"DROP INDEX {quote(prefixed(prefix, index.name))}")
                verbatim(conn, str(CreateIndex(index).compile(dialect=conn.dialect)))
        if postgres:  # primary keys and unique constraints (their indexes follow); SQLite keeps them in the table
            for constraint in table.constraints:
                if isinstance(constraint.name, str):
                    old, new = quote(prefixed(prefix, constraint.name)), quote(constraint.name)
                    verbatim(conn, f"ALTER TABLE {quote(table.name)} RENAME CONSTRAINT {old} TO {new}")
