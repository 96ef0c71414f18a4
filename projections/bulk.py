"""Set-based reads and writes at the driver level, on SQLite and PostgreSQL alike: rows by a list of keys, and
whole batches of rows inserted, upserted, added into counters or deleted in one statement.

Per-row round trips and SQLAlchemy's per-row parameter processing were what made rebuilds slow
(docs/benchmarks.md, "4. Rebuild"). Keys are joined as a list (PostgreSQL: unnested arrays; SQLite: a JSON array,
or an IN list for one column): one primary-key probe per key, where a row-value ``IN`` is a table scan on SQLite
and costs PostgreSQL's planner one index path per key. On PostgreSQL a batch is one statement over unnested typed
arrays sent in binary; on SQLite one executemany. Values go through each column type's own SQLAlchemy processing
(JSON, dates, booleans), so the tables hold exactly what SQLAlchemy would have written. Table names stay in the
SQL text, so a connection that rewrites them (``services.audit.replay``'s shadow tables) still applies. Rows of
one call must have distinct keys (as an upsert over a set needs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, Connection, Date, DateTime, Integer, Table, bindparam, exists, select, update

from .shadow import rewritten

T = TypeVar("T")

CHUNK = 500  # keys per IN list (SQLite, one-column keys): below every SQLite's bound-parameter limit
COPY_AT_LEAST = 50  # rows: fewer are inserted by one statement (a COPY costs its own round trips)


def _json_text() -> Callable[[Any], str]:
    """``json.dumps`` with its default arguments, its C encoder made once: ``dumps`` builds a new encoder for every
    value, about 40 % of serialising a rollup slot's figures (docs/benchmarks.md § 4). The same text (one C encoder,
    the same separators and escaping); no check for circular values (rows hold none). ``json.dumps`` where the C
    encoder is missing."""
    if c_make_encoder is None:
        return json.dumps
    encode = c_make_encoder(
        None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    return lambda value: "".join(encode(value, 0))


JSON_TEXT = _json_text()


def json_serializer(conn: Connection) -> Callable[[Any], str]:
    """How JSON values are serialised for ``conn``: its dialect's serialiser (as SQLAlchemy would), else
    :data:`JSON_TEXT` (``json.dumps``'s text)."""
    return getattr(conn.dialect, "_json_serializer", None) or JSON_TEXT


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select_by_keys(
    conn: Connection, table: Table, columns: Sequence[str], keys: Iterable[tuple[Any, ...]]
) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` whose ``columns`` are one of ``keys``, as dicts of the values SQLAlchemy would give: one
    SELECT (per ``CHUNK`` keys for an IN list)."""
    names = [c.name for c in table.columns]
    processors = [table.c[n].type.dialect_impl(conn.dialect).result_processor(conn.dialect, None) for n in names]
    q = conn.dialect.identifier_preparer.quote
    wanted = ", ".join(f"{q(table.name)}.{q(n)}" for n in names)
    listed = sorted(set(keys))
    if not listed:
        return
    in_list = len(columns) == 1 and conn.dialect.name != "postgresql"  # bound parameters: one per key
    for chunk in chunked(listed) if in_list else [listed]:
        source, params = _keyed_source(conn, table, columns, chunk)
        for row in conn.exec_driver_sql(f"SELECT {wanted} FROM {source}", params):
            yield {
                n: v if process is None else process(v) for n, process, v in zip(names, processors, row, strict=True)
            }


def _keyed_source(
    conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[tuple[Any, ...]]
) -> tuple[str, Any]:
    """``table`` restricted to ``keys``, as a FROM clause, and its parameters."""
    q = conn.dialect.identifier_preparer.quote
    name = q(table.name)
    if conn.dialect.name == "postgresql":
        listed, arrays = _unnest(conn, table, columns, keys)
        match = " AND ".join(f"{name}.{q(c)} = k.{q(c)}" for c in columns)
        return f"{name} JOIN {listed} ON {match}", arrays
    if len(columns) == 1:
        return f"{name} WHERE {name}.{q(columns[0])} IN ({', '.join('?' * len(keys))})", tuple(k[0] for k in keys)
    parts = ", ".join(f"json_extract(value, '$[{i}]') AS k{i}" for i in range(len(columns)))
    match = " AND ".join(f"{name}.{q(c)} = k.k{i}" for i, c in enumerate(columns))
    return f"(SELECT {parts} FROM json_each(?)) AS k JOIN {name} ON {match}", (json.dumps(list(keys)),)


def update_by_key(conn: Connection, table: Table, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE of whole rows, matched on their key ``columns``."""
    if not rows:
        return
    where = [table.c[c] == bindparam(f"k_{c}") for c in columns]
    params = [{**row, **{f"k_{c}": row[c] for c in columns}} for row in rows]
    conn.execute(update(table).where(*where), params)


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _unnest(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> tuple[str, Any]:
    """``unnest(%s::type[], …) AS k(columns)`` and its parameters: one array per column."""
    q = conn.dialect.identifier_preparer.quote
    kinds = ["int8" if isinstance(table.c[c].type, Integer) else "text" for c in columns]
    arrays = ", ".join(f"%b::{kind}[]" for kind in kinds)  # binary: no per-element quoting in the client
    lists = tuple(list(items) for items in zip(*rows, strict=True))
    return f"unnest({arrays}) AS k({', '.join(q(c) for c in columns)})", lists


def insert_tuples(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], tail: str = ""
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) in one go; ``tail`` is appended (ON CONFLICT …)."""
    if not rows:
        return
    q = conn.dialect.identifier_preparer.quote
    names = ", ".join(q(c) for c in columns)
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_AT_LEAST:
        stage = _stage(conn, table)
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        _insert_staged(conn, table, columns, stage, tail)
    elif conn.dialect.name == "postgresql":
        source, arrays = _unnest(conn, table, columns, rows)
        conn.exec_driver_sql(f"INSERT INTO {q(table.name)} ({names}) SELECT * FROM {source}{tail}", arrays)
    else:
        marks = ", ".join([_mark(conn)] * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {q(table.name)} ({names}) VALUES ({marks}){tail}", list(rows))


def add_tuples(
    conn: Connection, table: Table, keys: Sequence[str], names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Upsert counter rows (tuples of ``keys`` then ``names``): a new key is inserted, a stored one has ``names``
    added to its own."""
    q = conn.dialect.identifier_preparer.quote
    adds = ", ".join(f"{q(n)} = {q(table.name)}.{q(n)} + excluded.{q(n)}" for n in names)
    tail = f" ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET {adds}"
    insert_tuples(conn, table, [*keys, *names], rows, tail)


def delete_tuples(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], also: str = ""
) -> None:
    """DELETE the rows whose ``columns`` equal each tuple of ``rows`` (and ``also``, an SQL condition on columns of
    ``table`` only)."""
    if not rows:
        return
    q = conn.dialect.identifier_preparer.quote
    name = q(table.name)
    extra = [also] if also else []
    if conn.dialect.name == "postgresql":
        source, arrays = _unnest(conn, table, columns, rows)
        match = " AND ".join([*(f"{name}.{q(c)} = k.{q(c)}" for c in columns), *extra])
        conn.exec_driver_sql(f"DELETE FROM {name} USING {source} WHERE {match}", arrays)
    else:
        match = " AND ".join([*(f"{q(c)} = {_mark(conn)}" for c in columns), *extra])
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE {match}", list(rows))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], tail: str = "") -> None:
    """INSERT whole rows (dicts of every column) in one go at the driver level; ``tail`` is appended.

    PostgreSQL: one statement over unnested typed arrays. SQLite: one executemany, each value through its column
    type's own bind processing (JSON, dates, booleans), as SQLAlchemy would do.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _insert_unnested(conn, table, rows, tail)
        return
    columns = [c.name for c in table.columns]
    processed = [(c, table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)) for c in columns]
    params = [tuple(row[c] if process is None else process(row[c]) for c, process in processed) for row in rows]
    q = conn.dialect.identifier_preparer.quote
    names, marks = ", ".join(q(c) for c in columns), ", ".join([_mark(conn)] * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {q(table.name)} ({names}) VALUES ({marks}){tail}", params)


def _insert_unnested(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], tail: str) -> None:
    """``INSERT … SELECT … FROM unnest(typed arrays)``; JSON goes as text, serialised as SQLAlchemy would."""
    q = conn.dialect.identifier_preparer.quote
    serialize = json_serializer(conn)
    kinds, arrays = [], []
    for column in table.columns:
        kind = _pg_kind(column.type)
        values = [row[column.name] for row in rows]
        if kind == "json":
            keep_null = column.type.none_as_null  # type: ignore[attr-defined]
            values = [None if v is None and keep_null else serialize(v) for v in values]
        kinds.append(kind)
        arrays.append(values)
    names = [q(c.name) for c in table.columns]
    picked = ", ".join(f"k.{n}::json" if kind == "json" else f"k.{n}" for n, kind in zip(names, kinds, strict=True))
    typed = ", ".join(f"%b::{'text' if kind == 'json' else kind}[]" for kind in kinds)
    source = f"unnest({typed}) AS k({', '.join(names)})"
    conn.exec_driver_sql(
        f"INSERT INTO {q(table.name)} ({', '.join(names)}) SELECT {picked} FROM {source}{tail}", tuple(arrays)
    )


def is_empty(conn: Connection, table: Table) -> bool:
    """Whether ``table`` holds no row (a build from scratch has nothing to read back from it)."""
    return not conn.execute(select(exists().select_from(table))).scalar()


def copy_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert whole rows (dicts of every column) into ``table``, on PostgreSQL with COPY (rows formatted by psycopg's
    C code, no arrays built in Python; a rewritten table name, such as a shadow table's, is followed), elsewhere as
    :func:`insert_rows`. Values are what :func:`insert_rows` would send: JSON serialised as SQLAlchemy would."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_AT_LEAST:
        insert_rows(conn, table, rows)
        return
    _copy(conn, conn.dialect.identifier_preparer.quote(table.name), table, rows)


def _copy(conn: Connection, target: str, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY whole rows of ``table`` (dicts of every column) into ``target``, JSON serialised as SQLAlchemy would; a
    shadow connection's table names are followed (COPY goes to the driver directly)."""
    serialize = json_serializer(conn)
    names = [c.name for c in table.columns]
    pick = itemgetter(*names)
    # JSON columns: (index, None stays SQL NULL); the other values go as they are
    json_columns = [(i, c.type.none_as_null) for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
    q = conn.dialect.identifier_preparer.quote
    statement = rewritten(conn, f"COPY {target} ({', '.join(map(q, names))}) FROM STDIN")
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            values = list(pick(row)) if len(names) > 1 else [pick(row)]
            for i, keep_null in json_columns:
                if values[i] is not None or not keep_null:
                    values[i] = serialize(values[i])
            copy.write_row(values)


def _stage(conn: Connection, table: Table) -> str:
    """This session's temporary copy of ``table``'s columns (emptied at commit), to COPY rows into before one
    ``INSERT … SELECT`` moves them: psycopg formats COPY rows in C, where typed arrays are dumped element by element in
    Python (the rollup's upserts of thousands of rows a batch, docs/benchmarks.md § 3). The name is not one a shadow
    connection rewrites; its ``LIKE`` is (the shadow table has the same columns)."""
    q = conn.dialect.identifier_preparer.quote
    stage = q(f"stage_{table.name}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {q(table.name)}) ON COMMIT DELETE ROWS")
    return stage


def _insert_staged(conn: Connection, table: Table, columns: Sequence[str], stage: str, tail: str) -> None:
    """Move the rows COPYed into ``stage`` into ``table`` (``tail`` appended), emptying the stage for the next call
    of the same transaction."""
    q = conn.dialect.identifier_preparer.quote
    names = ", ".join(q(c) for c in columns)
    conn.exec_driver_sql(
        f"WITH s AS (DELETE FROM {stage} RETURNING {names}) INSERT INTO {q(table.name)} ({names}) "
        f"SELECT {names} FROM s{tail}"
    )


def _pg_kind(type_: Any) -> str:
    """The PostgreSQL array element type a column's values are sent as."""
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, Integer):
        return "int8"
    if isinstance(type_, DateTime):
        return "timestamptz" if type_.timezone else "timestamp"
    if isinstance(type_, Date):
        return "date"
    return "text"


def upsert_rows(conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """``insert_rows``, replacing the rows whose ``keys`` are taken."""
    q = conn.dialect.identifier_preparer.quote
    others = ", ".join(f"{q(c.name)} = excluded.{q(c.name)}" for c in table.columns if c.name not in keys)
    tail = f" ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET {others}"
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_AT_LEAST:
        stage = _stage(conn, table)
        _copy(conn, stage, table, rows)
        _insert_staged(conn, table, [c.name for c in table.columns], stage, tail)
        return
    insert_rows(conn, table, rows, tail)
