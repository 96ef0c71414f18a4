"""Plans (kế hoạch): a filtered page of plans, and one plan with its criteria, warnings and parent chain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from projections.plans import queries, views
from services.api.asof import ReadAt
from services.api.commanding import etag
from services.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, PLANS, Cursors, page
from services.api.problems import READ_RESPONSES
from services.api.security import Caller, current_principal, require_sees
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind

Status = Literal["DRAFT", "ISSUED"]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

READ_MODELS = ("plans",)  # the read models these endpoints read: an as-of read rebuilds only them


def unknown_plan(plan_id: str) -> DomainRefusal:
    return DomainRefusal(
        "UNKNOWN_PLAN",
        Kind.NOT_FOUND,
        f"Không tìm thấy kế hoạch {plan_id}.",
        f"Unknown plan {plan_id}.",
        plan_id=plan_id,
    )


def router(node: Node) -> APIRouter:
    """The plan endpoints of ``node`` (read model ``plans`` only).

    A caller reads the plans issued in its subtree and those issued above it (the plans it must carry out).
    """
    api = APIRouter(
        prefix="/api/v1/plans", tags=["plans"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )

    @api.get("")
    def list_plans(
        principal: Caller,
        reading: ReadAt,
        cursors: Cursors,
        issuer: Annotated[str | None, Query(description="Mã đơn vị ban hành, ví dụ 46, 11086, VN.")] = None,
        status: Status | None = None,
        cursor: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """Plans ordered by id, filtered by issuer and status (DRAFT dự thảo, ISSUED đã ban hành)."""
        key = cursors.decode(PLANS, cursor)
        with reading.connect(READ_MODELS) as conn:
            rows = queries.plans(conn, issuer, status, str(key[0]) if key else None, limit + 1, principal.path)
        return reading.stamp(page([views.summary(r) for r in rows], limit, ("plan_id",), cursors, PLANS))

    @api.get("/{plan_id}")
    def get_plan(plan_id: str, principal: Caller, response: Response, reading: ReadAt) -> dict[str, Any]:
        """One plan: document, phases, duties, award forms, criteria with indicators and warnings, parent chain.

        ETag: the plan's stream version as the read model has it (send it as If-Match with a command).
        """
        with reading.connect(READ_MODELS) as conn:
            found = queries.plan(conn, plan_id)
            if found is None:
                raise unknown_plan(plan_id)
            require_sees(principal, found["issuer_path"])
            response.headers["ETag"] = etag(found["version"])
            chain = queries.parent_chain(conn, plan_id)
            children = [c for c in queries.children(conn, plan_id) if principal.sees(c["issuer_path"])]
        return reading.stamp(views.detail(found, chain, children))

    return api
