"""Bulk reports from a spreadsheet: a commune (or a province's office) collects its units' reports in an Excel file
and uploads it. Every row is checked first — its cells, then the command each row makes, run by the domain's own
handler and rolled back (``commands.preview``) — and **a file with any error appends nothing**: the errors are
listed by spreadsheet line and column. A clean file is then sent row by row through the bus, each row with its own
idempotency key (the file's hash and the line), so uploading the same file again appends nothing twice. A template
is downloadable per plan: one row per unit of my subtree, one column per indicator of the plan's criteria.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from projections.orgunits import queries as orgunits
from projections.plans import queries as plan_queries
from services.api.security.scopes import SUBMITTER, require_role
from services.reporting.commands import RegisterTargets, SubmitReport
from services.reporting.model import report_id, report_stream
from services.web import fields, periods
from services.web.auth import Person, Signed
from services.web.commands import preview, send
from services.web.forms import FormErrors, form_key
from services.web.grids import XLSX
from services.web.i18n import language

from . import render, web_of

router = APIRouter(include_in_schema=False)
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
UNIT, DAY, NARRATIVE, INITIATIVES = "Mã đơn vị", "Ngày ký báo cáo", "Nội dung báo cáo", "Mô hình, sáng kiến"
FIXED = [UNIT, "Tên đơn vị", DAY, NARRATIVE, INITIATIVES]
YEAR = "Năm"
REPORTS, TARGETS = "bao-cao", "dang-ky"
KINDS = {REPORTS: "Báo cáo kết quả", TARGETS: "Đăng ký thi đua (chỉ tiêu)"}
TEMPLATE_COLUMNS = {REPORTS: FIXED, TARGETS: [UNIT, "Tên đơn vị"]}


@dataclass
class RowError:
    """One bad cell (or row) of the file, at its spreadsheet line."""

    line: int
    column: str | None
    text: str
    code: str


def _indicator_codes(request: Request, plan_id: str) -> list[str]:
    with web_of(request).node.engine.connect() as conn:
        plan = plan_queries.plan(conn, plan_id)
    if plan is None:
        return []
    codes: list[str] = []
    for criteria in plan["criteria"]:
        for item in criteria.get("items") or []:
            for indicator in item.get("indicators") or []:
                if indicator["code"] not in codes:
                    codes.append(indicator["code"])
    return codes


def _page(
    request: Request,
    kind: str,
    plan: str,
    period: str,
    errors: list[RowError],
    sent: list[str],
    status: int = 200,
) -> Response:
    context = {
        "kind": kind,
        "kinds": KINDS,
        "plan": plan,
        "period": period,
        "choices": periods.choices(period),
        "row_errors": errors,
        "sent": sent,
        "form_key": form_key(),
        "errors": [],
    }
    return render(request, "upload.html", context, status)


@router.get("/tai-len-bao-cao")
def upload_form(
    request: Request, person: Signed, plan: str = "", period: str | None = None, loai: str = REPORTS
) -> Response:
    """The upload form and the template's link (``loai``: bao-cao, reports; dang-ky, registrations)."""
    require_role(person.principal, SUBMITTER, "submit report")
    return _page(request, loai if loai in KINDS else REPORTS, plan, periods.checked(period), [], [])


