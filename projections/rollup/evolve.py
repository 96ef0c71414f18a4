"""Pure evolution of one report slot (plan, unit, period): ``evolve(event, slot) -> slot``, then ``settle``.

A slot holds facts from several streams — the binding (plan + unit), the latest report version and its review,
the registered targets — each stored as a value, never as an increment, so any interleaving converges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import singledispatch
from typing import Any

from projections.base import Handlers
from services.kernel.contracts import ReportReviewed, ReportSubmitted, TargetsRegistered
from services.kernel.events import Event

from .expectations import Binding
from .measures import meets_own, meets_plan

ALL_PLANS = "*"  # counters over every plan of the period
COUNTERS = (
    "expected",  # báo cáo phải nộp: slots a duty binds
    "expected_dated",  # … whose duty states a deadline (denominator of the on-time rate)
    "submitted",  # expected and submitted (latest version)
    "on_time",
    "late",
    "undated",  # submitted against a duty without a deadline: timeliness cannot be judged
    "accepted",
    "returned",
    "registered",  # expected and registered targets (đăng ký thi đua)
    "extra_submitted",  # submitted although no duty binds the unit
    "extra_registered",
    "target_units",  # units with registered targets
    "target_met",  # … whose latest report meets all of them
)
INDICATOR_COUNTERS = ("reports", "judged", "met", "total_micro")  # total in millionths: exact, order-free sums
MISSING, ON_TIME, LATE, SUBMITTED, NONE = "MISSING", "ON_TIME", "LATE", "SUBMITTED", "NONE"
ACCEPTED, RETURNED = "ACCEPTED", "RETURNED"
Value = tuple[str, float, bool | None]  # (indicator code, value, meets the plan's target)


@dataclass(frozen=True)
class Slot:
    """One report a unit owes (or gave) a plan for a period."""

    plan_id: str
    period: str
    unit_path: str
    expected: bool = False
    duty_code: str | None = None
    due_date: date | None = None
    report_id: str | None = None
    version: int | None = None
    submitted_at: datetime | None = None
    late: bool = False
    report_deadline: date | None = None
    outcome: str | None = None
    values: tuple[Value, ...] = ()
    targets: tuple[tuple[str, float], ...] | None = None
    registration_version: int | None = None
    status: str = NONE
    own_met: bool | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """(plan_id, period, unit_path)."""
        return self.plan_id, self.period, self.unit_path

    @property
    def is_empty(self) -> bool:
        """Neither expected, submitted nor registered: the row can go."""
        return not self.expected and self.version is None and self.targets is None

    @property
    def counts_values(self) -> bool:
        """Whether the latest version's figures count (a returned version's do not)."""
        return self.version is not None and self.outcome != RETURNED


def _with(slot: Slot, **changes: Any) -> Slot:
    """``dataclasses.replace`` for slots, without its per-field checks nor the frozen ``__init__``'s one
    ``object.__setattr__`` per field (settling is on the hot path): the new slot's fields are set in its ``__dict__``
    (4× faster; equal and hashed alike)."""
    new = object.__new__(Slot)
    fields = new.__dict__
    fields.update(slot.__dict__)
    fields.update(changes)
    return new


def slot_key(event: Event) -> tuple[str, str, str] | None:
    """The slot a report or registration event changes (a review is found by its report id)."""
    d = event.data
    if isinstance(event, ReportSubmitted):
        return d["plan_id"], d["period"], d["unit"]["path"]
    if isinstance(event, TargetsRegistered):
        return d["plan_id"], str(d["year"]), d["unit"]["path"]
    return None


@singledispatch
def evolve(event: Event, slot: Slot | None) -> Slot | None:
    """Events that carry no report facts leave the slot unchanged."""
    return slot


@evolve.register
def _submitted(event: ReportSubmitted, slot: Slot | None) -> Slot:
    d = event.data
    slot = slot or Slot(d["plan_id"], d["period"], d["unit"]["path"])
    if slot.version is not None and d["version"] <= slot.version:  # a replay: the later facts stand
        return slot
    values = {v["indicator_code"]: float(v["value"]) for v in d["values"]}  # the last value of a code wins
    return _with(
        slot,
        report_id=d["report_id"],
        version=d["version"],
        submitted_at=event.occurred_at,
        late=bool(d["late"]),
        report_deadline=d["deadline"],
        outcome=None,
        values=tuple((code, value, None) for code, value in values.items()),
    )


@evolve.register
def _reviewed(event: ReportReviewed, slot: Slot | None) -> Slot | None:
    if slot is None or slot.version != event.data["version"]:
        return slot
    return _with(slot, outcome=event.data["outcome"])


@evolve.register
def _registered(event: TargetsRegistered, slot: Slot | None) -> Slot:
    d, version = event.data, int(event.meta["stream_version"])
    slot = slot or Slot(d["plan_id"], str(d["year"]), d["unit"]["path"])
    if slot.registration_version is not None and version <= slot.registration_version:
        return slot
    targets = {t["indicator_code"]: float(t["value"]) for t in d["targets"]}
    return _with(slot, targets=tuple(targets.items()), registration_version=version)


EVOLVE = Handlers(evolve)  # the hot path's dispatch: ``EVOLVE[type(event)](event, slot)``


def with_binding(slot: Slot, binding: Binding | None) -> Slot:
    """The slot as the plan's duties and the unit bind it now."""
    if binding is None:
        return _with(slot, expected=False, duty_code=None, due_date=None)
    return _with(slot, expected=True, duty_code=binding[0], due_date=binding[1])


def settle(slot: Slot, definitions: Mapping[str, Mapping[str, Any]]) -> Slot:
    """Derive the status and the judgements from the facts and the indicator definitions known now."""
    values = tuple((code, value, meets_plan(definitions.get(code), value)) for code, value, _ in slot.values)
    return _with(slot, values=values, status=_status(slot), own_met=_own_met(slot, definitions))


def _status(slot: Slot) -> str:
    if slot.version is None:
        return MISSING if slot.expected else NONE
    if slot.late:
        return LATE
    return ON_TIME if slot.report_deadline is not None else SUBMITTED


def _own_met(slot: Slot, definitions: Mapping[str, Mapping[str, Any]]) -> bool | None:
    if not slot.targets:
        return None
    reported = {code: value for code, value, _ in slot.values} if slot.counts_values else {}
    return all(meets_own(definitions.get(code), reported.get(code), target) for code, target in slot.targets)
