"""What an IntegrityError of an append means, from SQLite's own messages (PostgreSQL's constraint names are covered
by tests/integration/test_event_store.py): only a taken stream version is a version conflict."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from services.kernel.errors import DuplicateEventConflict, StoreIntegrityError, VersionConflict
from services.kernel.eventlog import LogState
from services.kernel.store import _refusal
from tests.factories import guidance_issued

pytestmark = pytest.mark.unit
FRESH = [("s-1", 2, [guidance_issued("a")])]


def refusal_of(statement: str):  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE event (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, "
                "stream_id TEXT, stream_version INTEGER, UNIQUE (stream_id, stream_version))"
            )
        )
        conn.execute(text("INSERT INTO event VALUES (1, 'e-1', 's-1', 1)"))
    with pytest.raises(IntegrityError) as raised, engine.begin() as conn:
        conn.execute(text(statement))
    return _refusal(raised.value, FRESH, LogState({}, {"s-1": 1}, b"", 1))


def test_a_taken_stream_version_is_a_version_conflict() -> None:
    found = refusal_of("INSERT INTO event VALUES (2, 'e-2', 's-1', 1)")
    assert isinstance(found, VersionConflict) and found.details["stream_id"] == "s-1"


def test_a_taken_event_id_is_a_duplicate() -> None:
    assert isinstance(refusal_of("INSERT INTO event VALUES (2, 'e-1', 's-2', 1)"), DuplicateEventConflict)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("INSERT INTO event VALUES (1, 'e-2', 's-2', 1)", "event.position"),
        ("INSERT INTO event VALUES (2, NULL, 's-2', 1)", "event.event_id"),
    ],
)
def test_anything_else_is_reported_as_itself(statement: str, constraint: str) -> None:
    found = refusal_of(statement)
    assert isinstance(found, StoreIntegrityError) and found.code == "STORE_INTEGRITY_ERROR"
    assert found.details == {"constraint": constraint} and "constraint failed" in found.message_en
