"""A build of the rollup from scratch (a blue/green rebuild, an as-of rebuild), set-based: one ``Work`` spans every
batch of the build, so the events are folded by the incremental path's own functions (``changes``, ``evolve``,
``settle``, the counters' ``Tally``) over the whole history in memory, and the final rows are written once, by COPY
into the empty tables (PostgreSQL), instead of once per batch as upserts.

What the tables already hold is read as the incremental path reads it (a build that carries on, or the slots a plan
event bound), and a fact event in the middle writes what is pending first (``Work.flush``), so the tables end up
exactly as the incremental path leaves them (tests/integration/test_rollup_build.py compares every row). Memory is
bounded: past ``capacity`` slots (or counter keys) in memory, what is held is written out and forgotten, and later
events read what they need back, as a new batch would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from projections.bulk import copy_rows, is_empty
from services.kernel.events import Event

from . import fact_store, store
from .batch import Facts, Work
from .evolve import COUNTERS, INDICATOR_COUNTERS, Slot
from .fact_memory import FactMemory
from .store import SlotKey
from .tables import rollup_count, rollup_indicator_count, rollup_slot, rollup_unit

# Slots and counter keys held before they are written out: about 0.5 KB each in memory (200,000 slots with ten
# figures each and their 2.2 M own counter keys took 1.18 GB), so at most ~200 MB; a national build writes out
# every few tens of thousands of events (each unit's events are read together: little is read back).
CAPACITY = 400_000


class BuildWork(Work):
    """The work of a whole build: nothing is written at the end of a batch, only by :meth:`write_out` (at the end of
    the build, or when ``capacity`` is passed) and before a fact event (``flush``, as in any batch)."""

    def __init__(self, conn: Connection, facts: Facts | None = None, capacity: int = CAPACITY) -> None:
        super().__init__(conn, facts)
        self.capacity = capacity
        # Every slot is in memory while the slot table is empty (nothing written yet): reads are answered from
        # memory, a flush only settles (the rows wait for ``write_out``).
        self.complete = is_empty(conn, rollup_slot)
        self.plan_keys: defaultdict[str, set[SlotKey]] = defaultdict(set)  # plan → its keys in memory (complete)
        # Plan, criteria and bloc events of a build that starts from empty fact tables keep the facts in memory
        # (written before report and unit events read them, and by ``write_out``).
        self.fact_memory = FactMemory(conn) if FactMemory.fits(conn) else None
        if self.fact_memory is not None:
            self.fact_tables = self.fact_memory

    # --- facts: in memory, written before anything reads the tables ------------------------------------------------

    def prepare(self, events: Sequence[Event]) -> None:
        """Before a run of report and unit events (which read the fact tables): the facts written, then read as a
        batch reads them."""
        if self.fact_memory is not None:
            self.fact_memory.write(self.conn)
        super().prepare(events)

    # --- reads answered from memory while it holds every slot --------------------------------------------------

    def prefetch(self, keys: Iterable[SlotKey]) -> None:
        """Keys not in memory have no slot (complete), else read as a batch reads them."""
        if not self.complete:
            super().prefetch(keys)
            return
        for key in keys:
            self.current.setdefault(key, None)
            self.stored.setdefault(key, None)

    def prefetch_reports(self, report_ids: Iterable[str]) -> None:
        """Every slot holding a report is in memory (complete), else read as a batch reads them."""
        if self.complete:
            self.searched.update(report_ids)
        else:
            super().prefetch_reports(report_ids)

    def slots_of(self, plan_id: str, periods: Sequence[str]) -> dict[str, dict[str, Slot]]:
        """Every slot of a plan in each of ``periods``, by period then unit path (from memory when complete)."""
        if not self.complete:
            return super().slots_of(plan_id, periods)
        self.flush()
        found: dict[str, dict[str, Slot]] = {period: {} for period in periods}
        for key in sorted(self.plan_keys[plan_id]):
            if key[1] in found and (slot := self.current[key]) is not None:
                found[key[1]][key[2]] = slot
        return found

    def keys_using_codes(self, codes: Iterable[str], plan_ids: Iterable[str]) -> list[SlotKey]:
        """Slots of ``plan_ids`` whose figures or targets use one of ``codes``."""
        if not self.complete:
            return super().keys_using_codes(codes, plan_ids)
        wanted = set(codes)
        return [key for key, used in self._codes_of_plans(plan_ids) if used & wanted]

    def keys_of_plans(self, plan_ids: Iterable[str]) -> list[SlotKey]:
        """Slots of ``plan_ids`` that use any indicator code."""
        if not self.complete:
            return super().keys_of_plans(plan_ids)
        return [key for key, used in self._codes_of_plans(plan_ids) if used]

    def _codes_of_plans(self, plan_ids: Iterable[str]) -> list[tuple[SlotKey, set[str]]]:
        """As ``store.keys_using_codes`` finds them in the table: each slot of the plans with its codes, by key."""
        self.flush()
        found = []
        for plan_id in set(plan_ids):
            for key in self.plan_keys[plan_id]:
                if (slot := self.current[key]) is not None:
                    found.append((key, {v[0] for v in slot.values} | {t[0] for t in slot.targets or ()}))
        return sorted(found)

    def resettle(self, before: Slot | None, after: Slot | None, defs: Mapping[str, Any]) -> bool:
        """As a batch resettles, the key indexed by its plan (complete)."""
        changed = super().resettle(before, after, defs)
        if self.complete and (after or before) is not None:
            key = (after or before).key  # type: ignore[union-attr]
            self.plan_keys[key[0]].add(key)
        return changed

    def flush(self) -> None:
        """Before a fact event (and its reads): settle and tally what changed; when memory holds every slot the rows
        wait for ``write_out`` (the units are written: their table is read by plan events), else written now."""
        if not self.complete:
            super().flush()
            return
        self._settle()
        for key in self.dirty:
            self.stored[key] = self.current[key]  # tallied (the table gets it in ``write_out``)
        self.dirty.clear()
        if self.new_units:
            fact_store.insert_units(self.conn, self.new_units)
            self.new_units = []

    @property
    def held(self) -> int:
        """Slots and counter keys in memory."""
        return len(self.current) + len(self.tally.own) + len(self.tally.own_indicators)

    def end_batch(self) -> None:
        """After a batch: write out and forget what is held if it passed the capacity."""
        if self.held > self.capacity:
            self.write_out()

    def write_out(self) -> None:
        """Write every pending slot, unit and counter delta (new rows by COPY), then forget the slots and the
        deltas: later events read what they need from the tables."""
        if self.fact_memory is not None:
            self.fact_memory.write(self.conn)
        self._settle()
        fresh, changed = [], []
        if self.complete:  # the table is empty: every slot in memory is new to it
            fresh = [vars(slot) for _, slot in sorted(self.current.items()) if slot is not None]
        else:
            for key in sorted(self.dirty):
                before, after = self.stored[key], self.current[key]
                if before is None and after is not None and not after.is_empty:
                    fresh.append(vars(after))  # not in the table (read as absent, or created here)
                else:
                    changed.append((before, after))
        store.save_slots(self.conn, changed)
        copy_rows(self.conn, rollup_slot, fresh)
        copy_rows(self.conn, rollup_unit, [{**row, "source": "EVENT"} for row in self.new_units])
        self.new_units = []
        self._write_counters()
        self.stored, self.current, self.dirty, self.reports = {}, {}, set(), {}
        self.searched = set()
        self.complete, self.plan_keys = False, defaultdict(set)  # later events read the tables again

    def _write_counters(self) -> None:
        """The summed deltas into the counter tables: COPY into an empty table (the deltas are then the final
        rows), else added as the incremental path adds them."""
        tally = self.tally
        if is_empty(self.conn, rollup_count) and is_empty(self.conn, rollup_indicator_count):
            copy_rows(self.conn, rollup_count, _rows(rollup_count, COUNTERS, tally.count_rows()))
            copy_rows(
                self.conn,
                rollup_indicator_count,
                _rows(rollup_indicator_count, INDICATOR_COUNTERS, tally.indicator_rows()),
            )
        else:
            store.flush(self.conn, tally)
        tally.own.clear()
        tally.own_indicators.clear()


def _rows(
    table: Any, names: tuple[str, ...], deltas: Sequence[tuple[tuple[str, ...], tuple[int, ...]]]
) -> list[dict[str, Any]]:
    keys = [c.name for c in table.primary_key.columns]
    return [dict(zip([*keys, *names], (*key, *delta), strict=True)) for key, delta in deltas]
