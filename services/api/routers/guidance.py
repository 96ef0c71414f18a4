"""GET /api/v1/org-units/{code}/guidance: what a unit must do, by when, under which criteria, what it may propose."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from projections.guidance import units
from projections.guidance.compose import guidance
from services.api.asof import ReadAt
from services.api.problems import READ_RESPONSES
from services.api.security import Caller, current_principal, require_within
from services.awards import load_authority_matrix
from services.bootstrap import Node
from services.kernel.errors import UnknownOrgUnit
from services.kernel.vntime import today_vn

OnDay = Annotated[
    date | None, Query(description="Ngày tham chiếu (hạn báo cáo, ma trận thẩm quyền); mặc định hôm nay, giờ Việt Nam.")
]

READ_MODELS = ("guidance",)  # the read models these endpoints read: an as-of read rebuilds only them


def router(node: Node) -> APIRouter:
    """The guidance endpoint of ``node``."""
    api = APIRouter(
        prefix="/api/v1", tags=["guidance"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )
    matrix = load_authority_matrix()

    @api.get("/org-units/{code}/guidance")
    def get_guidance(code: str, principal: Caller, reading: ReadAt, on: OnDay = None) -> dict[str, Any]:
        """The chain of plans above the unit, its criteria, targets, reporting duties, award forms and guidance.

        ``on`` picks the current reporting period, judges deadlines and selects the authority matrix version; the
        facts shown are those recorded now, or by ``as_of`` (whose day in Vietnam is then the default ``on``).
        """
        day = reading.day(on) or today_vn()
        if reading.rebuilt:  # the caller's subtree checked on the live tables before anything is rebuilt
            with reading.cache.engine.connect() as conn:
                found = units.resolve(conn, node.official_units, code)
            if found is not None:
                require_within(principal, found.path)
        with reading.connect(READ_MODELS) as conn:
            unit = units.resolve(conn, node.official_units, code)
            if unit is None:
                raise UnknownOrgUnit(code)
            require_within(principal, unit.path)
            return reading.stamp(guidance(conn, node.official_units, matrix, code, day))

    return api
