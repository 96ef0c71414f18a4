"""Thin store of the rollup read model: slots in and out, counters flushed as summed deltas."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from projections.bulk import add_tuples, chunked, delete_tuples, select_by_keys, upsert_rows

from .counters import Tally
from .evolve import COUNTERS, INDICATOR_COUNTERS, Slot
from .tables import (
    rollup_count,
    rollup_facts_token,
    rollup_indicator_count,
    rollup_plan,
    rollup_slot,
)

SlotKey = tuple[str, str, str]
SLOT_KEY = ("plan_id", "period", "unit_path")


def upsert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT that supports ON CONFLICT."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def below(column: Any, path: str) -> Any:
    """Everything strictly below ``path``, as one index range (paths compare byte-wise; '0' follows '/')."""
    return and_(column > path + "/", column < path + "0")


def slot_from_row(row: Any) -> Slot:
    """A slot from its row (a result row, or a dict of its columns): every field is a column, so the slot's fields
    are set in its ``__dict__`` without the frozen dataclass's ``__init__`` (``evolve._with`` does the same)."""
    data = dict(row) if isinstance(row, dict) else row._asdict()
    data["values"] = tuple((c, float(v), m) for c, v, m in data["values"])
    if data["targets"] is not None:
        data["targets"] = tuple((c, float(t)) for c, t in data["targets"])
    slot = object.__new__(Slot)
    slot.__dict__.update(data)
    return slot


def _row(slot: Slot) -> dict[str, Any]:
    return vars(slot)  # the fields, as the columns are named (tuples of tuples are JSON arrays of arrays)


def load_slots(conn: Connection, plan_id: str, periods: Sequence[str]) -> dict[str, dict[str, Slot]]:
    """Every slot of a plan in each of ``periods``, by period then unit path (one SELECT)."""
    found: dict[str, dict[str, Slot]] = {period: {} for period in periods}
    if periods:
        c = rollup_slot.c
        query = select(rollup_slot).where(c.plan_id == plan_id, c.period.in_(list(periods)))
        for r in conn.execute(query):
            found[r.period][r.unit_path] = slot_from_row(r)
    return found


def slots_by_keys(conn: Connection, keys: Iterable[SlotKey]) -> list[Slot]:
    """The slots among ``keys`` that exist (one SELECT per chunk of keys)."""
    return [slot_from_row(r) for r in select_by_keys(conn, rollup_slot, SLOT_KEY, keys)]


def slots_of_reports(conn: Connection, report_ids: Iterable[str]) -> list[Slot]:
    """The slots holding any of ``report_ids``."""
    return [slot_from_row(r) for r in select_by_keys(conn, rollup_slot, ("report_id",), [(r,) for r in report_ids])]


def save_slots(conn: Connection, changes: Iterable[tuple[Slot | None, Slot | None]]) -> None:
    """Persist slot changes from what is stored to what is wanted, set-based: an empty slot is deleted, any other
    written whole (inserted or replaced; keys in order: one lock order)."""
    deleted: list[SlotKey] = []
    written: list[dict[str, Any]] = []
    for before, after in sorted(changes, key=lambda change: (change[1] or change[0]).key):  # type: ignore[union-attr]
        if after is not None and after.is_empty:
            after = None
        if after == before:
            continue
        if after is None:
            deleted.append(before.key)  # type: ignore[union-attr]
        else:
            written.append(_row(after))
    delete_tuples(conn, rollup_slot, SLOT_KEY, deleted)
    upsert_rows(conn, rollup_slot, SLOT_KEY, written)


def keys_using_codes(conn: Connection, codes: Iterable[str], plan_ids: Iterable[str]) -> list[SlotKey]:
    """Slots of ``plan_ids`` whose figures or targets use one of ``codes`` (the plans' slots: one primary-key range
    per plan)."""
    wanted = set(codes)
    return [key for key, used in _codes_of_plans(conn, plan_ids) if used & wanted]


