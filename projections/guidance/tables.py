"""Tables of the guidance read model (hướng dẫn xuống cấp dưới): per-plan and per-unit facts keyed by path.

Nothing is materialised per unit and plan: a unit's guidance is composed at query time from the plans issued
along its ancestor paths (a handful of keys) and from its own rows (targets, reports).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, Integer, String, Table, Text

from services.kernel.db import new_metadata

metadata = new_metadata()

guidance_unit = Table(
    "guidance_unit",
    metadata,
    Column("path", String(200), primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("level", String(10), nullable=False),
    Column("unit_kind", String(40), nullable=False),
    Column("name", String(300), nullable=False),
    Column("subject_category", String(40)),
    Column("emulation_bloc", String(200), comment="Code of the khối/cụm thi đua it was registered in."),
    Column("agency_type", String(40), comment="The specialised agency it is (Sở Nội vụ, Phòng VH-XH…)."),
    Column("version", Integer, nullable=False),
    comment="Units registered by OrgUnitRegistered; official provinces and communes come from the reference list.",
)

guidance_bloc = Table(
    "guidance_bloc",
    metadata,
    Column("bloc_code", String(50), primary_key=True),
    Column("province_path", String(200), nullable=False),
    Column("kind", String(10), nullable=False, comment="KHOI (khối thi đua) or CUM (cụm thi đua)."),
    Column("name", String(300), nullable=False),
    Column("members", JSON, nullable=False, comment="Member paths of the latest definition."),
    Column("version", Integer, nullable=False),
    Index(None, "province_path"),
    comment="Khối/cụm thi đua of a province (EmulationBlocRegistered): reference data duties bind by.",
)

guidance_plan = Table(
    "guidance_plan",
    metadata,
    Column("plan_id", String(100), primary_key=True),
    Column("issuer_path", String(200), nullable=False),
    Column("issuer", JSON, nullable=False),
    Column("document_number", String(20)),
    Column("document_symbol", String(50), nullable=False),
    Column("issue_date", Date),
    Column("title", Text, nullable=False),
    Column("implements", JSON, nullable=False),
    Column("phases", JSON, nullable=False),
    Column("duties", JSON, nullable=False, comment="Reporting duties (chế độ báo cáo), dates as ISO strings."),
    Column("award_forms", JSON, nullable=False, comment="Award forms allowed per occasion, as issued."),
    Column("plan_deadline", Date),
    Column("period", JSON, comment="The span as stated (a plan whose phases are unknown)."),
    Column("amendments", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "issuer_path"),
)

guidance_criteria = Table(
    "guidance_criteria",
    metadata,
    Column("criteria_id", String(200), primary_key=True),
    Column("plan_id", String(100), nullable=False),
    Column("subject_category", String(40), nullable=False),
    Column("owner", JSON, nullable=False),
    Column("items", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "plan_id", "subject_category"),
)

guidance_target = Table(
    "guidance_target",
    metadata,
    Column("unit_path", String(200), primary_key=True),
    Column("plan_id", String(100), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("registration_id", String(100), nullable=False),
    Column("targets", JSON, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    comment="The latest registration (đăng ký thi đua) of a unit for a plan and year.",
)

guidance_report = Table(
    "guidance_report",
    metadata,
    Column("report_id", String(250), primary_key=True),
    Column("unit_path", String(200), nullable=False),
    Column("plan_id", String(100), nullable=False),
    Column("period", String(20), nullable=False),
    Column("duty_code", String(20)),
    Column("deadline", Date),
    Column("report_version", Integer, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(10), comment="None: awaiting review; ACCEPTED or RETURNED."),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
    Index(None, "unit_path"),
)

guidance_document = Table(
    "guidance_document",
    metadata,
    Column("guidance_id", String(100), primary_key=True),
    Column("issuer", JSON, nullable=False),
    Column("title", Text, nullable=False),
    Column("document_number", String(50)),
    Column("issue_date", Date),
    Column("summary", Text),
    Column("addressed_to", JSON, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

guidance_document_target = Table(
    "guidance_document_target",
    metadata,
    Column("path", String(200), primary_key=True),
    Column("guidance_id", String(100), primary_key=True),
    comment="One row per addressed subtree root: a unit finds its documents by its ancestor paths.",
)
