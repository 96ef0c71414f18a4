"""Trang chủ: my org unit's duties and deadlines (guidance downward), my subtree's reporting this period (rollup
upward), proposals waiting at my unit, recent activity; the last three reload live."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from projections.awards import queries as awards
from projections.awards import views as award_views
from projections.guidance import units
from projections.guidance.compose import guidance
from projections.rollup import queries as rollup
from projections.rollup import views as rollup_views
from projections.rollup.evolve import ALL_PLANS
from services.web import events, periods
from services.web.auth import Person, Signed
from services.web.rendering import wants_fragment

from . import render, web_of

router = APIRouter(include_in_schema=False)
LIVE = "home-live"
SKIPPED = ["CheckpointSigned"]  # the log's own bookkeeping, not activity


def duties(request: Request, conn: Connection, code: str) -> list[dict[str, Any]]:
    """What my unit must report and by when (the guidance read model, as the API answers it)."""
    web = web_of(request)
    if units.resolve(conn, web.node.official_units, code) is None:
        return []
    found = guidance(conn, web.node.official_units, web.matrix, code, periods.today())
    return found["reporting_duties"]  # type: ignore[no-any-return]


def live_parts(request: Request, conn: Connection, person: Person, period: str) -> dict[str, Any]:
    """The parts that reload live: figures of my subtree, what waits at my unit, recent activity."""
    web, path = web_of(request), person.principal.path
    counts = rollup.counts(conn, [path], period, ALL_PLANS)[path]
    held, items = awards.held_by(conn, path, 10)
    now = award_views.now_of(None)
    recent = web.node.store.read_recent(10, conn, under=path, within=events.RECENT_WINDOW, skip_types=SKIPPED)
    return {
        "period": period,
        "numbers": rollup_views.numbers(counts, period),
        "held": held,
        "waiting": [award_views.summary(i, now) for i in items],
        "recent": [events.describe(e, web.node.codec) for e in recent],
    }


@router.get("/")
def home(request: Request, person: Signed, period: str | None = None) -> Response:
    """The home page of the signed-in person's org unit."""
    web, chosen = web_of(request), periods.checked(period)
    with web.node.engine.connect() as conn:
        parts = live_parts(request, conn, person, chosen)
        if wants_fragment(request, LIVE):
            return render(request, "_home_live.html", parts)
        code = person.principal.org_unit.code
        unit = rollup.unit_by_code(conn, code) or {"code": code, "name": code, "path": person.principal.path}
        context = {**parts, "unit": unit, "duties": duties(request, conn, code), "choices": periods.choices(chosen)}
    return render(request, "home.html", context)
