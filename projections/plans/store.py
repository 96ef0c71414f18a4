"""Thin store of the plans read model: load and save plan rows, add parent, amendment and criteria rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert

from projections.rowstore import RowStore, to_columns, utc_aware

from .rows import AmendmentRow, CriteriaRow, Fact, ParentRow, PlanRow
from .tables import plans_amendment, plans_criteria, plans_parent, plans_plan

TABLE_OF: dict[type, Table] = {ParentRow: plans_parent, AmendmentRow: plans_amendment, CriteriaRow: plans_criteria}
_DATETIMES = ("registered_at", "numbered_at", "amended_at", "occurred_at")
PLANS = RowStore(plans_plan, PlanRow, "plan_id", _DATETIMES)
load, save = PLANS.load, PLANS.save


def aware(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its datetimes in UTC (SQLite hands back naive values of what was written in UTC)."""
    return utc_aware(row, _DATETIMES)


def add_facts(conn: Connection, facts: Sequence[Fact]) -> None:
    """Insert parent, amendment and criteria rows, one statement per table."""
    for kind, table in TABLE_OF.items():
        rows = [to_columns(f, _DATETIMES) for f in facts if isinstance(f, kind)]
        if rows:
            conn.execute(insert(table), rows)
