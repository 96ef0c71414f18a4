"""Tables of the plans read model (kế hoạch): plans, their parents, amendments and criteria sets."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, String, Table, Text

from services.kernel.db import new_metadata

metadata = new_metadata()

plans_plan = Table(
    "plans_plan",
    metadata,
    Column("plan_id", String(200), primary_key=True),
    Column("issuer_code", String(200), nullable=False),
    Column("issuer_path", String(200), nullable=False),
    Column("issuer_level", String(10), nullable=False),
    Column("issuer_name", Text),
    Column("issuer_name_printed", Text, comment="The issuer as the document prints it, beside the register's name."),
    Column("document_number", String(200), comment="Số; null while the plan is a draft."),
    Column("document_symbol", String(200), nullable=False),
    Column("issue_date", Date),
    Column("title", Text, nullable=False),
    Column("signer_name", Text),
    Column("signer_capacity", Text),
    Column("status", String(10), nullable=False, comment="DRAFT (dự thảo) or ISSUED (đã ban hành)."),
    Column("plan_deadline", Date, comment="Deadline for lower levels to issue their own plans."),
    Column(
        "registered_at", DateTime(timezone=True), nullable=False, comment="Business time of PlanIssued (drafts too)."
    ),
    Column("numbered_at", DateTime(timezone=True)),
    Column("amended_at", DateTime(timezone=True)),
    Column("amendments", Integer, nullable=False),
    Column("implements", JSON, nullable=False),
    Column("phases", JSON, nullable=False),
    Column("content_areas", JSON, nullable=False),
    Column("duties", JSON, nullable=False),
    Column("award_forms", JSON, nullable=False),
    Column("criteria_owners", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("warning_count", Integer, nullable=False),
    Column("period", JSON, comment="The span as the plan states it (known even when its phases are not)."),
    Column("document_references", JSON, nullable=False, comment="Cited documents and linked movements."),
    Column("version", Integer, nullable=False, comment="Stream version applied: later copies are duplicates."),
    Column("event_id", String(36), nullable=False, comment="Last event applied."),
    Index(None, "issuer_code"),
    Index(None, "status"),
)

plans_parent = Table(
    "plans_parent",
    metadata,
    Column("plan_id", String(200), primary_key=True),
    Column("parent_id", String(200), primary_key=True),
    Column("ordinal", Integer, nullable=False),
    Index(None, "parent_id"),
    comment="A plan implements (thực hiện) its parents; the parent may arrive later or not at all.",
)

plans_amendment = Table(
    "plans_amendment",
    metadata,
    Column("plan_id", String(200), primary_key=True),
    Column("amendment_no", Integer, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("document_number", String(200)),
    Column("issue_date", Date),
    Column("title", Text),
    Column("phases", JSON),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
)

plans_criteria = Table(
    "plans_criteria",
    metadata,
    Column("plan_id", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True, comment="Stream version of CriteriaRegistered: registration order."),
    Column("criteria_id", String(200), nullable=False, comment="Not unique: the write side does not refuse a reuse."),
    Column("owner_code", String(200), nullable=False),
    Column("owner_path", String(200), nullable=False),
    Column("owner_name", Text),
    Column("subject_category", String(40), nullable=False),
    Column("items", JSON, nullable=False, comment="CriteriaItem list with their indicators."),
    Column("indicator_count", Integer, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("warning_count", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
)
