"""Tables of the award pipeline and registry read model (quy trình đề nghị và sổ khen thưởng)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, String, Table, Text

from services.kernel.db import new_metadata

metadata = new_metadata()


def _unit(prefix: str, nullable: bool = False) -> list[Column]:  # type: ignore[type-arg]
    """The flattened OrgUnitRef columns ``<prefix>_code``, ``_path``, ``_name`` (names are labels, never keys)."""
    return [
        Column(f"{prefix}_code", String(200), nullable=nullable),
        Column(f"{prefix}_path", String(200), nullable=nullable),
        Column(f"{prefix}_name", Text),
    ]


def _nominee_unit() -> list[Column]:  # type: ignore[type-arg]
    """The nominee's org unit (a collective is its own unit; a person belongs to one)."""
    return [
        Column("nominee_code", String(200), nullable=False),
        Column("nominee_path", String(200), nullable=False),
        Column("nominee_unit_name", Text),
    ]


awards_proposal = Table(
    "awards_proposal",
    metadata,
    Column("proposal_id", String(200), primary_key=True),
    Column("plan_id", String(200)),
    Column("form_code", String(40), nullable=False),
    Column("occasion", String(20), nullable=False),
    Column("nominee_kind", String(20), nullable=False),
    Column("nominee_name", Text, nullable=False),
    *_nominee_unit(),
    *_unit("proposer"),
    Column("achievements", Text, nullable=False),
    Column("route", JSON, nullable=False, comment="RouteStep list as proposed (org unit, role, authority)."),
    *_unit("decider"),
    Column("decider_authority", String(40)),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("holder_index", Integer, nullable=False, comment="Index in route of the step holding the proposal."),
    *_unit("holder"),
    Column("holder_level", String(10), nullable=False),
    Column("holder_role", String(10), nullable=False),
    Column("holder_authority", String(40)),
    Column("held_since", DateTime(timezone=True), nullable=False),
    Column("state", String(10), nullable=False, comment="PENDING, RETURNED, APPROVED or REJECTED."),
    Column("state_entered_at", DateTime(timezone=True), nullable=False),
    Column("decision_number", String(200)),
    Column("decision_date", Date),
    Column("closing_reason", Text, comment="Reason of a return or a rejection."),
    Column("prerequisites", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("version", Integer, nullable=False, comment="Stream version applied: later copies are duplicates."),
    Column("event_id", String(36), nullable=False, comment="Last event applied."),
    Column("occasion_period", String(30), comment="The plan's sơ kết / tổng kết the proposal belongs to."),
    # what waits in a subtree: state = PENDING and holder_path = p or LIKE 'p/%'; text_pattern_ops lets PostgreSQL
    # use the index for the prefix whatever the database's collation (with the default operator class it scanned
    # every pending proposal of the country: docs/benchmarks.md § 6)
    Index(
        "ix_awards_proposal_state_holder_prefix",
        "state",
        "holder_path",
        postgresql_ops={"holder_path": "text_pattern_ops"},
    ),
    Index(None, "holder_code"),
    Index(None, "form_code"),
    Index(None, "decider_authority"),
    Index(None, "decider_code"),
)

awards_step = Table(
    "awards_step",
    metadata,
    Column("proposal_id", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True, comment="Stream version of the event."),
    Column("action", String(10), nullable=False, comment="PROPOSED, FORWARDED, RETURNED, APPROVED, REJECTED."),
    *_unit("from"),
    *_unit("to", nullable=True),
    Column("holder_index", Integer, nullable=False, comment="Holder after the step."),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
    Column("decision_number", String(200)),
    Column("decision_date", Date),
    Column("actor_id", String(200)),
    Column("event_id", String(36), nullable=False, unique=True),
)

awards_conferred = Table(
    "awards_conferred",
    metadata,
    Column("proposal_id", String(200), primary_key=True),
    Column("decision_number", String(200), nullable=False),
    Column("decision_date", Date, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    *_unit("decider"),
    Column("decider_authority", String(40)),
    Column("form_code", String(40), nullable=False),
    Column("occasion", String(20), nullable=False),
    Column("plan_id", String(200)),
    Column("nominee_kind", String(20), nullable=False),
    Column("nominee_name", Text, nullable=False),
    *_nominee_unit(),
    Column("event_id", String(36), nullable=False, unique=True),
    Index(None, "decision_date", "proposal_id"),
    comment="Registry of conferred awards (sổ khen thưởng): one row per approved proposal.",
)
