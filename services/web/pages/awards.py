"""Khen thưởng: the award pipeline of my subtree by state and by the authority holding it, time in state, one
proposal's route and history, and the registry of conferred awards with decision numbers (and its export)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from projections.awards import queries, views
from services.api.pagination import AWARDS, CONFERRED, MAX_LIMIT, CursorCodec, Cursors, page
from services.api.routers.awards import registry_cursor
from services.api.security.scopes import Principal
from services.web.auth import Signed
from services.web.formats import day
from services.web.grids import Column, Grid

from . import export, render, web_of

router = APIRouter(include_in_schema=False)
PAGE = 50
BUSIEST = 30  # holders shown in "what waits where" (a country has thousands: every unit head holds titles)
STATES = ("PENDING", "APPROVED", "RETURNED", "REJECTED")
REGISTRY_COLUMNS = [
    Column("decision", "Quyết định", sortable=False),
    Column("decider", "Cấp quyết định", sortable=False),
    Column("form_name", "Hình thức khen thưởng", sortable=False),
    Column("occasion_label", "Dịp", sortable=False, label=True),
    Column("nominee", "Đối tượng", sortable=False),
    Column("nominee_unit", "Đơn vị", sortable=False),
    Column("proposal_id", "Mã hồ sơ", sortable=False),
]


@router.get("/khen-thuong")
def pipeline(
    request: Request, person: Signed, cursors: Cursors, state: str = "PENDING", cursor: str | None = None
) -> Response:
    """Counts by state, what waits at which authority, and the proposals of one state (50 at a time)."""
    web, under = web_of(request), person.principal.path
    state = state if state in STATES else "PENDING"
    key = cursors.decode(AWARDS, cursor)
    now = views.now_of(None)
    with web.node.engine.connect() as conn:
        counts = queries.count_by_state(conn, under)
        groups = queries.waiting_groups(conn, under, BUSIEST)
        rows = queries.proposals(conn, {"state": state}, str(key[0]) if key else None, PAGE + 1, under)
    listed = page([views.summary(r, now) for r in rows], PAGE, ("proposal_id",), cursors, AWARDS)
    context = {
        "busiest": BUSIEST,
        "counts": counts,
        "states": STATES,
        "state": state,
        "listed": listed,
        "groups": views.waiting(groups, [], now),
    }
    return render(request, "awards.html", context)


def registry_grid(
    conn: Connection, principal: Principal, after: tuple[date, str] | None, limit: int, cursors: CursorCodec
) -> tuple[Grid, str | None]:
    """A page of the registry of conferred awards (the API's rows) and the cursor of the next."""
    rows = queries.conferred(conn, after, limit + 1, principal.path)
    listed = page([views.conferred_entry(r) for r in rows], limit, ("decision_date", "proposal_id"), cursors, CONFERRED)
    entries = [_registry_row(e) for e in listed["items"]]
    context = [("Phạm vi", principal.path)]
    grid = Grid("Sổ khen thưởng: các quyết định đã ban hành", principal.path, REGISTRY_COLUMNS, entries, context)
    return grid, listed["next_cursor"]


def _registry_row(e: dict[str, Any]) -> dict[str, Any]:
    decider = e["decider"]
    return {
        **e,
        "decision": f"Số {e['decision_number']} ngày {day(e['decision_date'])}",
        "decider": decider.get("authority_label") or decider.get("name") or "",
        "nominee": e["nominee"]["name"],
        "nominee_unit": (e["nominee"]["org_unit"] or {}).get("name") or "",
        "links": {"proposal_id": f"/khen-thuong/{e['proposal_id']}"},
    }


@router.get("/khen-thuong/so-khen-thuong")
def registry(request: Request, person: Signed, cursors: Cursors, cursor: str | None = None) -> Response:
    """The registry of conferred awards, by decision date (50 at a time)."""
    web = web_of(request)
    with web.node.engine.connect() as conn:
        grid, more = registry_grid(conn, person.principal, registry_cursor(cursors, cursor), PAGE, cursors)
    return render(request, "registry.html", {"grid": grid, "more": more})


@router.get("/khen-thuong/so-khen-thuong/xuat.{fmt}")
def registry_export(request: Request, person: Signed, cursors: Cursors, fmt: str) -> Response:
    """The whole registry of the subtree as XLSX or CSV."""
    web = web_of(request)
    with web.node.engine.connect() as conn:
        grid, more = registry_grid(conn, person.principal, None, MAX_LIMIT, cursors)
        while more is not None and len(grid.rows) < 100_000:
            found, more = registry_grid(conn, person.principal, registry_cursor(cursors, more), MAX_LIMIT, cursors)
            grid.rows += found.rows
    return export(request, grid, fmt, "so-khen-thuong")


@router.get("/khen-thuong/{proposal_id}")
def proposal_page(request: Request, person: Signed, proposal_id: str) -> Response:
    """One proposal: route and the step holding it, history, prerequisites, decision; the actions of my unit."""
    from .proposing import show_proposal

    return show_proposal(request, person, proposal_id)
