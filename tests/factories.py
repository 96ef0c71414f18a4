"""Builders of valid events and commands for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.kernel.store import NewEvent

SYSTEM_ACTOR: dict[str, Any] = {
    "actor_id": "test",
    "kind": "SYSTEM",
    "display_name": None,
    "org_unit_path": None,
    "roles": [],
}
HUE = {"code": "46", "path": "VN/46", "level": "PROVINCE", "name": "Thành phố Huế"}


def unit_ref(code: str, parent: str = "VN/31/11086") -> dict[str, Any]:
    """An OrgUnitRef datum for a unit under ``parent``."""
    return {"code": code, "path": f"{parent}/{code}", "level": "UNIT", "name": f"Đơn vị {code}"}


def org_unit_registered(code: str, parent: str = "VN/31/11086", **overrides: Any) -> NewEvent:
    """A valid OrgUnitRegistered event."""
    unit = unit_ref(code, parent)
    payload = {
        "unit": unit,
        "parent_path": parent,
        "name": unit["name"],
        "unit_kind": "PUBLIC_SERVICE_UNIT",
        "subject_category": "AGENCY_LOCALITY",
        "emulation_bloc": None,
        "valid_from": None,
    }
    payload.update(overrides)
    return NewEvent("OrgUnitRegistered", payload, unit, SYSTEM_ACTOR, datetime(2026, 5, 4, 8, 30, tzinfo=UTC))


def guidance_issued(title: str = "Hướng dẫn khen thưởng") -> NewEvent:
    """A valid GuidanceIssued event from Huế."""
    payload = {
        "guidance_id": str(uuid.uuid4()),
        "issuer": HUE,
        "title": title,
        "document_number": None,
        "issue_date": None,
        "addressed_to": ["VN/46"],
        "summary": None,
    }
    return NewEvent("GuidanceIssued", payload, HUE, SYSTEM_ACTOR, datetime(2026, 6, 1, tzinfo=UTC))
