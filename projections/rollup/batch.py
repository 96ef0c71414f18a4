"""One batch of the rollup in memory (a unit of work): slots and facts read once, changed in memory, written back
set-based.

Report, registration, review and unit events — nearly all of them — only read facts (plans, duties, indicator
definitions): for each run of them, what the run needs is read up front with a handful of SELECTs on key lists
and the events are folded in memory. Plan and criteria events write facts and read slots by other keys (a plan's
units, the slots using an indicator): before one the pending changes are written, after it the facts read so far
are forgotten. Every write goes through here, so what is in memory is what the tables would hold had each event
been applied alone, and the tables end up exactly so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from services.kernel.contracts import OrgUnitRegistered, ReportReviewed
from services.kernel.events import Event

from . import fact_store, store
from .counters import Tally, nodes_of
from .evolve import Slot, settle, slot_key
from .expectations import memberships, unit_view
from .fact_rows import unit_row
from .store import SlotKey

if TYPE_CHECKING:
    from .fact_memory import FactTables


class Facts:
    """Plans, duties, indicator definitions and duty scopes as read from the fact tables, kept across batches while
    the tables' facts token (``rollup_facts_token``) is the one they were read under.

    Every batch that applies a plan or criteria event that changes the facts writes the next token in its
    transaction (``store.next_facts_token``), so a token names one state of the facts, in whichever schema or
    shadow tables it is found: a batch that reads the same token as the one the facts were read under may use
    them, whichever process or batch changed the facts in between. At most ``capacity`` plans are kept between
    batches (the oldest read are dropped first); within a batch every plan it reads stays. One thread's: a batch
    may trim or reset it.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self.reset(None)

    def reset(self, token: str | None) -> None:
        """Forget every fact: they were read under another token (or the facts changed)."""
        self.token = token
        self.plans: dict[str, dict[str, Any] | None] = {}
        self.duty_lists: dict[str, list[dict[str, Any]]] = {}
        self.defs: dict[str, dict[str, dict[str, Any]]] = {}
        self.scoped: dict[str, set[str]] = {}
        self.blocs: dict[str, list[dict[str, Any]]] = {}  # province path → its khối/cụm thi đua

    def valid_for(self, token: str | None) -> Facts:
        """These facts if read under ``token`` (trimmed to the capacity), else emptied for it; a missing token (a
        table created before tokens existed, until its first plan event) keeps nothing across batches."""
        if token is None or token != self.token:
            self.reset(token)
        for plan_id in list(self.plans)[: max(0, len(self.plans) - self.capacity)]:
            del self.plans[plan_id], self.duty_lists[plan_id], self.defs[plan_id]
        if len(self.scoped) > self.capacity:
            self.scoped.clear()
        if len(self.blocs) > self.capacity:
            self.blocs.clear()
        return self


