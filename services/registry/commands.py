"""Commands of the registry context (in-process, plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class RegisterOrgUnit:
    """Register a unit (đơn vị) under an official province/commune or under another unit."""

    parent_path: str
    code: str
    name: str
    unit_kind: str
    occurred_at: datetime
    actor: dict[str, object]
    subject_category: str | None = None
    emulation_bloc: str | None = None
    valid_from: date | None = None
    event_id: str | None = None
    correlation_id: str | None = None
