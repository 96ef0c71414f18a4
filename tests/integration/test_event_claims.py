"""``tracking.claim_event_ids`` on SQLite and PostgreSQL: every projection's ids are recorded once, and only the pairs
recorded before come back, whether the ids travel as one text per projection or (an id holding a comma, or empty)
as arrays of pairs (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from projections import tracking
from projections.tracking import projection_event


def recorded(engine: Engine) -> set[tuple[str, str]]:
    """Every (projection, event id) pair the table holds."""
    with engine.connect() as conn:
        return {(r.projection, r.event_id) for r in conn.execute(select(projection_event))}


def test_only_the_pairs_recorded_before_come_back(engine: Engine) -> None:
    with engine.begin() as conn:
        assert tracking.claim_event_ids(conn, {"rollup": ["e-2", "e-1"], "guidance": ["e-1"], "plans": []}) == set()
    with engine.begin() as conn:
        again = tracking.claim_event_ids(conn, {"rollup": ["e-1", "e-3"], "guidance": ["e-2", "e-1"]})
    assert again == {("rollup", "e-1"), ("guidance", "e-1")}
    assert recorded(engine) == {
        ("rollup", "e-1"),
        ("rollup", "e-2"),
        ("rollup", "e-3"),
        ("guidance", "e-1"),
        ("guidance", "e-2"),
    }
    with engine.begin() as conn:
        assert tracking.claim_event_ids(conn, {}) == set()


def test_ids_holding_the_separator_are_claimed_whole(engine: Engine) -> None:
    odd = ["a,b", "c", ""]
    with engine.begin() as conn:
        assert tracking.claim_event_ids(conn, {"rollup": odd, "awards": ["a"]}) == set()
    assert recorded(engine) == {("rollup", "a,b"), ("rollup", "c"), ("rollup", ""), ("awards", "a")}
    with engine.begin() as conn:
        assert tracking.claim_event_ids(conn, {"rollup": ["a", "a,b"], "awards": ["a,b"]}) == {("rollup", "a,b")}
    with engine.begin() as conn:  # a projection's only id empty: not an empty list of ids
        assert tracking.claim_event_ids(conn, {"plans": [""]}) == set()
        assert tracking.claim_event_ids(conn, {"plans": [""]}) == {("plans", "")}


def test_a_rolled_back_claim_records_nothing(engine: Engine) -> None:
    with engine.connect() as conn:
        tx = conn.begin()
        tracking.claim_event_ids(conn, {"rollup": [f"e-{i}" for i in range(600)]})
        tx.rollback()
    assert recorded(engine) == set()
