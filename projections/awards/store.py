"""Thin store of the award pipeline: load and save proposal rows, append history steps and registry entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .rows import ConferredRow, ProposalRow, StepRow
from .tables import awards_conferred, awards_proposal, awards_step

_DATETIMES = ("proposed_at", "held_since", "state_entered_at", "occurred_at", "decided_at", "oldest_held_since")


def aware(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its datetimes in UTC (SQLite hands back naive values of what was written in UTC)."""
    for key in _DATETIMES:
        value = row.get(key)
        if isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return row


def _utc(row: Any) -> dict[str, Any]:
    data = asdict(row)
    for key in _DATETIMES:
        if isinstance(data.get(key), datetime):
            data[key] = data[key].astimezone(UTC)
    return data


def load(conn: Connection, proposal_id: str) -> ProposalRow | None:
    """The proposal row, if any."""
    row = conn.execute(select(awards_proposal).where(awards_proposal.c.proposal_id == proposal_id)).first()
    if row is None:
        return None
    data = aware(row._asdict())
    return ProposalRow(**{f.name: data[f.name] for f in fields(ProposalRow)})


def save(conn: Connection, before: ProposalRow | None, after: ProposalRow | None) -> None:
    """Persist the change from ``before`` to ``after``."""
    if after is None or after == before:
        return
    if before is None:
        conn.execute(insert(awards_proposal).values(**_utc(after)))
    else:
        table = awards_proposal
        conn.execute(update(table).where(table.c.proposal_id == after.proposal_id).values(**_utc(after)))


def add_steps(conn: Connection, steps: Sequence[StepRow]) -> None:
    """Append history steps."""
    if steps:
        conn.execute(insert(awards_step), [_utc(s) for s in steps])


def add_conferred(conn: Connection, entries: Sequence[ConferredRow]) -> None:
    """Append registry entries."""
    if entries:
        conn.execute(insert(awards_conferred), [_utc(e) for e in entries])