@router.get("/tai-len-bao-cao/mau.xlsx")
def template(request: Request, person: Signed, plan: str, loai: str = REPORTS) -> Response:
    """The template of a plan: one row per unit of my subtree, one column per indicator of its criteria."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    require_role(person.principal, SUBMITTER, "submit report")
    codes = _indicator_codes(request, plan)
    with web_of(request).node.engine.connect() as conn:
        units = [u for u in orgunits.subtree(conn, person.principal.path) if u["path"] != person.principal.path]
    book = Workbook()
    sheet = book.active
    sheet.title = "Báo cáo"
    sheet.append([*TEMPLATE_COLUMNS.get(loai, FIXED), *codes])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for unit in units[:MAX_ROWS]:
        sheet.append([unit["code"], unit["name"]])
    sheet.freeze_panes = "C2"
    out = io.BytesIO()
    book.save(out)
    name = f"mau-{loai if loai in KINDS else REPORTS}-{plan}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(out.getvalue(), media_type=XLSX, headers=headers)


def _rows(content: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [(i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1) if i <= MAX_ROWS + 1]
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _command(
    kind: str,
    person: Person,
    plan: str,
    period: str,
    unit: dict[str, Any],
    cells: dict[str, str],
    values: list[dict[str, Any]],
    on: date | None,
    found: FormErrors,
) -> tuple[Any, str]:
    """The command a clean row makes, and its stream (None when the row lacks what the command needs)."""
    if kind == TARGETS:
        if not values:
            found.add(None, "dòng không có chỉ tiêu đăng ký nào.", "NO_TARGETS")
            return None, ""
        year = int(period)
        registration = RegisterTargets(
            f"dk-{plan}-{unit['code']}-{year}",
            plan,
            unit["path"],
            year,
            tuple(values),
            fields.business_time(None),
            person.principal.actor(),
        )
        return registration, f"registration-{plan}:{unit['code']}:{year}"
    report = SubmitReport(
        plan,
        unit["path"],
        period,
        fields.business_time(on),
        person.principal.actor(),
        values=tuple(values),
        narrative=cells.get(NARRATIVE) or None,
        initiatives=tuple(x.strip() for x in cells.get(INITIATIVES, "").split(";") if x.strip()),
    )
    return report, report_stream(report_id(plan, unit["code"], period))


def check_file(
    request: Request, person: Person, kind: str, plan: str, period: str, rows: list[tuple[int, list[Any]]]
) -> tuple[list[tuple[int, Any, str, dict[str, str]]], list[RowError]]:
    """Every row's command, or every error of the file (cells first, then what the domain would refuse)."""
    errors: list[RowError] = []
    if not rows or not any(rows[0][1]):
        return [], [RowError(1, None, "Tệp trống hoặc thiếu dòng tiêu đề.", "EMPTY_FILE")]
    header = [_cell_text(h) for h in rows[0][1]]
    if UNIT not in header:
        return [], [RowError(1, UNIT, f"Thiếu cột “{UNIT}” (hãy dùng tệp mẫu).", "MISSING_COLUMN")]
    codes = set(_indicator_codes(request, plan))
    commands: list[tuple[int, Any, str, dict[str, str]]] = []
    if kind == TARGETS and not period.isdigit():
        return [], [RowError(1, None, "Đăng ký thi đua theo năm: hãy chọn một năm.", "INVALID_PERIOD")]
    web, lang = web_of(request), language(request)
    with web.node.engine.connect() as conn:
        known = {u["code"]: u for u in orgunits.subtree(conn, person.principal.path)}
    for line, raw in rows[1:]:
        cells = {header[i]: _cell_text(v) for i, v in enumerate(raw) if i < len(header) and header[i]}
        if not any(cells.values()):
            continue
        found = FormErrors()
        unit = known.get(cells.get(UNIT, ""))
        if unit is None:
            found.add(UNIT, f"đơn vị “{cells.get(UNIT, '')}” không có trong phạm vi đơn vị của bạn.", "OUT_OF_SUBTREE")
        on = fields.day(cells, DAY, found, DAY) if kind == REPORTS else None
        fields.not_after_today(on, DAY, found, DAY)
        values = []
        for column, text in cells.items():
            if column in [*FIXED, YEAR] or not text:
                continue
            if column not in codes:
                found.add(column, f"cột “{column}” không phải chỉ tiêu của kế hoạch {plan}.", "UNKNOWN_INDICATOR")
                continue
            value = fields.number(cells, column, found, column)
            if value is not None:
                values.append({"indicator_code": column, "value": value, "note": None})
        if unit is not None and not found:
            command, stream = _command(kind, person, plan, period, unit, cells, values, on, found)
            if command is not None:
                _, refused = preview(web, command, stream_id=stream, lang=lang)  # what the domain would refuse
                for item in refused.items:
                    found.add(None, str(item["text"]), item["code"])
                commands.append((line, command, stream, cells))
        errors += [RowError(line, e["field"], str(e["text"]), str(e["code"])) for e in found.items]
    if not commands and not errors:
        errors.append(RowError(2, None, "Tệp không có dòng nào.", "EMPTY_FILE"))
    return commands, errors


@router.post("/tai-len-bao-cao")
async def upload(request: Request, person: Signed) -> Response:
    """Check the whole file; append nothing if any row is wrong; else send each row (idempotent per file and line)."""
    require_role(person.principal, SUBMITTER, "submit report")
    form = await request.form()
    plan = fields.text({"plan": str(form.get("plan") or "")}, "plan")
    period = periods.checked(str(form.get("period") or "") or None)
    kind = TARGETS if form.get("kind") == TARGETS else REPORTS
    upload_file = form.get("file")
    content = await upload_file.read(MAX_BYTES + 1) if isinstance(upload_file, UploadFile) else b""
    if not content or len(content) > MAX_BYTES:
        text = "Hãy chọn tệp Excel (.xlsx) không quá 5 MB." if not content else "Tệp quá 5 MB."
        return _page(request, kind, plan, period, [RowError(1, None, text, "BAD_FILE")], [], 422)
    try:
        rows = _rows(content)
    except Exception:  # noqa: BLE001 - any unreadable file is the person's to fix, said in words
        return _page(
            request,
            kind,
            plan,
            period,
            [RowError(1, None, "Không đọc được tệp: hãy dùng tệp .xlsx theo mẫu.", "BAD_FILE")],
            [],
            422,
        )
    commands, errors = check_file(request, person, kind, plan, period, rows)
    if errors:
        return _page(request, kind, plan, period, errors, [], 422)
    digest = hashlib.sha256(content).hexdigest()[:32]
    sent, web = [], web_of(request)
    for line, command, stream, cells in commands:
        key_form = {"form_key": f"tep-{digest}-{line}", "kind": kind, "period": period, **cells}
        outcome = send(web, person, key_form, request.url.path, command, stream_id=stream, lang=language(request))
        if outcome.ok:
            sent.append(f"dòng {line}: {cells.get(UNIT)}")
        else:  # refused between the check and the send (someone else acted): said for this row
            errors += [RowError(line, e["field"], str(e["text"]), str(e["code"])) for e in outcome.errors.items]
    return _page(request, kind, plan, period, errors, sent, 422 if errors else 200)
