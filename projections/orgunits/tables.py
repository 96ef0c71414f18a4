"""Tables of the org-unit read model."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table

from services.kernel.db import new_metadata

metadata = new_metadata()

orgunit_unit = Table(
    "orgunit_unit",
    metadata,
    Column("path", String(200), primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("parent_path", String(200)),
    Column("level", String(10), nullable=False),
    Column("unit_type", String(40), nullable=False),
    Column("name", String(300), nullable=False),
    Column("subject_category", String(40)),
    Column("emulation_bloc", String(200), comment="Code of the khối/cụm thi đua it was registered in."),
    Column("agency_type", String(40), comment="The specialised agency it is (Sở Nội vụ, Phòng VH-XH…)."),
    Column("depth", Integer, nullable=False),
    Column("valid_from", Date),
    Column("source", String(10), nullable=False, comment="REFERENCE (QĐ 19/2025/QĐ-TTg) or EVENT."),
    Column("event_id", String(36)),
    Column("position", BigInteger),
    Index(None, "parent_path"),
)
