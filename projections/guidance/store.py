"""Thin store of the guidance read model: rows loaded by key (one SELECT per table and batch), changes saved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from sqlalchemy import Connection, Table, insert

from projections.bulk import copy_rows, is_empty, select_by_keys, update_by_key

from .rows import BlocRow, CriteriaRow, DocumentRow, PlanRow, ReportRow, Row, TargetRow, UnitRow
from .tables import (
    guidance_bloc,
    guidance_criteria,
    guidance_document,
    guidance_document_target,
    guidance_plan,
    guidance_report,
    guidance_target,
    guidance_unit,
)

TABLES: dict[type, tuple[Table, tuple[str, ...]]] = {
    UnitRow: (guidance_unit, ("path",)),
    BlocRow: (guidance_bloc, ("bloc_code",)),
    PlanRow: (guidance_plan, ("plan_id",)),
    CriteriaRow: (guidance_criteria, ("criteria_id",)),
    TargetRow: (guidance_target, ("unit_path", "plan_id", "year")),
    ReportRow: (guidance_report, ("report_id",)),
    DocumentRow: (guidance_document, ("guidance_id",)),
}
Key = tuple[type, tuple[Any, ...]]


def _as_row(row_type: type, values: dict[str, Any]) -> Row:
    return row_type(**{f.name: values[f.name] for f in fields(row_type)})  # type: ignore[no-any-return]


def empty(conn: Connection) -> bool:
    """Whether every guidance table is empty (a build from scratch has nothing to load)."""
    return all(is_empty(conn, table) for table, _ in TABLES.values())


def load(conn: Connection, row_type: type, key: tuple[Any, ...]) -> Row | None:
    """The row of ``row_type`` with primary key ``key``, if any."""
    return load_many(conn, [(row_type, key)]).get((row_type, key))


def load_many(conn: Connection, keys: Iterable[Key]) -> dict[Key, Row]:
    """The rows named by ``keys`` (row type, primary key) that exist: one SELECT per table."""
    wanted: defaultdict[type, set[tuple[Any, ...]]] = defaultdict(set)
    for row_type, key in keys:
        wanted[row_type].add(key)
    found: dict[Key, Row] = {}
    for row_type, values in wanted.items():
        table, columns = TABLES[row_type]
        for row in select_by_keys(conn, table, columns, values):
            found[(row_type, tuple(row[c] for c in columns))] = _as_row(row_type, row)
    return found


def save(conn: Connection, before: Row | None, after: Row | None) -> None:
    """Persist the change from ``before`` to ``after`` (rows are never deleted)."""
    save_many(conn, [(before, after)])


def save_many(conn: Connection, changes: Iterable[tuple[Row | None, Row | None]]) -> None:
    """Persist each change from ``before`` to ``after``: one INSERT and one UPDATE per table at most."""
    inserts: defaultdict[type, list[dict[str, Any]]] = defaultdict(list)
    updates: defaultdict[type, list[dict[str, Any]]] = defaultdict(list)
    targets: list[dict[str, str]] = []
    for before, after in changes:
        if after is None or after == before:
            continue
        (inserts if before is None else updates)[type(after)].append(vars(after))  # read only: no copy needed
        if before is None and isinstance(after, DocumentRow):
            targets += [{"path": p, "guidance_id": after.guidance_id} for p in sorted(set(after.addressed_to))]
    for row_type, rows in inserts.items():
        copy_rows(conn, TABLES[row_type][0], rows)
    if targets:
        conn.execute(insert(guidance_document_target), targets)
    for row_type, rows in updates.items():
        update_by_key(conn, *TABLES[row_type], rows)
