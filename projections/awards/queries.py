"""Read queries of the award pipeline: proposals (filtered, paged), one proposal's history, what waits where,
and the registry of conferred awards."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, true

from .store import aware
from .tables import awards_conferred, awards_proposal, awards_step

P = awards_proposal.c
# what a listed proposal shows (views.summary): not the route, checks, warnings and texts only its detail shows —
# JSON decoded per row; a province's waiting list has thousands of rows
LISTED = [
    c
    for c in awards_proposal.c
    if c.name not in {"route", "prerequisites", "warnings", "achievements", "closing_reason"}
]


def proposals(
    conn: Connection,
    filters: dict[str, str | None],
    after: str | None = None,
    limit: int = 50,
    under: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` proposals after the id ``after``, ordered by id (their listed columns); ``filters`` on
    columns, None ignored; ``under``: only nominees in that subtree."""
    query = select(*LISTED).where(_in_subtree(P.nominee_path, under))
    for column, value in filters.items():
        if value is not None:
            query = query.where(awards_proposal.c[column] == value)
    if after is not None:
        query = query.where(P.proposal_id > after)
    return [aware(r._asdict()) for r in conn.execute(query.order_by(P.proposal_id).limit(limit))]


def proposal(conn: Connection, proposal_id: str) -> dict[str, Any] | None:
    """One proposal with its history steps (oldest first)."""
    row = conn.execute(select(awards_proposal).where(P.proposal_id == proposal_id)).first()
    if row is None:
        return None
    found = aware(row._asdict())
    steps = select(awards_step).where(awards_step.c.proposal_id == proposal_id).order_by(awards_step.c.seq)
    found["steps"] = [aware(s._asdict()) for s in conn.execute(steps)]
    return found


_ROLE_COUNTS = (("DECIDE", "to_decide"), ("REVIEW", "to_review"), ("PROPOSE", "at_proposer"))


def _in_subtree(column: Any, path: str | None) -> Any:
    if path is None:
        return true()
    return or_(column == path, column.startswith(path + "/", autoescape=True))


def waiting_groups(conn: Connection, under: str | None = None, busiest: int | None = None) -> list[dict[str, Any]]:
    """Pending proposals per holder (org unit and authority) in ``under``'s subtree: counts by role, oldest; by
    holder, or only the ``busiest`` holders, most proposals first."""
    keys = (P.holder_path, P.holder_authority)
    query = (
        select(
            *keys,
            func.min(P.holder_code).label("holder_code"),
            func.min(P.holder_name).label("holder_name"),
            func.min(P.holder_level).label("holder_level"),
            func.count().label("count"),
            *(func.sum(case((P.holder_role == role, 1), else_=0)).label(name) for role, name in _ROLE_COUNTS),
            func.min(P.held_since).label("oldest_held_since"),
        )
        .where(P.state == "PENDING", _in_subtree(P.holder_path, under))
        .group_by(*keys)
    )
    if busiest is not None:
        query = query.order_by(func.count().desc(), func.min(P.held_since), *keys).limit(busiest)
    else:
        query = query.order_by(*keys)
    return [aware(r._asdict()) for r in conn.execute(query)]


def waiting_items(conn: Connection, under: str | None = None, per_group: int = 20) -> list[dict[str, Any]]:
    """The ``per_group`` longest-waiting pending proposals of each holder in ``under``'s subtree (listed columns)."""
    rank = (
        func.row_number()
        .over(partition_by=(P.holder_path, P.holder_authority), order_by=(P.held_since, P.proposal_id))
        .label("rank")
    )
    ranked = select(*LISTED, rank).where(P.state == "PENDING", _in_subtree(P.holder_path, under)).subquery()
    query = (
        select(ranked)
        .where(ranked.c.rank <= per_group)
        .order_by(ranked.c.holder_path, ranked.c.holder_authority, ranked.c.rank)
    )
    return [aware(r._asdict()) for r in conn.execute(query)]


def conferred(
    conn: Connection, after: tuple[date, str] | None = None, limit: int = 50, under: str | None = None
) -> list[dict[str, Any]]:
    """Registry entries after ``(decision_date, proposal_id)``, in that order; ``under``: nominees in that subtree."""
    c = awards_conferred.c
    query = select(awards_conferred).where(_in_subtree(c.nominee_path, under))
    if after is not None:
        day, pid = after
        query = query.where(or_(c.decision_date > day, and_(c.decision_date == day, c.proposal_id > pid)))
    query = query.order_by(c.decision_date, c.proposal_id).limit(limit)
    return [aware(r._asdict()) for r in conn.execute(query)]


def decision_list(conn: Connection, decider_path: str, number: str) -> list[dict[str, Any]]:
    """The awards of one decision (its number at one decider): the list attached to the decision, by nominee."""
    c = awards_conferred.c
    query = select(awards_conferred).where(c.decider_path == decider_path, c.decision_number == number)
    return [aware(r._asdict()) for r in conn.execute(query.order_by(c.nominee_kind, c.nominee_name, c.proposal_id))]


def held_by(conn: Connection, path: str, limit: int = 10) -> tuple[int, list[dict[str, Any]]]:
    """Pending proposals held by the org unit ``path`` itself (not its subtree): how many, and the ``limit``
    longest held (listed columns)."""
    where = (P.state == "PENDING", P.holder_path == path)
    count = int(conn.execute(select(func.count()).select_from(awards_proposal).where(*where)).scalar_one())
    query = select(*LISTED).where(*where).order_by(P.held_since, P.proposal_id).limit(limit)
    return count, [aware(r._asdict()) for r in conn.execute(query)]


def count_by_state(conn: Connection, under: str | None = None) -> dict[str, int]:
    """How many proposals (nominees in ``under``'s subtree) are in each state."""
    query = select(P.state, func.count()).where(_in_subtree(P.nominee_path, under)).group_by(P.state)
    return {str(row[0]): int(row[1]) for row in conn.execute(query)}
