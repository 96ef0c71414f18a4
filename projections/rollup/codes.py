"""Indicator definitions by code (chỉ tiêu theo mã) for a subtree's rollup: the distinct definitions the plans of the
subtree resolve each code to, found from the codes, not plan by plan.

Every definition a plan's reports can resolve a code to is a row of ``rollup_indicator`` with that code (the plan's
own or an ancestor's). So when every row of a code agrees on the compared fields, every subtree agrees too; only a
code whose rows disagree somewhere is resolved plan by plan, over the subtree's plans that report it. The
per-code table is cached under the rollup's facts token (``store.facts_token``), which changes with every plan,
amendment and criteria event that changes the facts (the only events that change definitions or plan links).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, Text, column, func, select, true

from . import fact_store
from .evolve import ALL_PLANS
from .store import facts_token
from .tables import rollup_indicator, rollup_indicator_count

IDENTITY = ("name", "unit", "aggregation")  # what makes the subtree's figures one quantity
TARGET = ("comparator", "comparison", "threshold", "threshold_max", "year", "horizon", "recurrence", "scope")
COMPARED = (*IDENTITY, *TARGET, "item_code", "item_title")
Variant = tuple[tuple[str, Any], ...]  # a definition reduced to the compared fields, hashable
ByCode = dict[str, list[dict[str, Any]]]  # code → its distinct definitions (compared fields only)


def variant(definition: Mapping[str, Any]) -> Variant:
    """The compared fields of a definition (what a national reader needs to agree on)."""
    return tuple((k, definition.get(k)) for k in COMPARED)


def distinct(definitions: Iterable[Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """The distinct variants among ``definitions`` (None: no definition, skipped), in a stable order."""
    found = {variant(d) for d in definitions if d is not None}
    return [dict(v) for v in sorted(found, key=repr)]


class CodeCatalog:
    """The distinct definitions of every indicator code over every plan, computed once per database state."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[Engine, OrderedDict[str, ByCode]] = weakref.WeakKeyDictionary()

    def variants(self, conn: Connection) -> ByCode:
        """Every code's distinct definitions in the state ``conn`` reads (one key lookup when cached)."""
        key = facts_token(conn)
        if key is None:  # tables made before facts tokens, until the rollup's set-up names their facts
            return all_variants(conn)
        with self._lock:
            entries = self._entries.setdefault(conn.engine, OrderedDict())
            if key in entries:
                entries.move_to_end(key)
                return entries[key]
        found = all_variants(conn)
        with self._lock:
            entries[key] = found
            while len(entries) > self.size:
                entries.popitem(last=False)
        return found


def all_variants(conn: Connection) -> ByCode:
    """Every code's distinct definitions: grouped in SQL by the compared fields, one sample row read per group."""
    t = rollup_indicator
    query = select(t.c.code, func.min(t.c.plan_id)).select_from(t).group_by(t.c.code)
    if conn.dialect.name == "postgresql":  # one parse per row (json_to_record), not one per field: 5x faster
        record = func.json_to_record(t.c.definition).table_valued(*(column(k, Text) for k in COMPARED))
        fields = record.render_derived(name="d", with_types=True)
        query = query.join(fields, true()).group_by(*fields.c)
    else:
        query = query.group_by(*(t.c.definition[k].as_string() for k in COMPARED))
    samples = {(r[0], r[1]) for r in conn.execute(query)}
    wanted = sorted({plan_id for _, plan_id in samples})
    query = select(rollup_indicator).where(rollup_indicator.c.plan_id.in_(wanted))
    by_code: dict[str, list[Mapping[str, Any]]] = {}
    for row in conn.execute(query) if wanted else ():
        if (row.code, row.plan_id) in samples:
            by_code.setdefault(row.code, []).append(row.definition)
    return {code: distinct(found) for code, found in by_code.items()}


def subtree_variants(
    conn: Connection, path: str, period: str, plan_id: str, codes: Iterable[str], catalog: CodeCatalog
) -> ByCode:
    """The distinct definitions the subtree's plans (or the one plan) resolve each of ``codes`` to."""
    codes = sorted(set(codes))
    if plan_id != ALL_PLANS:
        own = fact_store.definitions_many(conn, [plan_id])[plan_id]
        return {code: distinct([own.get(code)]) for code in codes}
    everywhere = catalog.variants(conn)
    found = {code: everywhere.get(code, []) for code in codes}
    disputed = [code for code, variants in found.items() if len(variants) > 1]
    return {**found, **_resolved_plan_by_plan(conn, path, period, disputed)}


def _resolved_plan_by_plan(conn: Connection, path: str, period: str, codes: list[str]) -> ByCode:
    """Codes whose definitions disagree somewhere: each plan of the subtree reporting them, resolved up its chain."""
    if not codes:
        return {}
    t = rollup_indicator_count
    query = select(t.c.plan_id, t.c.indicator_code).where(
        t.c.node_path == path, t.c.period == period, t.c.indicator_code.in_(codes)
    )
    pairs = [(r[0], r[1]) for r in conn.execute(query)]
    definitions = fact_store.definitions_many(conn, {plan_id for plan_id, _ in pairs})
    return {code: distinct(definitions[p].get(c) for p, c in pairs if c == code) for code in codes}
