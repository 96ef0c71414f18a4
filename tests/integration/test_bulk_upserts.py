"""The set-based upserts of ``projections.bulk`` on SQLite and PostgreSQL: small batches as one statement, batches of
``COPY_AT_LEAST`` rows and more COPYed into a temporary stage first (PostgreSQL). Both give the same rows, several
calls in one transaction each see only their own rows, a rolled-back call leaves nothing behind, and a shadow
connection writes its own tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Column, Date, Engine, MetaData, String, Table, select

from projections.bulk import COPY_AT_LEAST, add_tuples, upsert_rows
from projections.shadow import shadow_connection, shadow_metadata

metadata = MetaData()
item = Table(
    "bulktest_item",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("day", Date),
    Column("figures", JSON, nullable=False),
    Column("note", String(20)),
)
tally = Table(
    "bulktest_tally",
    metadata,
    Column("node", String(20), primary_key=True),
    Column("code", String(20), primary_key=True),
    Column("seen", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
)


class Shadowed:
    """What a read model offers ``shadow_connection``: its name and tables."""

    name = "bulktest"
    version = 1
    metadata = metadata


def items(count: int, note: str) -> list[dict[str, Any]]:
    return [
        {
            "code": f"c{i:03d}",
            "day": None if i % 3 else date(2026, 1 + i % 12, 1 + i % 28),
            "figures": [[i, i / 2]],
            "note": note,
        }
        for i in range(count)
    ]


def rows_of(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


@pytest.fixture
def tables(engine: Engine) -> Iterator[Engine]:
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


@pytest.mark.parametrize("count", [3, COPY_AT_LEAST, 3 * COPY_AT_LEAST])
def test_upserts_insert_then_replace_and_counters_add_up(tables: Engine, count: int) -> None:
    engine = tables
    with engine.begin() as conn:  # two calls in one transaction: the second replaces what the first inserted
        upsert_rows(conn, item, ["code"], items(count, "first"))
        upsert_rows(conn, item, ["code"], items(count, "second")[::2])
        add_tuples(conn, tally, ["node", "code"], ["seen", "total"], [("VN", f"c{i}", 1, i) for i in range(count)])
        add_tuples(conn, tally, ["node", "code"], ["seen", "total"], [("VN", f"c{i}", 1, -1) for i in range(count)])
    expected = [
        (row["code"], row["day"], row["figures"], "second" if i % 2 == 0 else "first")
        for i, row in enumerate(items(count, ""))
    ]
    assert rows_of(engine, item) == expected
    assert rows_of(engine, tally) == sorted(("VN", f"c{i}", 2, i - 1) for i in range(count))
    with engine.begin() as conn:  # a later transaction adds to what is stored
        add_tuples(conn, tally, ["node", "code"], ["seen", "total"], [("VN", f"c{i}", 1, 1) for i in range(count)])
    assert rows_of(engine, tally) == sorted(("VN", f"c{i}", 3, i) for i in range(count))


def test_a_rolled_back_upsert_leaves_nothing_for_the_next_transaction(tables: Engine) -> None:
    engine = tables
    with engine.connect() as conn:
        transaction = conn.begin()
        upsert_rows(conn, item, ["code"], items(2 * COPY_AT_LEAST, "lost"))
        transaction.rollback()
    with engine.begin() as conn:
        upsert_rows(conn, item, ["code"], items(COPY_AT_LEAST, "kept"))
    assert {r[3] for r in rows_of(engine, item)} == {"kept"}
    assert len(rows_of(engine, item)) == COPY_AT_LEAST


def test_a_shadow_connection_upserts_into_its_own_tables(tables: Engine) -> None:
    engine = tables
    shadow = shadow_metadata(Shadowed(), "next_")  # type: ignore[arg-type]
    shadow.create_all(engine)
    try:
        with engine.begin() as conn:  # the live tables' stage first, in this session
            upsert_rows(conn, item, ["code"], items(COPY_AT_LEAST, "live"))
        with shadow_connection(engine, [Shadowed()], "next_") as conn, conn.begin():  # type: ignore[list-item]
            upsert_rows(conn, item, ["code"], items(2 * COPY_AT_LEAST, "next"))
            add_tuples(conn, tally, ["node", "code"], ["seen", "total"], [("VN", f"c{i}", 1, 2) for i in range(60)])
        assert {r[3] for r in rows_of(engine, item)} == {"live"}
        assert rows_of(engine, tally) == []
        assert {r[3] for r in rows_of(engine, shadow.tables["next_bulktest_item"])} == {"next"}
        assert len(rows_of(engine, shadow.tables["next_bulktest_tally"])) == 60
    finally:
        shadow.drop_all(engine)
