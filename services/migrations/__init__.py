"""Schema migrations of the operations tables (event store, lookups, API clients and idempotency, webhooks, sync,
relay, runner tracking, read-model versions, the web app's accounts and sessions) with Alembic, configured here (no
``alembic.ini``); the revisions ship in the package (``versions/``). Read models are not migrated: they are versioned
and rebuilt blue/green.

* ``upgrade``: a new database is created at the head in one step (``create_all`` of the operations tables, then
  stamped: what the revisions would build, as the migrations' test proves); a database from release v0.1.0 (tables,
  no ``alembic_version``) is recognised by comparing its tables with v0.1.0's, its missing v0.1.0 tables created
  and stamped ``0001``; then the revisions run, all in one transaction (SQLite and PostgreSQL both run DDL in
  transactions: a failure leaves the database as it was). An existing SQLite database is backed up first.
* ``require_current``: the servers refuse a database at another revision; it only reads (creates no table and, for
  SQLite, no file).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from services.kernel.errors import DatabaseNotCurrent, DatabaseNotRecognised, DowngradeRefused, UsageMistake

from . import baseline
from .metadata import operations_metadata

SCRIPTS = Path(__file__).resolve().parent
BASELINE = "0001"  # release v0.1.0
UNVERSIONED = "v0.1.0"  # what a database with our tables and no alembic_version is taken for
LOCK_KEY = 0x7468_6964_7561_0004  # one upgrade at a time (PostgreSQL advisory lock)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration: the packaged scripts, and the connection to run on."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    """The revisions shipped with the code."""
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision this code needs."""
    found = scripts().get_current_head()
    if found is None:
        raise RuntimeError("no migration revisions shipped")
    return found


@dataclass(frozen=True)
class Revision:
    """One revision: its id, parent, summary and, when its downgrade cannot restore what it changed, why."""

    id: str
    down: str | None
    summary: str
    irreversible: str | None


def history() -> list[Revision]:
    """Every revision, oldest first."""
    found = []
    for script in scripts().walk_revisions():
        down = script.down_revision if isinstance(script.down_revision, str) else None
        summary = (script.doc or "").strip().splitlines()[0] if script.doc else ""
        found.append(Revision(script.revision, down, summary, getattr(script.module, "irreversible", None)))
    return list(reversed(found))


# --- reading the state (never writes) -------------------------------------------------------------------------


def database_exists(engine: Engine) -> bool:
    """Whether there is a database to open: for a SQLite file, that the file exists (connecting would create it)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return True
    return Path(str(url.database)).is_file()


def revision_of(conn: Connection) -> str | None:
    """The revision stamped in the database (None: no ``alembic_version``)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


def current(engine: Engine) -> str | None:
    """The database's revision: its stamp, ``v0.1.0`` for tables of ours without a stamp, None for no database or
    an empty one. Reads only."""
    if not database_exists(engine):
        return None
    with engine.connect() as conn:
        found = revision_of(conn)
        if found is None and inspect(conn).has_table("event"):
            return UNVERSIONED
        return found


def require_current(engine: Engine) -> None:
    """Raise ``DatabaseNotCurrent`` unless the database is at this code's revision (run ``thidua db upgrade``)."""
    found, wanted = current(engine), head()
    if found != wanted:
        raise DatabaseNotCurrent(found, wanted)


# --- changing it ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What an upgrade or downgrade did."""

    before: str | None
    after: str | None
    applied: list[str] = field(default_factory=list)
    created: bool = False  # a new database, created at the head in one step
    adopted: bool = False  # a v0.1.0 database recognised and stamped 0001
    backup: Path | None = None
    seconds: float = 0.0


def upgrade(engine: Engine, to: str = "head", backup: bool = True) -> Outcome:
    """Bring the database to revision ``to`` (creating it when new); an existing SQLite file is backed up first
    when there is something to apply (``backup``)."""
    started = time.monotonic()
    target = _resolve(to)
    with _exclusive(engine) as conn:
        found = revision_of(conn)
        ours = set(inspect(conn).get_table_names()) & set(baseline.metadata().tables)
        outcome = Outcome(found if found or not ours else UNVERSIONED, target)
        if found is None and not ours and target == head():
            _create_at_head(conn)
            outcome.created = True
        else:
            start = found or (BASELINE if ours else None)
            outcome.applied = _between(start, target)
            if found is None and ours:
                outcome.applied = [BASELINE, *outcome.applied]
            if outcome.applied and backup and (found or ours):  # an empty database has nothing to lose
                outcome.backup = backup_sqlite(engine, outcome.before)
            if found is None and ours:
                _adopt(conn, ours)
                outcome.adopted = True
            if start != target:
                command.upgrade(alembic_config(conn), target)
    outcome.seconds = time.monotonic() - started
    return outcome


