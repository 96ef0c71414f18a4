"""Thin store of the rollup read model: slots in and out, counters flushed as summed deltas."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .evolve import COUNTERS, INDICATOR_COUNTERS, Slot
from .tables import rollup_count, rollup_indicator_count, rollup_slot, rollup_slot_code
from .tally import Tally

SlotKey = tuple[str, str, str]


def upsert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT that supports ON CONFLICT."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def below(column: Any, path: str) -> Any:
    """Everything strictly below ``path``, as one index range (paths compare byte-wise; '0' follows '/')."""
    return and_(column > path + "/", column < path + "0")


def slot_from_row(row: Any) -> Slot:
    """A slot from its row."""
    data = row._asdict()
    data["values"] = tuple((c, float(v), m) for c, v, m in data["values"])
    if data["targets"] is not None:
        data["targets"] = tuple((c, float(t)) for c, t in data["targets"])
    return Slot(**data)


def _row(slot: Slot) -> dict[str, Any]:
    row = asdict(slot)
    row["values"] = [list(v) for v in slot.values]
    row["targets"] = None if slot.targets is None else [list(t) for t in slot.targets]
    return row


def _key_filter(table: Any, key: SlotKey) -> Any:
    return and_(table.c.plan_id == key[0], table.c.period == key[1], table.c.unit_path == key[2])


def load_slot(conn: Connection, key: SlotKey) -> Slot | None:
    """The slot with ``key``, if any."""
    row = conn.execute(select(rollup_slot).where(_key_filter(rollup_slot, key))).first()
    return slot_from_row(row) if row else None


def load_slots(conn: Connection, plan_id: str, period: str) -> dict[str, Slot]:
    """Every slot of a plan and period, by unit path."""
    query = select(rollup_slot).where(rollup_slot.c.plan_id == plan_id, rollup_slot.c.period == period)
    return {r.unit_path: slot_from_row(r) for r in conn.execute(query)}


def slot_of_report(conn: Connection, report_id: str) -> Slot | None:
    """The slot holding report ``report_id``."""
    row = conn.execute(select(rollup_slot).where(rollup_slot.c.report_id == report_id)).first()
    return slot_from_row(row) if row else None


def _codes(slot: Slot | None) -> set[str]:
    if slot is None:
        return set()
    return {v[0] for v in slot.values} | {t[0] for t in slot.targets or ()}


def save_slot(conn: Connection, before: Slot | None, after: Slot | None) -> None:
    """Persist one slot's change (an empty slot is deleted) and its indicator-code index."""
    if after is not None and after.is_empty:
        after = None
    if after == before:
        return
    key = (after or before).key  # type: ignore[union-attr]
    if after is None:
        conn.execute(delete(rollup_slot).where(_key_filter(rollup_slot, key)))
    elif before is None:
        conn.execute(insert(rollup_slot).values(**_row(after)))
    else:
        conn.execute(update(rollup_slot).where(_key_filter(rollup_slot, key)).values(**_row(after)))
    old, new = _codes(before), _codes(after)
    if gone := old - new:
        conn.execute(
            delete(rollup_slot_code).where(
                _key_filter(rollup_slot_code, key), rollup_slot_code.c.indicator_code.in_(gone)
            )
        )
    if added := sorted(new - old):
        rows = [dict(plan_id=key[0], period=key[1], unit_path=key[2], indicator_code=c) for c in added]
        conn.execute(insert(rollup_slot_code), rows)


def insert_slots(conn: Connection, slots: list[Slot]) -> None:
    """Insert new slots that use no indicator code yet (a plan binding its units), in one statement."""
    assert not any(_codes(s) for s in slots)
    if slots:
        conn.execute(insert(rollup_slot), [_row(s) for s in slots])


def keys_using_codes(conn: Connection, codes: Iterable[str]) -> list[SlotKey]:
    """Slots whose figures or targets use one of ``codes``."""
    query = select(rollup_slot_code.c.plan_id, rollup_slot_code.c.period, rollup_slot_code.c.unit_path).distinct()
    rows = conn.execute(query.where(rollup_slot_code.c.indicator_code.in_(list(codes))))
    return sorted((r.plan_id, r.period, r.unit_path) for r in rows)


def keys_of_plans(conn: Connection, plan_ids: Iterable[str]) -> list[SlotKey]:
    """Slots of ``plan_ids`` that use any indicator code."""
    query = select(rollup_slot_code.c.plan_id, rollup_slot_code.c.period, rollup_slot_code.c.unit_path).distinct()
    rows = conn.execute(query.where(rollup_slot_code.c.plan_id.in_(list(plan_ids))))
    return sorted((r.plan_id, r.period, r.unit_path) for r in rows)


def flush(conn: Connection, tally: Tally) -> None:
    """Add a batch's deltas to the counters (sorted keys: concurrent writers lock rows in one order)."""
    _add(conn, rollup_count, COUNTERS, COUNTERS, sorted(tally.pending()))
    _add(conn, rollup_indicator_count, INDICATOR_COUNTERS, ("reports",), sorted(tally.pending_indicators()))


def _add(conn: Connection, table: Any, names: tuple[str, ...], gauges: tuple[str, ...], deltas: list) -> None:  # type: ignore[type-arg]
    """Upsert ``deltas`` into ``table``; rows whose non-negative ``gauges`` all fall to zero are deleted."""
    if not deltas:
        return
    keys = [c.name for c in table.primary_key.columns]
    rows = [{**dict(zip(keys, key, strict=True)), **{n: delta.get(n, 0) for n in names}} for key, delta in deltas]
    stmt = upsert(conn, table)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={n: table.c[n] + stmt.excluded[n] for n in names})
    conn.execute(stmt, rows)
    match = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys), *(table.c[g] == 0 for g in gauges))
    conn.execute(delete(table).where(match), [{f"k_{k}": row[k] for k in keys} for row in rows])
