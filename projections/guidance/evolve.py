"""Pure evolution of the guidance rows: ``evolve(event, row) -> row``; each event changes one row of its stream.

Every row is keyed by facts of its own stream (plan, unit, registration, report, guidance), so applying the
events of different streams in any relative order gives the same rows; within a stream the ``version`` guard
makes a redelivered event a no-op.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import singledispatch
from typing import Any

from services.kernel.contracts import (
    CriteriaRegistered,
    EmulationBlocRegistered,
    GuidanceIssued,
    OrgUnitRegistered,
    PlanAmended,
    PlanIssued,
    PlanNumberAssigned,
    ReportReviewed,
    ReportSubmitted,
    TargetsRegistered,
)
from services.kernel.events import Event

from .rows import BlocRow, CriteriaRow, DocumentRow, PlanRow, ReportRow, Row, TargetRow, UnitRow, jsonable

Key = tuple[type, tuple[Any, ...]]


def _version(event: Event) -> int:
    return int(event.meta["stream_version"])


def _newer(event: Event, row: Any) -> bool:
    return row is None or _version(event) > row.version


def _at(event: Event) -> datetime:
    """Business time in UTC (the same value on every backend)."""
    return event.occurred_at.astimezone(UTC)


@singledispatch
def row_key(event: Event) -> Key | None:
    """The row an event changes (its type and primary key), or None for events this model ignores."""
    return None


@row_key.register
def _(event: OrgUnitRegistered) -> Key:
    return UnitRow, (event.data["unit"]["path"],)


@row_key.register
def _(event: EmulationBlocRegistered) -> Key:
    return BlocRow, (event.data["bloc_code"],)


@row_key.register(PlanIssued)
@row_key.register(PlanNumberAssigned)
@row_key.register(PlanAmended)
def _(event: PlanIssued | PlanNumberAssigned | PlanAmended) -> Key:
    return PlanRow, (event.data["plan_id"],)


@row_key.register
def _(event: CriteriaRegistered) -> Key:
    return CriteriaRow, (event.data["criteria_id"],)


@row_key.register
def _(event: TargetsRegistered) -> Key:
    d = event.data
    return TargetRow, (d["unit"]["path"], d["plan_id"], d["year"])


@row_key.register(ReportSubmitted)
@row_key.register(ReportReviewed)
def _(event: ReportSubmitted | ReportReviewed) -> Key:
    return ReportRow, (event.data["report_id"],)


@row_key.register
def _(event: GuidanceIssued) -> Key:
    return DocumentRow, (event.data["guidance_id"],)


@singledispatch
def evolve(event: Event, row: Row | None) -> Row | None:
    """Events this read model does not know leave the row unchanged."""
    return row


@evolve.register
def _registered(event: OrgUnitRegistered, row: UnitRow | None) -> UnitRow | None:
    if row is not None:  # one registration per code: a redelivery changes nothing
        return row
    d = event.data
    return UnitRow(
        d["unit"]["path"],
        d["unit"]["code"],
        d["unit"]["level"],
        d["unit_kind"],
        d["name"],
        d.get("subject_category"),
        d.get("emulation_bloc"),
        d.get("agency_type"),
        _version(event),
    )


@evolve.register
def _bloc(event: EmulationBlocRegistered, row: BlocRow | None) -> BlocRow | None:
    if not _newer(event, row):  # a later definition replaces the members; a redelivery changes nothing
        return row
    d = event.data
    return BlocRow(d["bloc_code"], d["province"]["path"], d["kind"], d["name"], list(d["members"]), _version(event))


@evolve.register
def _issued(event: PlanIssued, row: PlanRow | None) -> PlanRow | None:
    if not _newer(event, row):
        return row
    d = event.data
    return PlanRow(
        d["plan_id"],
        d["issuer"]["path"],
        jsonable(d["issuer"]),
        d["document_number"],
        d["document_symbol"],
        d["issue_date"],
        d["title"],
        list(d["implements"]),
        jsonable(d["phases"]),
        jsonable(d["reporting_duties"]),
        jsonable(d["award_forms"]),
        d.get("plan_deadline"),
        jsonable(d.get("period")),
        0,
        _version(event),
    )


@evolve.register
def _numbered(event: PlanNumberAssigned, row: PlanRow | None) -> PlanRow | None:
    if row is None or not _newer(event, row):
        return row
    d = event.data
    return replace(row, document_number=d["document_number"], issue_date=d["issue_date"], version=_version(event))


@evolve.register
def _amended(event: PlanAmended, row: PlanRow | None) -> PlanRow | None:
    if row is None or not _newer(event, row):
        return row
    d = event.data
    phases = jsonable(d["phases"]) if d["phases"] is not None else row.phases
    return replace(
        row, title=d["title"] or row.title, phases=phases, amendments=d["amendment_no"], version=_version(event)
    )


@evolve.register
def _criteria(event: CriteriaRegistered, row: CriteriaRow | None) -> CriteriaRow | None:
    if row is not None:  # a criteria set is registered once
        return row
    d = event.data
    return CriteriaRow(
        d["criteria_id"],
        d["plan_id"],
        d["subject_category"],
        jsonable(d["owner"]),
        jsonable(d["items"]),
        _version(event),
    )


@evolve.register
def _targets(event: TargetsRegistered, row: TargetRow | None) -> TargetRow | None:
    if not _newer(event, row):
        return row
    d = event.data
    return TargetRow(
        d["unit"]["path"],
        d["plan_id"],
        d["year"],
        d["registration_id"],
        list(d["targets"]),  # IndicatorValue records hold no dates: already JSON (decoded dicts never change)
        _at(event),
        _version(event),
    )


@evolve.register
def _submitted(event: ReportSubmitted, row: ReportRow | None) -> ReportRow | None:
    if not _newer(event, row):
        return row
    d = event.data
    return ReportRow(
        d["report_id"],
        d["unit"]["path"],
        d["plan_id"],
        d["period"],
        d.get("duty_code"),
        d.get("deadline"),
        d["version"],
        d["late"],
        _at(event),
        None,
        None,
        _version(event),
    )


@evolve.register
def _reviewed(event: ReportReviewed, row: ReportRow | None) -> ReportRow | None:
    if row is None or not _newer(event, row) or event.data["version"] != row.report_version:
        return row
    return replace(row, outcome=event.data["outcome"], reviewed_at=_at(event), version=_version(event))


@evolve.register
def _guidance(event: GuidanceIssued, row: DocumentRow | None) -> DocumentRow | None:
    if row is not None:  # a guidance document is issued once
        return row
    d = event.data
    return DocumentRow(
        d["guidance_id"],
        jsonable(d["issuer"]),
        d["title"],
        d.get("document_number"),
        d.get("issue_date"),
        d.get("summary"),
        list(d["addressed_to"]),
        _at(event),
        _version(event),
    )
