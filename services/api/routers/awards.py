"""Award pipeline and registry (quy trình đề nghị, sổ khen thưởng): proposals, what waits where, conferred awards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from projections.awards import queries, views
from projections.orgunits import queries as orgunits
from projections.plans import queries as plans
from services.api.asof import ReadAt, Reading
from services.api.commanding import etag
from services.api.pagination import AWARDS, CONFERRED, DEFAULT_LIMIT, MAX_LIMIT, Cursors, page
from services.api.problems import READ_RESPONSES
from services.api.security import Caller, current_principal, require_within
from services.api.security.scopes import require_target
from services.awards import Authority
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind, UnknownOrgUnit

State = Literal["PENDING", "APPROVED", "REJECTED", "RETURNED"]
AsNow = Annotated[
    datetime | None,
    Query(
        description="Thời điểm tính thời gian chờ (ISO 8601; không múi giờ: giờ Việt Nam); mặc định: as_of, "
        "nếu không thì bây giờ / the time durations are measured to; default as_of, else now."
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

READ_MODELS = ("awards", "orgunits", "plans")  # the read models these endpoints read: an as-of read rebuilds only them


def registry_cursor(cursors: Cursors, cursor: str | None) -> tuple[date, str] | None:
    key = cursors.decode(CONFERRED, cursor)
    return (date.fromisoformat(key[0]), key[1]) if key else None


PROPOSAL = ("đề nghị khen thưởng", "award proposal")


def unknown_proposal(proposal_id: str) -> DomainRefusal:
    return DomainRefusal(
        "UNKNOWN_PROPOSAL",
        Kind.NOT_FOUND,
        f"Không tìm thấy đề nghị khen thưởng {proposal_id}.",
        f"Unknown award proposal {proposal_id}.",
        proposal_id=proposal_id,
    )


def _now(as_now: datetime | None, reading: Reading) -> datetime:
    """Durations are measured to ``as_now``, else to ``as_of`` (how long it had waited then), else to now."""
    return views.now_of(as_now if as_now is not None else reading.moment)


def _decider_filter(decider: str | None) -> dict[str, str | None]:
    """``decider`` names an authority (THU_TUONG) or the deciding org unit's code (15, 11086, VN)."""
    if decider is None:
        return {}
    return {"decider_authority": decider} if decider in Authority.__members__ else {"decider_code": decider}


def router(node: Node) -> APIRouter:
    """The award endpoints of ``node`` (read models ``awards``, ``plans`` and ``orgunits`` only).

    A caller reads the proposals whose nominee lies in its subtree (the route of such a proposal is the proposer
    and units above it, so a deciding level sees what it decides).
    """
    api = APIRouter(
        prefix="/api/v1/awards", tags=["awards"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )

    @api.get("")
    def list_awards(
        principal: Caller,
        reading: ReadAt,
        cursors: Cursors,
        state: State | None = None,
        form: str | None = None,
        decider: str | None = None,
        holder: str | None = None,
        plan: str | None = None,
        as_now: AsNow = None,
        cursor: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """Proposals by id: route holder, state and time in state; filter by state, form, decider, holder, plan."""
        key = cursors.decode(AWARDS, cursor)
        filters = {"state": state, "form_code": form, "holder_code": holder, "plan_id": plan}
        with reading.connect(READ_MODELS) as conn:
            after = str(key[0]) if key else None
            rows = queries.proposals(conn, filters | _decider_filter(decider), after, limit + 1, principal.path)
        now = _now(as_now, reading)
        return reading.stamp(page([views.summary(r, now) for r in rows], limit, ("proposal_id",), cursors, AWARDS))

    @api.get("/waiting")
    def waiting(
        principal: Caller,
        reading: ReadAt,
        at: Annotated[str | None, Query(description="Mã đơn vị: chỉ hồ sơ đang chờ trong phạm vi đơn vị này.")] = None,
        as_now: AsNow = None,
        per_group: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    ) -> dict[str, Any]:
        """Pending proposals grouped by holder (org unit and authority), longest waiting first within a group."""
        now = _now(as_now, reading)
        with reading.connect(READ_MODELS) as conn:
            unit = orgunits.by_code(conn, at) if at is not None else None
            if at is not None and unit is None:
                raise UnknownOrgUnit(at)
            under = unit["path"] if unit else principal.path
            require_within(principal, under)
            groups = queries.waiting_groups(conn, under)
            items = queries.waiting_items(conn, under, per_group)
        return reading.stamp(
            {
                "at": views.unit(unit["code"], unit["path"], unit["name"], unit["level"]) if unit else None,
                "as_now": now,
                "total": sum(g["count"] for g in groups),
                "groups": views.waiting(groups, items, now),
            }
        )

    @api.get("/conferred")
    def conferred(
        principal: Caller, reading: ReadAt, cursors: Cursors, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """The registry of conferred awards, ordered by decision date then proposal id."""
        with reading.connect(READ_MODELS) as conn:
            rows = queries.conferred(conn, registry_cursor(cursors, cursor), limit + 1, principal.path)
        return reading.stamp(
            page([views.conferred_entry(r) for r in rows], limit, ("decision_date", "proposal_id"), cursors, CONFERRED)
        )

    @api.get("/{proposal_id}")
    def get_award(
        proposal_id: str, principal: Caller, response: Response, reading: ReadAt, as_now: AsNow = None
    ) -> dict[str, Any]:
        """One proposal: route with the step holding it, history, prerequisites, decision.

        ETag: the proposal's stream version as the read model has it (send it as If-Match with a command).
        """
        with reading.connect(READ_MODELS) as conn:
            found = queries.proposal(conn, proposal_id)
            places = None if found is None else [found["nominee_path"]]
            require_target(principal, PROPOSAL, proposal_id, places, lambda: unknown_proposal(proposal_id))
            assert found is not None
            response.headers["ETag"] = etag(found["version"])
            plan = plans.summaries(conn, [found["plan_id"]]).get(found["plan_id"]) if found["plan_id"] else None
        return reading.stamp(views.detail(found, plan, _now(as_now, reading)))

    return api
