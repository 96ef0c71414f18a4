"""Tổng hợp: the rollup drill-down Cả nước → tỉnh → xã → đơn vị for a period — reporting, on-time and registration
rates per child with bars, sortable; indicators by code; the missing and late lists; XLSX and CSV of the table on
screen. Every number comes from the read model's functions the API answers with (``projections.rollup.views``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from projections.orgunits import queries as orgunits
from projections.rollup import figures, queries, views
from projections.rollup.evolve import ALL_PLANS
from services.api.pagination import MAX_LIMIT
from services.api.routers.rollup import unit_in_scope
from services.api.security.scopes import Principal
from services.kernel.errors import DomainRefusal, Kind
from services.web import periods
from services.web.auth import Signed
from services.web.formats import day, moment
from services.web.grids import Column, Grid
from services.web.rendering import wants_fragment

from . import export, render, web_of

router = APIRouter(include_in_schema=False)
MAX_ROWS = 5_000  # children shown (and sorted) on one page; a commune with more units shows the first ones
TABLE = "rollup-table"
COLUMNS = [
    Column("name", "Đơn vị"),
    Column("code", "Mã"),
    Column("plan_state_label", "Kế hoạch", label=True),
    Column("expected", "Phải nộp", "int"),
    Column("submitted", "Đã nộp", "int"),
    Column("on_time", "Đúng hạn", "int"),
    Column("late", "Muộn", "int"),
    Column("missing", "Chưa nộp", "int"),
    Column("reporting_rate", "Tỷ lệ nộp", "rate"),
    Column("on_time_rate", "Tỷ lệ đúng hạn", "rate"),
    Column("registered", "Đã đăng ký", "int"),
    Column("registration_rate", "Tỷ lệ đăng ký", "rate"),
]
REPORT_COLUMNS = [  # a paged list: in the read model's order (unit path, plan), not sortable page by page
    Column("name", "Đơn vị", sortable=False),
    Column("code", "Mã", sortable=False),
    Column("plan_id", "Kế hoạch", sortable=False),
    Column("deadline", "Hạn nộp", sortable=False),
    Column("status_label", "Tình trạng", sortable=False, label=True),
    Column("submitted_at", "Nộp lúc", sortable=False),
    Column("version", "Lần nộp", "int", sortable=False),
    Column("review_label", "Thẩm định", sortable=False, label=True),
]
STATUSES = {
    "missing": "Chưa nộp",
    "late": "Nộp muộn",
    "on_time": "Nộp đúng hạn",
    "submitted": "Đã nộp",
    "returned": "Bị trả lại",
}


def breadcrumbs(conn: Connection, unit: dict[str, Any], principal: Principal) -> list[dict[str, Any]]:
    """Cả nước › tỉnh › xã down to the unit; links only where the person may look."""
    chain = [*orgunits.ancestors(conn, unit["path"]), unit]
    return [
        {"code": u["code"], "name": "Cả nước" if u["path"] == "VN" else u["name"], "link": principal.covers(u["path"])}
        for u in chain
    ]


def child_rows(conn: Connection, unit: dict[str, Any], period: str, states: dict[str, str]) -> list[dict[str, Any]]:
    """Every direct child with its numbers (the API's drill-down pages, read to the end), flattened."""
    rows: list[dict[str, Any]] = []
    after = None
    while len(rows) < MAX_ROWS:
        items = views.drill_down(conn, unit, period, ALL_PLANS, None, states, after, MAX_LIMIT)
        rows += [_flat(i, period) for i in items[:MAX_LIMIT]]
        if len(items) <= MAX_LIMIT:
            break
        after = items[MAX_LIMIT - 1]["path"]
    return rows[:MAX_ROWS]


def _flat(item: dict[str, Any], period: str) -> dict[str, Any]:
    registration, code = item["registration"] or {}, item["code"]
    links = {
        "name": f"/tong-hop/{code}?period={period}",
        "missing": f"/tong-hop/{code}/bao-cao?period={period}&status=missing",
        "late": f"/tong-hop/{code}/bao-cao?period={period}&status=late",
    }
    return {
        **item,
        **item["reports"],
        "registered": registration.get("registered"),
        "registration_rate": registration.get("registration_rate"),
        "links": links,
    }


def rollup_grid(conn: Connection, unit: dict[str, Any], period: str, states: dict[str, str]) -> Grid:
    """The drill-down table of ``unit`` for ``period``."""
    subtitle = f"{unit['name']} · {figures.period_label(period)}"
    context = [("Đơn vị", f"{unit['name']} ({unit['code']})"), ("Kỳ báo cáo", figures.period_label(period))]
    return Grid("Tổng hợp báo cáo", subtitle, COLUMNS, child_rows(conn, unit, period, states), context)


def _sorting(sort: str | None, direction: str | None) -> tuple[str | None, bool]:
    return sort, direction == "desc"


@router.get("/tong-hop")
def rollup_home(person: Signed) -> Response:
    """The person's own org unit."""
    return RedirectResponse(f"/tong-hop/{person.principal.org_unit.code}", status_code=303)


@router.get("/tong-hop/{code}")
def rollup_page(
    request: Request,
    person: Signed,
    code: str,
    period: str | None = None,
    sort: str | None = None,
    dir: str | None = None,
) -> Response:  # noqa: A002
    """The node's numbers and one row per direct child."""
    web, chosen = web_of(request), periods.checked(period)
    key, descending = _sorting(sort, dir)
    with web.node.engine.connect() as conn:
        unit = unit_in_scope(conn, code, person.principal)
        summary, states = views.summary(conn, unit, chosen, ALL_PLANS, web.codes)
        grid = rollup_grid(conn, unit, chosen, states).sort(key, descending)
        context = {
            "unit": unit,
            "summary": summary,
            "grid": grid,
            "period": chosen,
            "sort": key,
            "descending": descending,
            "choices": periods.choices(chosen),
            "crumbs": breadcrumbs(conn, unit, person.principal),
        }
    template = "_rollup_table.html" if wants_fragment(request, TABLE) else "rollup.html"
    return render(request, template, context)


@router.get("/tong-hop/{code}/xuat.{fmt}")
def rollup_export(
    request: Request,
    person: Signed,
    code: str,
    fmt: str,
    period: str | None = None,
    sort: str | None = None,
    dir: str | None = None,
) -> Response:  # noqa: A002
    """The table on screen as XLSX or CSV (same rows, order and numbers)."""
    web, chosen = web_of(request), periods.checked(period)
    with web.node.engine.connect() as conn:
        unit = unit_in_scope(conn, code, person.principal)
        _, states = views.child_plans(conn, unit["path"])
        grid = rollup_grid(conn, unit, chosen, states).sort(*_sorting(sort, dir))
    return export(request, grid, fmt, f"tong-hop-{unit['code']}-{chosen}")


def report_grid(
    conn: Connection, unit: dict[str, Any], period: str, status: str | None, limit: int, after: list[str] | None = None
) -> tuple[Grid, list[str] | None]:
    """One page of the subtree's report slots (the API's ``/reports`` rows) and the cursor of the next."""
    if status is not None and status not in queries.STATUS_FILTERS:
        raise DomainRefusal(
            "INVALID_STATUS", Kind.INVALID, f"Trạng thái '{status}' không hợp lệ.", f"Invalid status '{status}'."
        )
    rows = queries.reports(conn, unit["path"], period, status, None, after, limit)
    entries = [views.report_entry(r) for r in rows[:limit]]
    flat = [_report_row(e) for e in entries]
    more = [entries[-1]["unit_path"], entries[-1]["plan_id"]] if len(rows) > limit and entries else None
    what = STATUSES.get(status or "", "Tất cả báo cáo")
    subtitle = f"{unit['name']} · {figures.period_label(period)}"
    context = [
        ("Đơn vị", f"{unit['name']} ({unit['code']})"),
        ("Kỳ báo cáo", figures.period_label(period)),
        ("Trạng thái", what),
    ]
    return Grid(what, subtitle, REPORT_COLUMNS, flat, context), more


def _report_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A report slot as shown and exported: dates as officials write them."""
    unit = entry["org_unit"]
    return {
        **entry,
        "name": unit["name"] or unit["code"],
        "code": unit["code"],
        "deadline": day(entry["deadline"]) if entry["deadline"] else None,
        "submitted_at": moment(entry["submitted_at"]) if entry["submitted_at"] else None,
        "links": {"name": f"/don-vi/{unit['code']}"},
    }


@router.get("/tong-hop/{code}/bao-cao")
def reports_page(
    request: Request,
    person: Signed,
    code: str,
    period: str | None = None,
    status: str | None = None,
    after: str | None = None,
) -> Response:
    """Who has not reported, who was late (or any status), 100 at a time."""
    web, chosen = web_of(request), periods.checked(period)
    cursor = after.split("|", 1) if after and "|" in after else None
    with web.node.engine.connect() as conn:
        unit = unit_in_scope(conn, code, person.principal)
        grid, more = report_grid(conn, unit, chosen, status, 100, cursor)
        crumbs = breadcrumbs(conn, unit, person.principal)
    context = {
        "unit": unit,
        "grid": grid,
        "period": chosen,
        "status": status,
        "statuses": STATUSES,
        "more": "|".join(more) if more else None,
        "crumbs": crumbs,
        "choices": periods.choices(chosen),
    }
    return render(request, "reports.html", context)


@router.get("/tong-hop/{code}/bao-cao/xuat.{fmt}")
def reports_export(
    request: Request, person: Signed, code: str, fmt: str, period: str | None = None, status: str | None = None
) -> Response:
    """The whole list (every page) as XLSX or CSV."""
    web, chosen = web_of(request), periods.checked(period)
    with web.node.engine.connect() as conn:
        unit = unit_in_scope(conn, code, person.principal)
        grid, more = report_grid(conn, unit, chosen, status, MAX_LIMIT)
        while more is not None and len(grid.rows) < 100_000:
            page, more = report_grid(conn, unit, chosen, status, MAX_LIMIT, more)
            grid.rows += page.rows
    return export(request, grid, fmt, f"bao-cao-{unit['code']}-{chosen}-{status or 'tat-ca'}")
