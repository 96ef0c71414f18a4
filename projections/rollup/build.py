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

from typing import Any

from sqlalchemy import Connection, exists, select

from projections.bulk import copy_rows

from . import store
from .batch import Facts, Work
from .evolve import COUNTERS, INDICATOR_COUNTERS
from .tables import rollup_count, rollup_indicator_count, rollup_slot, rollup_unit

CAPACITY = 200_000  # slots or counter keys held before they are written out (about 1 KB each in memory)


class BuildWork(Work):
    """The work of a whole build: nothing is written at the end of a batch, only by :meth:`write_out` (at the end of
    the build, or when ``capacity`` is passed) and before a fact event (``flush``, as in any batch)."""

    def __init__(self, conn: Connection, facts: Facts | None = None, capacity: int = CAPACITY) -> None:
        super().__init__(conn, facts)
        self.capacity = capacity

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
        self._settle()
        fresh, changed = [], []
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

    def _write_counters(self) -> None:
        """The summed deltas into the counter tables: COPY into an empty table (the deltas are then the final
        rows), else added as the incremental path adds them."""
        tally = self.tally
        if _empty(self.conn, rollup_count) and _empty(self.conn, rollup_indicator_count):
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


def _empty(conn: Connection, table: Any) -> bool:
    return not conn.execute(select(exists().select_from(table))).scalar()


def _rows(
    table: Any, names: tuple[str, ...], deltas: list[tuple[tuple[str, ...], tuple[int, ...]]]
) -> list[dict[str, Any]]:
    keys = [c.name for c in table.primary_key.columns]
    return [dict(zip([*keys, *names], (*key, *delta), strict=True)) for key, delta in deltas]
