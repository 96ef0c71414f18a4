"""Builders of valid events and commands for tests."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from bench.harness import unit_registered
from services.kernel.events import Event
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
    """A valid OrgUnitRegistered event (the benchmarks' builder, with the tests' actor)."""
    return unit_registered(code, parent, SYSTEM_ACTOR, **overrides)


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


def interleave(events: list[Event], rng: random.Random) -> list[Event]:
    """Another order a Kafka worker may see: each stream's order kept, streams mixed at random."""
    queues: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        queues[event.stream_id].append(event)
    merged: list[Event] = []
    while queues:
        stream = rng.choice(sorted(queues))
        merged.append(queues[stream].pop(0))
        if not queues[stream]:
            del queues[stream]
    return merged
