"""Đơn vị: one unit's guidance (its chain of plans, duties and deadlines, criteria for its subject category, award
forms it may propose), its registered targets and its report history; and the units below it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from projections.guidance import queries as guidance_queries
from projections.guidance import units
from projections.guidance.compose import guidance
from projections.orgunits import queries as orgunits
from services.api.security.scopes import require_within
from services.kernel.errors import UnknownOrgUnit
from services.web import periods
from services.web.auth import Signed

from . import render, web_of

router = APIRouter(include_in_schema=False)
CHILDREN_SHOWN = 500


@router.get("/don-vi")
def my_unit(person: Signed, ma: str | None = None) -> Response:
    """The person's own unit, or the unit whose code was typed in the search form."""
    code = (ma or "").strip() or person.principal.org_unit.code
    return RedirectResponse(f"/don-vi/{code}", status_code=303)


@router.get("/don-vi/{code}")
def unit_page(request: Request, person: Signed, code: str) -> Response:
    """What the unit must do, what it registered, what it reported; within the person's subtree (as the API)."""
    web, on = web_of(request), periods.today()
    with web.node.engine.connect() as conn:
        unit = units.resolve(conn, web.node.official_units, code)
        if unit is None:
            raise UnknownOrgUnit(code)
        require_within(person.principal, unit.path)
        found = guidance(conn, web.node.official_units, web.matrix, code, on)
        reports = guidance_queries.reports_of(conn, unit.path)
        children = orgunits.children(conn, unit.path)[:CHILDREN_SHOWN]
    reports.sort(key=lambda r: (str(r["period"]), r["plan_id"]), reverse=True)
    context = {"g": found, "reports": reports, "children": children}
    return render(request, "unit.html", context)