def ensure(engine: Engine) -> bool:
    """Create the database at the head when it is new (no table of ours); otherwise require it at the head
    (``DatabaseNotCurrent``): upgrading an existing database is ``upgrade``'s, an operator's act. True when created."""
    with _exclusive(engine) as conn:
        if revision_of(conn) is None and not set(inspect(conn).get_table_names()) & set(baseline.metadata().tables):
            _create_at_head(conn)
            return True
    require_current(engine)
    return False


def downgrade(engine: Engine, to: str, backup: bool = True) -> Outcome:
    """Undo revisions down to ``to``; refused (``DowngradeRefused``) when one of them cannot be undone."""
    started = time.monotonic()
    target = None if to == "base" else _resolve(to)
    with _exclusive(engine) as conn:
        found = revision_of(conn)
        if found is None:
            raise DatabaseNotCurrent(current(engine), head())
        undone = list(reversed(_between(target, found)))
        for revision in undone:
            reason = getattr(scripts().get_revision(revision).module, "irreversible", None)
            if reason:
                raise DowngradeRefused(revision, reason)
        outcome = Outcome(found, target, undone)
        if undone and backup:
            outcome.backup = backup_sqlite(engine, found)
        try:
            command.downgrade(alembic_config(conn), target or "base")
        except RuntimeError as exc:  # a downgrade that finds it cannot go on (e.g. an event store that is not empty)
            raise DowngradeRefused(found, str(exc)) from exc
    outcome.seconds = time.monotonic() - started
    return outcome


def backup_sqlite(engine: Engine, label: str | None) -> Path | None:
    """Copy a SQLite database file (SQLite's online backup: consistent, WAL included) next to it as
    ``<file>.<revision>-<UTC time>.bak``; None for other databases (back PostgreSQL up with pg_dump)."""
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    source = Path(str(engine.url.database))
    moment = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = source.with_name(f"{source.name}.{label or 'empty'}-{moment}.bak")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


# --- pieces ---------------------------------------------------------------------------------------------------


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A transaction that no other upgrade runs beside (SQLite: the write lock taken at BEGIN)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
        yield conn


def _create_at_head(conn: Connection) -> None:
    """A new database in one step: the code's operations tables, stamped at the head (what the revisions build)."""
    operations_metadata().create_all(conn)
    MigrationContext.configure(conn).stamp(scripts(), head())


def _resolve(to: str) -> str:
    try:
        revision = scripts().get_revision(to)
    except CommandError:
        revision = None
    if revision is None:
        raise UsageMistake(
            f"Không có phiên bản lược đồ {to!r}: các phiên bản có trong `thidua db history`.",
            f"No schema revision {to!r}: the revisions are listed by `thidua db history`.",
            revision=to,
        )
    return str(revision.revision)


def _between(lower: str | None, upper: str) -> list[str]:
    """The revisions above ``lower`` up to ``upper``, oldest first (empty when ``upper`` is ``lower``)."""
    if lower == upper:
        return []
    chain = [s.revision for s in scripts().iterate_revisions(upper, lower or "base")]
    return [str(r) for r in reversed(chain)]


def _adopt(conn: Connection, ours: set[str]) -> None:
    """Stamp a v0.1.0 database ``0001`` after checking its tables are v0.1.0's; create v0.1.0's tables it lacks
    (a node that never served the API has no API tables, one that never synced no sync tables)."""
    frozen = baseline.metadata()
    missing = set(frozen.tables) - ours

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or name in ours

    context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
    differences = [d for d in _flatten(compare_metadata(context, frozen)) if _table_of(d) not in missing]
    if "event" not in ours or differences:
        raise DatabaseNotRecognised([_describe(d) for d in differences] or ["no event table"])
    frozen.create_all(conn, tables=[t for t in frozen.sorted_tables if t.name in missing])
    MigrationContext.configure(conn).stamp(scripts(), BASELINE)


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for diff in diffs:
        found.extend(diff if isinstance(diff, list) else [diff])
    return found


def _table_of(diff: tuple[Any, ...]) -> str | None:
    """The table a difference is about (compare_metadata's tuples name it in one of a few ways)."""
    for item in diff[1:3]:
        table = getattr(item, "table", None)
        if table is not None and hasattr(table, "name"):
            return str(table.name)
        if hasattr(item, "name") and hasattr(item, "columns") and hasattr(item, "metadata"):
            return str(item.name)
    return str(diff[2]) if len(diff) > 2 and isinstance(diff[2], str) else None


def _describe(diff: tuple[Any, ...]) -> str:
    return f"{diff[0]} {_table_of(diff) or ''}".strip()


def new_revision(message: str) -> Path:
    """(Developers) Write ``versions/<next>_<slug>.py`` from the difference between the head and the code's
    operations tables, found on a throwaway SQLite database built by the revisions; return its path."""
    import tempfile

    from services.kernel.db import make_engine

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/head.db")
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
                script = command.revision(
                    alembic_config(conn), message=message, autogenerate=True, rev_id=f"{int(head()) + 1:04d}"
                )
        finally:
            engine.dispose()
    scripts.cache_clear()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)
