"""What a rebuild reads from the store: the events of some types (a read model's ``event_types``), everywhere or at a
subtree and its ancestors, in position order or in the order an order-free read model applies fastest (its
``apply_first`` types first, then the others by org unit and position: each unit's events together).

Used by blue/green builds (``projections.bluegreen``) and as-of rebuilds (``services.audit.asof``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Engine, Select, case, or_, select

from services.kernel.orgpaths import OrgPath
from services.kernel.tables import event as event_table


def ancestors(path: str) -> list[str]:
    """``VN/15/02683`` → ``VN``, ``VN/15``, ``VN/15/02683``."""
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def scoped_query(
    types: Collection[str] | None,
    scope: str,
    after: int,
    to_position: int,
    first: Collection[str] | None = None,
) -> Select[Any]:
    """The events in (after, to_position] of ``types`` (None: all) at ``scope``'s ancestors or in its subtree
    ('': everywhere): positions and bodies, in position order — or, with ``first`` (event types), those types first,
    then the others by org unit and position (the order a read model that declares it order-free applies fastest:
    each unit's events together). With a scope, ``ix_event_subtree_type`` finds them."""
    e = event_table.c
    query = select(e.position, e.body).where(e.position > after, e.position <= to_position)
    if types is not None:
        query = query.where(e.event_type.in_(sorted(types)))
    if scope:
        OrgPath.parse(scope)  # no LIKE wildcard can hide in a valid path
        query = query.where(or_(e.org_unit_path.in_(ancestors(scope)), e.org_unit_path.like(scope + "/%")))
    if first:
        early = e.event_type.in_(sorted(first))
        return query.order_by(case((early, 0), else_=1), case((early, ""), else_=e.org_unit_path), e.position)
    return query.order_by(e.position)


def scoped_batches(
    engine: Engine,
    types: Collection[str] | None,
    scope: str,
    after: int,
    to_position: int,
    batch_size: int,
    first: Collection[str] | None = None,
) -> Iterator[list[Any]]:
    """The (position, body) rows of :func:`scoped_query` in batches: one server-side cursor on PostgreSQL (in the
    ``first`` order when given), keyset pages in position order on SQLite (whose transactions take the write
    lock)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            streamed = conn.execution_options(stream_results=True, yield_per=batch_size)
            result = streamed.execute(scoped_query(types, scope, after, to_position, first))
            yield from (list(rows) for rows in result.partitions())
        return
    while True:
        with engine.connect() as conn:
            rows = list(conn.execute(scoped_query(types, scope, after, to_position).limit(batch_size)))
        if not rows:
            return
        yield rows
        after = rows[-1].position