class Work:
    """The slots, units and facts of one batch, and its counter deltas."""

    def __init__(self, conn: Connection, facts: Facts | None = None) -> None:
        self.conn = conn
        self.facts = facts if facts is not None else Facts()
        self.fact_tables: FactTables = fact_store  # where fact events read and write facts (a build: its memory)
        self.tally = Tally()
        self.stored: dict[SlotKey, Slot | None] = {}  # as the table holds it (read, or last written)
        self.current: dict[SlotKey, Slot | None] = {}  # as the events so far leave it
        self.dirty: set[SlotKey] = set()
        self.unsettled: dict[SlotKey, Mapping[str, Any]] = {}  # changed slots: the definitions to settle them by
        self.reports: dict[str, SlotKey] = {}  # report id → the slot in memory that holds it
        self.searched: set[str] = set()  # report ids whose stored slots are all in memory
        self.unit_paths: set[str] = set()  # paths and codes known to be taken (stored, or inserted by this batch)
        self.unit_codes: set[str] = set()
        self.checked: set[tuple[str, str]] = set()  # ("path" | "code", value) looked up
        self.new_units: list[dict[str, Any]] = []
        self.use_facts()

    # --- facts: read-only between two plan or criteria events ----------------------------------------------------

    def forget_facts(self, token: str | None = None) -> None:
        """Drop the plans, duties, definitions and duty scopes read so far (a plan or criteria event changed them;
        ``token`` names the facts from now on)."""
        self.facts.reset(token)
        self.use_facts()

    def use_facts(self) -> None:
        """Read facts through ``self.facts`` (after it was emptied or trimmed)."""
        self.plans, self.duty_lists = self.facts.plans, self.facts.duty_lists
        self.defs, self.scoped = self.facts.defs, self.facts.scoped
        self.province_blocs = self.facts.blocs

    def load_facts(self, plan_ids: Iterable[str]) -> None:
        """Read the plan rows, duties and indicator definitions of ``plan_ids`` not read yet."""
        wanted = set(plan_ids) - self.plans.keys()
        if not wanted:
            return
        plans = fact_store.load_plans(self.conn, wanted)
        duties = fact_store.load_duties_many(self.conn, wanted)
        defs = fact_store.definitions_many(self.conn, wanted)
        for plan_id in wanted:
            self.plans[plan_id], self.duty_lists[plan_id], self.defs[plan_id] = (
                plans.get(plan_id),
                duties[plan_id],
                defs[plan_id],
            )

    def plan(self, plan_id: str) -> dict[str, Any] | None:
        """The plan row."""
        if plan_id not in self.plans:
            self.load_facts([plan_id])
        return self.plans[plan_id]

    def duties(self, plan_id: str) -> list[dict[str, Any]]:
        """The plan's duties in their order."""
        if plan_id not in self.plans:
            self.load_facts([plan_id])
        return self.duty_lists[plan_id]

    def definitions(self, plan_id: str) -> dict[str, dict[str, Any]]:
        """Indicator definitions the plan's reports may use."""
        if plan_id not in self.plans:
            self.load_facts([plan_id])
        return self.defs[plan_id]

    def load_scopes(self, paths: Iterable[str]) -> None:
        """Read which plans have a duty scoped at each of ``paths`` not read yet."""
        wanted = set(paths) - self.scoped.keys()
        if wanted:
            self.scoped.update(fact_store.plans_scoped_at(self.conn, wanted))

    def plans_binding_below(self, ancestors: Sequence[str]) -> list[str]:
        """Plans with a duty whose subtree is one of ``ancestors``."""
        self.load_scopes(ancestors)
        return sorted(set().union(*(self.scoped[a] for a in ancestors)))

    def blocs(self, province: str) -> list[dict[str, Any]]:
        """The khối/cụm thi đua of a province (read once while the facts hold)."""
        if province not in self.province_blocs:
            self.province_blocs.update(self.fact_tables.blocs_of(self.conn, [province]))
        return self.province_blocs[province]

    def unit(self, row: dict[str, Any]) -> Any:
        """The write side's view of a unit row, with the khối/cụm thi đua it belongs to."""
        province = "/".join(row["path"].split("/")[:2])
        blocs = memberships(self.blocs(province), row["path"], row.get("emulation_bloc")) if "/" in row["path"] else ()
        return unit_view(
            row["path"], row["code"], row["level"], row["kind"], row["name"], row.get("agency_type"), blocs
        )

    # --- units -----------------------------------------------------------------------------------------------------

    def check_units(self, paths: Iterable[str], codes: Iterable[str]) -> None:
        """Look up which of ``paths`` and ``codes`` are taken, for those not looked up yet."""
        paths = {p for p in paths if ("path", p) not in self.checked}
        codes = {c for c in codes if ("code", c) not in self.checked}
        if not paths and not codes:
            return
        found_paths, found_codes = fact_store.known_units(self.conn, paths, codes)
        self.unit_paths |= found_paths
        self.unit_codes |= found_codes
        self.checked |= {("path", p) for p in paths} | {("code", c) for c in codes}

    def add_unit(self, row: dict[str, Any]) -> bool:
        """Add a registered unit unless its path or code is taken (the first registration stands)."""
        self.check_units([row["path"]], [row["code"]])
        if row["path"] in self.unit_paths or row["code"] in self.unit_codes:
            return False
        self.unit_paths.add(row["path"])
        self.unit_codes.add(row["code"])
        self.new_units.append(row)
        return True

    def units_under(self, scope: str, levels: Iterable[str]) -> list[dict[str, Any]]:
        """Units strictly below ``scope`` at one of ``levels``, by path (pending units written first)."""
        self.flush()
        return fact_store.units_under(self.conn, scope, levels)

    # --- slots -----------------------------------------------------------------------------------------------------

    def _adopt(self, slot: Slot) -> None:
        """Take a stored slot into memory unless memory already holds (a newer state of) its key."""
        if slot.key not in self.current:
            self.stored[slot.key] = self.current[slot.key] = slot
            self._index(slot)

    def _index(self, slot: Slot | None) -> None:
        if slot is not None and slot.report_id is not None:
            self.reports[slot.report_id] = slot.key

    def prefetch(self, keys: Iterable[SlotKey]) -> None:
        """Read the slots of ``keys`` not in memory yet (absent ones are remembered as absent)."""
        missing = {key for key in keys if key not in self.current}
        if not missing:
            return
        for slot in store.slots_by_keys(self.conn, missing):
            self._adopt(slot)
        for key in missing - self.current.keys():
            self.stored[key] = self.current[key] = None

    def slot(self, key: SlotKey) -> Slot | None:
        """The slot with ``key``, if any."""
        if key not in self.current:
            self.prefetch([key])
        return self.current[key]

    def prefetch_reports(self, report_ids: Iterable[str]) -> None:
        """Read the stored slots holding ``report_ids``, for those not searched yet."""
        wanted = {r for r in report_ids if r not in self.searched and self._held(r) is None}
        if wanted:
            for slot in store.slots_of_reports(self.conn, wanted):
                self._adopt(slot)
            self.searched |= wanted

    def report_slot(self, report_id: str) -> Slot | None:
        """The slot holding report ``report_id``."""
        found = self._held(report_id)
        if found is None and report_id not in self.searched:
            self.prefetch_reports([report_id])
            found = self._held(report_id)
        return found

    def _held(self, report_id: str) -> Slot | None:
        key = self.reports.get(report_id)
        if key is None:
            return None
        slot = self.current.get(key)
        if slot is not None and slot.report_id == report_id:
            return slot
        # The slot moved to another report (not something the write side does): look through memory.
        return next((s for s in self.current.values() if s is not None and s.report_id == report_id), None)

    def slots_of(self, plan_id: str, periods: Sequence[str]) -> dict[str, dict[str, Slot]]:
        """Every slot of a plan in each of ``periods``, by period then unit path (pending changes written first)."""
        self.flush()
        found = store.load_slots(self.conn, plan_id, periods)
        for by_path in found.values():
            for slot in by_path.values():
                self._adopt(slot)
        return {
            period: {path: self.current[slot.key] for path, slot in by_path.items()}  # type: ignore[misc]
            for period, by_path in found.items()
        }

    def keys_using_codes(self, codes: Iterable[str], plan_ids: Iterable[str]) -> list[SlotKey]:
        """Slots of ``plan_ids`` whose figures or targets use one of ``codes`` (pending changes written first)."""
        self.flush()
        return store.keys_using_codes(self.conn, codes, plan_ids)

    def keys_of_plans(self, plan_ids: Iterable[str]) -> list[SlotKey]:
        """Slots of ``plan_ids`` that use any indicator code (pending changes written first; none for no plan: a new
        plan has no plans below it yet, and its slots are written with the batch's next ones)."""
        plan_ids = list(plan_ids)
        if not plan_ids:
            return []
        self.flush()
        return store.keys_of_plans(self.conn, plan_ids)

    def resettle(self, before: Slot | None, after: Slot | None, defs: Mapping[str, Any]) -> bool:
        """Keep ``after`` as the slot's state from ``before`` (its current state), to be settled against ``defs``
        (the definitions known now) when written back; False when its facts did not change.

        Settling (status, judgements) and tallying its deltas wait for the write: a slot changed by several events
        of a batch is settled and tallied once, from what the table holds to where the events leave it (the deltas
        of the steps in between sum to that). The events only read its facts, never what settling derives."""
        if after is not None and after.is_empty:
            after = None
        if after is None and before is None:
            return False
        key = (after or before).key  # type: ignore[union-attr]
        self.stored.setdefault(key, before)
        self.current[key] = after
        self.unsettled[key] = defs
        self.dirty.add(key)
        self._index(after)
        return after != before

    def _settle(self) -> None:
        """Settle the slots changed since the last write and tally their deltas from what the table holds."""
        for key, defs in self.unsettled.items():
            after = self.current[key]
            if after is not None:
                after = self.current[key] = settle(after, defs)
            self.tally.change(self.stored[key], after)
        self.unsettled.clear()

    # --- reading ahead and writing back ----------------------------------------------------------------------------

    def prepare(self, events: Sequence[Event]) -> None:
        """Read what a run of report, registration, review and unit events needs, a few SELECTs in all."""
        units = [unit_row(e) for e in events if isinstance(e, OrgUnitRegistered)]
        self.check_units([u["path"] for u in units], [u["code"] for u in units])
        above = {u["path"]: nodes_of(u["path"])[:-1] for u in units}
        self.load_scopes({a for ancestors in above.values() for a in ancestors})
        binding = {path: self.plans_binding_below(ancestors) for path, ancestors in above.items()}
        reviewed = [e.data["report_id"] for e in events if isinstance(e, ReportReviewed)]
        self.prefetch_reports(reviewed)
        keys = [key for key in map(slot_key, events) if key is not None]
        held = [slot.plan_id for slot in map(self._held, reviewed) if slot is not None]
        self.load_facts({k[0] for k in keys} | {p for plans in binding.values() for p in plans} | set(held))
        for path, plan_ids in binding.items():
            for plan_id in plan_ids:
                keys += [(plan_id, period, path) for period in (self.plans[plan_id] or {}).get("periods", [])]
        self.prefetch(keys)

    def flush(self) -> None:
        """Write the pending slot changes and units (memory stays as it is: now it is what the tables hold)."""
        self._settle()
        if self.dirty:
            store.save_slots(self.conn, [(self.stored[key], self.current[key]) for key in self.dirty])
            for key in self.dirty:
                self.stored[key] = self.current[key]
            self.dirty.clear()
        if self.new_units:
            fact_store.insert_units(self.conn, self.new_units)
            self.new_units = []
