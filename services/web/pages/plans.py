"""Kế hoạch: the chain of plans above my unit (462/QĐ-TTg → tỉnh → xã), the plans issued in my subtree, and one
plan in full — phases, duties, criteria by subject category, award forms, the warnings flagged on it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from projections.guidance import units
from projections.guidance.compose import guidance
from projections.plans import queries, views
from services.api.pagination import PLANS, Cursors, page
from services.api.routers.plans import unknown_plan
from services.api.security.scopes import require_sees
from services.web import periods
from services.web.auth import Signed

from . import render, web_of

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/ke-hoach")
def plans_page(request: Request, person: Signed, cursors: Cursors, cursor: str | None = None) -> Response:
    """The chain above my unit and the plans issued in my subtree (50 at a time)."""
    web, principal = web_of(request), person.principal
    key = cursors.decode(PLANS, cursor)
    with web.node.engine.connect() as conn:
        code = principal.org_unit.code
        chain = []
        if units.resolve(conn, web.node.official_units, code) is not None:
            chain = guidance(conn, web.node.official_units, web.matrix, code, periods.today())["plans"]
        rows = queries.plans(conn, None, None, str(key[0]) if key else None, PAGE + 1, principal.path)
    listed = page([views.summary(r) for r in rows], PAGE, ("plan_id",), cursors, PLANS)
    return render(request, "plans.html", {"chain": chain, "listed": listed})


@router.get("/ke-hoach/{plan_id}")
def plan_page(request: Request, person: Signed, plan_id: str) -> Response:
    """One plan, readable by its issuer's subtree and the units below the issuer (as the API)."""
    web = web_of(request)
    with web.node.engine.connect() as conn:
        found = queries.plan(conn, plan_id)
        if found is None:
            raise unknown_plan(plan_id)
        require_sees(person.principal, found["issuer_path"])
        chain = queries.parent_chain(conn, plan_id)
        children = [c for c in queries.children(conn, plan_id) if person.principal.sees(c["issuer_path"])]
    return render(request, "plan.html", {"plan": views.detail(found, chain, children)})