def keys_of_plans(conn: Connection, plan_ids: Iterable[str]) -> list[SlotKey]:
    """Slots of ``plan_ids`` that use any indicator code."""
    return [key for key, used in _codes_of_plans(conn, plan_ids) if used]


def _codes_of_plans(conn: Connection, plan_ids: Iterable[str]) -> list[tuple[SlotKey, set[str]]]:
    """Each slot of ``plan_ids`` with the indicator codes its figures and targets use, by key."""
    s = rollup_slot.c
    found: list[tuple[SlotKey, set[str]]] = []
    for chunk in chunked(sorted(set(plan_ids))):
        query = select(s.plan_id, s.period, s.unit_path, s["values"], s.targets).where(s.plan_id.in_(list(chunk)))
        for r in conn.execute(query):
            found.append(((r.plan_id, r.period, r.unit_path), {v[0] for v in r[3]} | {t[0] for t in r.targets or ()}))
    return sorted(found)


def flush(conn: Connection, tally: Tally) -> None:
    """Add a batch's deltas to the counters (sorted keys: concurrent writers lock rows in one order)."""
    _add(conn, rollup_count, COUNTERS, COUNTERS, tally.count_rows())
    _add(conn, rollup_indicator_count, INDICATOR_COUNTERS, ("reports",), tally.indicator_rows())


def _add(
    conn: Connection,
    table: Any,
    names: tuple[str, ...],
    gauges: tuple[str, ...],
    deltas: Sequence[tuple[tuple[str, ...], tuple[int, ...]]],
) -> None:
    """Upsert ``deltas`` (key, values in ``names`` order) into ``table``; rows whose non-negative ``gauges`` all fall
    to zero are deleted.

    Gauges count slots, so they are never negative: a row can only fall to zero if none of its gauges went up, and
    only those rows are checked.
    """
    keys = [c.name for c in table.primary_key.columns]
    add_tuples(conn, table, keys, names, [(*key, *delta) for key, delta in deltas])
    picks = [names.index(g) for g in gauges]
    gauge = itemgetter(*picks) if len(picks) > 1 else lambda delta: (delta[picks[0]],)
    fallen = [key for key, delta in deltas if max(gauge(delta)) <= 0]
    delete_tuples(conn, table, keys, fallen, " AND ".join(f"{g} = 0" for g in gauges))


def facts_token(conn: Connection) -> str | None:
    """The token naming the current state of the fact tables (None in tables made before tokens existed)."""
    return conn.execute(select(rollup_facts_token.c.token).where(rollup_facts_token.c.id == 1)).scalar()


def next_facts_token(previous: str | None, event_id: str) -> str:
    """The token after fact event ``event_id`` changed the facts: the first token XOR a hash of each such event, so
    equal tokens mean the same fact events applied, in whatever order streams were interleaved (facts depend on
    each plan's own stream only), and rebuilt tables get the token the live ones have (a replay compares equal).
    Tables made before tokens existed (``previous`` None) get a random one, shared with no other tables."""
    if previous is None:
        return uuid.uuid4().hex
    mixed = int(previous, 16) ^ int(hashlib.sha256(event_id.encode()).hexdigest()[:32], 16)
    return f"{mixed:032x}"


def write_facts_token(conn: Connection, token: str) -> None:
    """Store ``token`` as the name of the facts now in the tables."""
    query = upsert(conn, rollup_facts_token).values(id=1, token=token)
    conn.execute(query.on_conflict_do_update(index_elements=["id"], set_={"token": token}))


def seed_facts_token(conn: Connection) -> None:
    """Name the facts of tables that have no token: empty fact tables get the first token of every chain, tables
    already holding plans (made before tokens existed) a random one."""
    if facts_token(conn) is None:
        empty = conn.execute(select(rollup_plan.c.plan_id).limit(1)).first() is None
        write_facts_token(conn, FIRST_FACTS_TOKEN if empty else uuid.uuid4().hex)


FIRST_FACTS_TOKEN = "0" * 32  # no fact event applied yet
