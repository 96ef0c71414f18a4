"""Thin store of the plans read model: load and save plan rows, add parent, amendment and criteria rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from .rows import AmendmentRow, CriteriaRow, Fact, ParentRow, PlanRow
from .tables import plans_amendment, plans_criteria, plans_parent, plans_plan

TABLE_OF: dict[type, Table] = {ParentRow: plans_parent, AmendmentRow: plans_amendment, CriteriaRow: plans_criteria}
_DATETIMES = ("registered_at", "numbered_at", "amended_at", "occurred_at")


def aware(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its datetimes in UTC (SQLite hands back naive values of what was written in UTC)."""
    for key in _DATETIMES:
        value = row.get(key)
        if isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return row


def _utc(row: Any) -> dict[str, Any]:
    data = asdict(row)
    for key in _DATETIMES:
        if isinstance(data.get(key), datetime):
            data[key] = data[key].astimezone(UTC)
    return data


def load(conn: Connection, plan_id: str) -> PlanRow | None:
    """The plan row, if any."""
    row = conn.execute(select(plans_plan).where(plans_plan.c.plan_id == plan_id)).first()
    if row is None:
        return None
    data = aware(row._asdict())
    return PlanRow(**{f.name: data[f.name] for f in fields(PlanRow)})


def save(conn: Connection, before: PlanRow | None, after: PlanRow | None) -> None:
    """Persist the change from ``before`` to ``after``."""
    if after is None or after == before:
        return
    if before is None:
        conn.execute(insert(plans_plan).values(**_utc(after)))
    else:
        conn.execute(update(plans_plan).where(plans_plan.c.plan_id == after.plan_id).values(**_utc(after)))


def add_facts(conn: Connection, facts: Sequence[Fact]) -> None:
    """Insert parent, amendment and criteria rows, one statement per table."""
    for kind, table in TABLE_OF.items():
        rows = [_utc(f) for f in facts if isinstance(f, kind)]
        if rows:
            conn.execute(insert(table), rows)
