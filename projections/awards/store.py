"""Thin store of the award pipeline: load and save proposal rows, append history steps and registry entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

from projections.rowstore import RowStore, to_columns, utc_aware

from .rows import ConferredRow, ProposalRow, StepRow
from .tables import awards_conferred, awards_proposal, awards_step

_DATETIMES = ("proposed_at", "held_since", "state_entered_at", "occurred_at", "decided_at", "oldest_held_since")
PROPOSALS = RowStore(awards_proposal, ProposalRow, "proposal_id", _DATETIMES)
load, save = PROPOSALS.load, PROPOSALS.save


def aware(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its datetimes in UTC (SQLite hands back naive values of what was written in UTC)."""
    return utc_aware(row, _DATETIMES)


def add_steps(conn: Connection, steps: Sequence[StepRow]) -> None:
    """Append history steps."""
    if steps:
        conn.execute(insert(awards_step), [to_columns(s, _DATETIMES) for s in steps])


def add_conferred(conn: Connection, entries: Sequence[ConferredRow]) -> None:
    """Append registry entries."""
    if entries:
        conn.execute(insert(awards_conferred), [to_columns(e, _DATETIMES) for e in entries])
