"""Tables of the aggregation-upward read model (tổng hợp từ dưới lên): facts per key, counters per ancestor."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, String, Table

from services.kernel.db import new_metadata

from .evolve import COUNTERS, INDICATOR_COUNTERS

metadata = new_metadata()


def path_type() -> String:
    """Paths compare byte-wise ("C" collation on PostgreSQL) so a subtree is one index range: ``N/`` ≤ p < ``N0``."""
    return String(200).with_variant(String(200, collation="C"), "postgresql")


rollup_unit = Table(  # every org unit a duty may bind: official provinces and communes, registered units
    "rollup_unit",
    metadata,
    Column("path", path_type(), primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("parent_path", path_type()),
    Column("level", String(10), nullable=False),
    Column("kind", String(40), nullable=False, comment="unit_kind of a registered unit; PROVINCE/COMMUNE/CENTRAL."),
    Column("name", String(300)),
    Column("source", String(10), nullable=False, comment="REFERENCE (QĐ 19/2025/QĐ-TTg) or EVENT."),
    Column("agency_type", String(40), comment="The specialised agency a registered unit is (Sở Nội vụ…)."),
    Column("emulation_bloc", String(50), comment="The khối/cụm thi đua a registered unit was registered in."),
    Index(None, "parent_path", "level"),
)

rollup_bloc = Table(  # khối/cụm thi đua of a province and their members (duties "thuộc các Khối thi đua" bind by them)
    "rollup_bloc",
    metadata,
    Column("bloc_code", String(50), primary_key=True),
    Column("province_path", path_type(), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("members", JSON, nullable=False),
    Column("version", BigInteger, nullable=False, comment="Stream version applied (replays are no-ops)."),
    Index(None, "province_path"),
)

rollup_plan = Table(  # kế hoạch: what expectations, deadlines and child-plan status need
    "rollup_plan",
    metadata,
    Column("plan_id", String(100), primary_key=True),
    Column("issuer_path", path_type(), nullable=False),
    Column("issuer_parent_path", path_type()),
    Column("title", String(1000), nullable=False),
    Column("document_number", String(50)),
    Column("document_symbol", String(100), nullable=False),
    Column("issue_date", Date, comment="Null for a draft (dự thảo) until PlanNumberAssigned."),
    Column("plan_deadline", Date, comment="Deadline for the levels below to issue their own plans."),
    Column("implements", JSON, nullable=False),
    Column("periods", JSON, nullable=False, comment="Reporting periods the phases span: 2026…, SO_KET_2027, …"),
    Column("version", BigInteger, nullable=False, comment="Stream version applied (replays are no-ops)."),
    Index(None, "issuer_parent_path"),
)

rollup_plan_link = Table(  # plan → the plan it implements, for the chain down (descendants) and up (indicators)
    "rollup_plan_link",
    metadata,
    Column("plan_id", String(100), primary_key=True),
    Column("parent_plan_id", String(100), primary_key=True),
    Index(None, "parent_plan_id"),
)

rollup_duty = Table(  # chế độ báo cáo: reporting duties of a plan, found by the subtree they bind
    "rollup_duty",
    metadata,
    Column("plan_id", String(100), primary_key=True),
    Column("seq", Integer, primary_key=True, comment="Order in the plan: the first binding duty governs."),
    Column("duty", JSON, nullable=False, comment="The ReportingDuty datum (dates as ISO strings)."),
    Column("period_kind", String(20), nullable=False),
    Column("scope_path", path_type(), nullable=False, comment="reporter_under, else the plan issuer."),
    Index(None, "scope_path"),
)

rollup_indicator = Table(  # chỉ tiêu of the plans' criteria, with the aggregation rule chosen for each
    "rollup_indicator",
    metadata,
    Column("plan_id", String(100), primary_key=True),
    Column("code", String(50), primary_key=True),
    Column("definition", JSON, nullable=False, comment="Indicator datum plus item_code, item_title, aggregation."),
)

rollup_facts_token = Table(  # names the current state of the facts above: a new random token per plan/criteria batch
    "rollup_facts_token",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: one row
    Column("token", String(32), nullable=False),
)

rollup_slot = Table(  # one expected or submitted report: (plan, unit, period)
    "rollup_slot",
    metadata,
    Column("plan_id", String(100), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("unit_path", path_type(), primary_key=True),
    Column("expected", Boolean, nullable=False),
    Column("duty_code", String(20)),
    Column("due_date", Date),
    Column("report_id", String(300)),
    Column("version", Integer, comment="Latest submitted version; null: not submitted."),
    Column("submitted_at", DateTime(timezone=True)),
    Column("late", Boolean, nullable=False),
    Column("report_deadline", Date),
    Column("outcome", String(10), comment="Review of the latest version: ACCEPTED, RETURNED or null."),
    Column("values", JSON, nullable=False, comment="[[indicator_code, value, meets plan target or null], …]"),
    Column("targets", JSON, comment="Registered targets [[indicator_code, target], …]; null: not registered."),
    Column("registration_version", BigInteger),
    Column("status", String(10), nullable=False, comment="MISSING, ON_TIME, LATE, SUBMITTED (undated) or NONE."),
    Column("own_met", Boolean, comment="Whether the report meets every registered target; null: no targets."),
    Index(None, "period", "status", "unit_path", "plan_id"),
    Index(None, "period", "outcome", "unit_path", "plan_id"),
    Index(None, "period", "unit_path", "plan_id"),
    Index(None, "report_id"),
)

rollup_count = Table(  # counters of a subtree per period, per plan and for all plans ('*'): one key lookup
    "rollup_count",
    metadata,
    Column("node_path", path_type(), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("plan_id", String(100), primary_key=True),
    *(Column(name, BigInteger, nullable=False, default=0) for name in COUNTERS),
)

rollup_indicator_count = Table(  # indicator values of a subtree per period and plan
    "rollup_indicator_count",
    metadata,
    Column("node_path", path_type(), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("plan_id", String(100), primary_key=True),
    Column("indicator_code", String(50), primary_key=True),
    *(Column(name, BigInteger, nullable=False, default=0) for name in INDICATOR_COUNTERS),
)
