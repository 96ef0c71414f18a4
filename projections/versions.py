"""Versions of read models: what the code defines, what the database's live tables hold.

A read model's version is its own number (the class attribute ``version``, bumped by hand when ``evolve`` changes
meaning) and a fingerprint of its tables' DDL (computed: any change of a column, type, key or index changes it).
The database records in ``readmodel_version`` which version each read model's live tables hold; a runner applies
events to a read model only while the two agree, and a different version is built beside the live one and switched
in atomically (``projections.bluegreen``). These two tables are operations tables, under the migrations.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.schema import CreateIndex, CreateTable

from services.kernel.db import new_metadata
from services.kernel.store import utcnow

from .base import Projection

metadata = new_metadata()

readmodel_version = Table(
    "readmodel_version",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("version", Integer, nullable=False, comment="The read model's number (bumped when evolve changes meaning)."),
    Column("fingerprint", String(64), nullable=False, comment="sha256 of its tables' DDL."),
    Column("tables", JSON, nullable=False, comment="Names of the live tables of this version."),
    Column(
        "built_through",
        BigInteger,
        nullable=False,
        comment="Store position a blue/green build had applied when switched in; Kafka workers skip records at or "
        "below it (0: none).",
    ),
    Column("switched_at", DateTime(timezone=True), nullable=False),
    comment="Which version of each read model its live tables hold.",
)

readmodel_build = Table(
    "readmodel_build",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("prefix", String(20), nullable=False, comment="Prefix of the new version's tables while it is built."),
    Column("position", BigInteger, nullable=False, comment="Last store position applied to the new tables."),
    Column("events", BigInteger, nullable=False, comment="Events applied to the new tables."),
    Column("owner", String(200), nullable=False, comment="The process building it (host:pid)."),
    Column("lease_until", DateTime(timezone=True), nullable=False, comment="Another process may take over after."),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    comment="A new read-model version being built beside the live one (blue/green).",
)

_SPACE = re.compile(r"\s+")


_FINGERPRINTS: weakref.WeakKeyDictionary[MetaData, str] = weakref.WeakKeyDictionary()


def fingerprint(tables: MetaData) -> str:
    """sha256 of the DDL of ``tables`` (CREATE TABLE and CREATE INDEX for PostgreSQL and SQLite, tables by name,
    whitespace collapsed; comments are left out: they change no row). Computed once per MetaData."""
    if tables not in _FINGERPRINTS:
        _FINGERPRINTS[tables] = _fingerprint(tables)
    return _FINGERPRINTS[tables]


def _fingerprint(tables: MetaData) -> str:
    digest = hashlib.sha256()
    for table in sorted(tables.tables.values(), key=lambda t: t.name):
        for dialect in (postgresql.dialect(), sqlite.dialect()):  # type: ignore[no-untyped-call]
            indexes = sorted(table.indexes, key=_index_name)
            statements: list[CreateTable | CreateIndex] = [CreateTable(table), *(CreateIndex(i) for i in indexes)]
            for statement in statements:
                digest.update(_SPACE.sub(" ", str(statement.compile(dialect=dialect))).strip().encode())
                digest.update(b";\n")
    return digest.hexdigest()


def _index_name(index: object) -> str:
    return str(getattr(index, "name", ""))


@dataclass(frozen=True)
class Version:
    """A read model's version: its number and its tables' fingerprint."""

    number: int
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.number} ({self.fingerprint[:12]})"


@dataclass(frozen=True)
class LiveVersion:
    """What ``readmodel_version`` records for a read model."""

    version: Version
    tables: tuple[str, ...]
    built_through: int


def code_version(projection: Projection) -> Version:
    """The version the code defines."""
    return Version(int(getattr(projection, "version", 1)), fingerprint(projection.metadata))


def table_names(projection: Projection) -> list[str]:
    """The projection's table names."""
    return [t.name for t in projection.metadata.sorted_tables]


def live_versions(conn: Connection, names: Iterable[str] | None = None) -> dict[str, LiveVersion]:
    """The recorded version of each read model (all, or those named)."""
    t = readmodel_version
    query = select(t.c.projection, t.c.version, t.c.fingerprint, t.c.tables, t.c.built_through)
    if names is not None:
        query = query.where(t.c.projection.in_(list(names)))
    return {
        row.projection: LiveVersion(
            Version(int(row.version), str(row.fingerprint)), tuple(row.tables), int(row.built_through)
        )
        for row in conn.execute(query)
    }


def current(live: Mapping[str, LiveVersion], projection: Projection, wanted: Version | None = None) -> bool:
    """Whether the live tables of ``projection`` hold the code's version."""
    found = live.get(projection.name)
    return found is not None and found.version == (wanted or code_version(projection))


def record(conn: Connection, projection: Projection, version: Version, built_through: int = 0) -> None:
    """Record that the live tables of ``projection`` now hold ``version`` (insert or replace)."""
    values = {
        "projection": projection.name,
        "version": version.number,
        "fingerprint": version.fingerprint,
        "tables": table_names(projection),
        "built_through": built_through,
        "switched_at": utcnow(),
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(readmodel_version).values(values)
    update = {k: stmt.excluded[k] for k in values if k != "projection"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["projection"], set_=update))


readmodel_asof = Table(
    "readmodel_asof",
    metadata,
    Column("prefix", String(20), primary_key=True, comment="Prefix of the rebuild's tables (asof_…_)."),
    Column("position", BigInteger, nullable=False, comment="Store position the rebuild holds every event up to."),
    Column("models", String(200), nullable=False, comment="Read models rebuilt (comma-separated names)."),
    Column("scope", String(200), nullable=False, comment="Org path: its subtree and ancestors ('': all)."),
    Column("versions", Text, nullable=False, comment="The read models' versions it was built with."),
    Column("events", BigInteger, nullable=False, comment="Events replayed (or applied after a copy)."),
    Column("seconds", Float, nullable=False),
    Column("copied_from", BigInteger, comment="Position of the cached rebuild copied first, if any."),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=False, comment="Last read: least recently used go first."),
    comment="As-of rebuilds that are complete, reused by every process of the node (docs/audit.md).",
)
