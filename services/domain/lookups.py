"""Write-side lookups derived from a stream's events, for the handlers and for events imported from other nodes.

A handler records its lookups in the command's transaction (``UnitOfWork.record``). An event that another node
wrote arrives through the sync importer instead of a handler; the same derivation, run on the imported stream,
keeps this node's lookups true (a plan number issued above is taken here too; an award decided above counts for
the nominee's later prerequisite checks here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.awards import model as awards
from services.awards import prerequisites
from services.kernel.codec import AvroCodec
from services.kernel.events import Event, decode_event
from services.kernel.tables import event as event_table
from services.kernel.tables import lookup as lookup_table
from services.planning import model as planning
from services.planning import rules as planning_rules

Lookup = tuple[str, str, str]  # (kind, key, ref)


def plan_document(plan_id: str, issuer_path: str, number: str, symbol: str, issued: date) -> Lookup:
    """A plan's document number: unique per issuer and calendar year (``rules.document_key``)."""
    return ("plan_document", planning_rules.document_key(issuer_path, number, symbol, issued), plan_id)


def award_conferred(proposal: awards.Proposal) -> Lookup:
    """An approved award, recorded under its nominee for later prerequisite checks."""
    n = proposal.nominee
    track = awards.award_type(proposal.occasion)
    return (
        "award_conferred",
        awards.nominee_key(n["kind"], n["name"], n["org_unit"]["path"]),
        prerequisites.conferred_ref(proposal.form_code, track, proposal.proposal_id),
    )


def _of_plan(events: Sequence[Event]) -> list[Lookup]:
    plan = planning.fold(list(events))
    if plan is None or not (plan.document_number and plan.issue_date):
        return []
    return [plan_document(plan.plan_id, plan.issuer_path, plan.document_number, plan.document_symbol, plan.issue_date)]


def _of_proposal(events: Sequence[Event]) -> list[Lookup]:
    proposal = awards.fold(list(events))
    return [award_conferred(proposal)] if proposal is not None and proposal.state == "APPROVED" else []


DERIVED: Mapping[str, Callable[[Sequence[Event]], list[Lookup]]] = {
    "PlanIssued": _of_plan,
    "PlanNumberAssigned": _of_plan,
    "AwardDecided": _of_proposal,
}


def record_imported(
    conn: Connection, codec: AvroCodec, types: Mapping[str, type[Event]], stream_id: str, event_type: str
) -> list[Lookup]:
    """After an imported event of ``event_type`` joined ``stream_id``: record the lookups its stream now holds
    (idempotent: a lookup already there is kept). Returns them."""
    derive = DERIVED.get(event_type)
    if derive is None:
        return []
    rows = conn.execute(
        select(event_table.c.body, event_table.c.position)
        .where(event_table.c.stream_id == stream_id)
        .order_by(event_table.c.stream_version)
    ).all()
    found = derive([decode_event(r.body, codec, types, r.position) for r in rows])
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for kind, key, ref in found:
        conn.execute(insert(lookup_table).values(kind=kind, key=key, ref=ref).on_conflict_do_nothing())
    return found
