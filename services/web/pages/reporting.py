"""The year's reporting work in the browser, through the command bus: register targets (đăng ký thi đua), submit a
report (and resubmit a returned one), and the receiving level's review queue (tiếp nhận hoặc trả lại).

Forms are built from the guidance read model of the unit (its plans' criteria for its subject category, its
reporting duties and deadlines); commands go through ``services.web.commands`` with the API's guard.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from projections.guidance import units
from projections.guidance.compose import guidance
from projections.plans import queries as plan_queries
from projections.rollup import queries as rollup
from projections.rollup import views as rollup_views
from projections.rollup.evolve import ALL_PLANS
from projections.rollup.store import below
from projections.rollup.tables import rollup_slot, rollup_unit
from services.api.security.scopes import REVIEWER, SUBMITTER, require_role, require_within
from services.kernel.errors import UnknownOrgUnit
from services.kernel.orgpaths import OrgPath
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport
from services.reporting.model import report_id, report_stream
from services.web import fields, periods
from services.web.auth import Person, Signed
from services.web.commands import preview, send, stream_events
from services.web.forms import FormErrors, form_key
from services.web.i18n import language
from services.web.rendering import flash

from . import render, web_of

router = APIRouter(include_in_schema=False)
QUEUE_LIMIT = 500
ATTACHMENT_ROWS = 3
# refusal code → the field it concerns (anything else goes to the summary at the top)
TARGET_FIELDS = {"OUTSIDE_PLAN_PERIOD": "year", "UNKNOWN_PLAN": "plan"}
REPORT_FIELDS = {"OUTSIDE_PLAN_PERIOD": "period", "UNKNOWN_PLAN": "plan", "REPORT_ALREADY_SUBMITTED": "period"}
REVIEW_FIELDS = {"INVALID_REVIEW": "reason"}


def _unit_guidance(request: Request, person: Person, code: str) -> dict[str, Any]:
    web = web_of(request)
    with web.node.engine.connect() as conn:
        unit = units.resolve(conn, web.node.official_units, code)
        if unit is None:
            raise UnknownOrgUnit(code)
        require_within(person.principal, unit.path)
        return guidance(conn, web.node.official_units, web.matrix, code, periods.today())


def _indicators(g: dict[str, Any], plan_id: str) -> list[dict[str, Any]]:
    """The indicators of ``plan_id``'s criteria for the unit's subject category, with their item."""
    found = []
    for criteria in g["criteria"]:
        if criteria["plan_id"] != plan_id:
            continue
        for item in criteria["items"]:
            for indicator in item["indicators"]:
                found.append({**indicator, "item_code": item["code"], "item_title": item["title"]})
    return found


def _criteria_plans(g: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for criteria in g["criteria"]:
        if any(i["indicators"] for i in criteria["items"]) and criteria["plan_id"] not in seen:
            seen.append(criteria["plan_id"])
    return seen


def _warnings(request: Request, plan_id: str) -> dict[str, list[dict[str, Any]]]:
    """The plan's warnings about its targets (conflicting, duplicate…), by the indicator codes they name."""
    with web_of(request).node.engine.connect() as conn:
        plan = plan_queries.plan(conn, plan_id)
    found: dict[str, list[dict[str, Any]]] = {}
    if plan is None:
        return found
    every = list(plan["warnings"]) + [w for c in plan["criteria"] for w in (c.get("warnings") or [])]
    for warning in every:
        if "TARGET" in warning.get("code", ""):
            for ref in warning.get("refs") or []:
                found.setdefault(ref, []).append(warning)
    return found


# --- đăng ký thi đua -------------------------------------------------------------------------------------------


@router.get("/don-vi/{code}/dang-ky-thi-dua")
def targets_form(
    request: Request, person: Signed, code: str, plan: str | None = None, year: int | None = None
) -> Response:
    """The registration form of a unit: one target per indicator of the plan's criteria for its subject category."""
    require_role(person.principal, SUBMITTER, "register targets")
    g = _unit_guidance(request, person, code)
    return _targets_page(request, g, plan, year or periods.today().year, {}, FormErrors(), form_key())


def _targets_page(
    request: Request,
    g: dict[str, Any],
    plan: str | None,
    year: int,
    values: dict[str, str],
    errors: FormErrors,
    key: str,
    status: int = 200,
) -> Response:
    plans = _criteria_plans(g)
    plan = plan if plan in plans else (plans[-1] if plans else None)
    registered = next((t for t in g["targets"] if t["plan_id"] == plan and t["year"] == year), None)
    draft = _draft(request, "targets", f"{plan}:{g['unit']['code']}:{year}") if not values else None
    if draft:
        values = draft[0]
    elif not values and registered:
        values = {f"t-{t['indicator_code']}": fields_value(t["value"]) for t in registered["targets"]}
    stream = f"registration-{plan}:{g['unit']['code']}:{year}"
    context = {
        "g": g,
        "plans": plans,
        "plan": plan,
        "year": year,
        "indicators": _indicators(g, plan) if plan else [],
        "warnings": _warnings(request, plan) if plan else {},
        "values": values,
        "errors": errors.items,
        "form_key": key,
        "version": len(stream_events(web_of(request), stream)) if plan else 0,
        "registered": registered,
        "draft_saved": draft[1] if draft else None,
    }
    return render(request, "targets_form.html", context, status)


def _draft(request: Request, form: str, subject: str) -> tuple[dict[str, str], Any] | None:
    person = request.state.person
    return web_of(request).drafts.load(person.user.username, form, subject)


def _save_draft(
    request: Request, person: Person, form: str, subject: str, fields_: dict[str, str], back: str
) -> Response:
    """Keep the form as the person's draft (not an event) and go back to it."""
    web_of(request).drafts.save(person.user.username, form, subject, fields_)
    return flash(RedirectResponse(back, status_code=303), "draft_saved")


def fields_value(value: float | None) -> str:
    """A number as a Vietnamese form shows it (``95,5``; ``100``)."""
    if value is None:
        return ""
    return (f"{value:.6f}".rstrip("0").rstrip(".")).replace(".", ",")


@router.post("/don-vi/{code}/dang-ky-thi-dua")
async def targets_submit(request: Request, person: Signed, code: str) -> Response:
    """TargetsRegistered through the bus (registering again for a plan and year replaces the earlier targets)."""
    require_role(person.principal, SUBMITTER, "register targets")
    form = {k: str(v) for k, v in (await request.form()).items()}
    g = _unit_guidance(request, person, code)
    errors, plan = FormErrors(), fields.text(form, "plan")
    year = int(fields.number(form, "year", errors, "Năm") or 0)
    subject = f"{plan}:{g['unit']['code']}:{year}"
    if form.get("step") == "draft":
        back = f"/don-vi/{code}/dang-ky-thi-dua?plan={plan}&year={year}"
        return _save_draft(request, person, "targets", subject, form, back)
    targets = []
    for indicator in _indicators(g, plan):
        name = f"t-{indicator['code']}"
        value = fields.number(form, name, errors, f"Chỉ tiêu {indicator['code']}")
        if value is not None:
            targets.append({"indicator_code": indicator["code"], "value": value, "note": None})
    if not targets and not errors:
        errors.add("targets", "Hãy nhập ít nhất một chỉ tiêu đăng ký.", "NO_TARGETS")
    values = {k: v for k, v in form.items() if k.startswith("t-")}
    if errors:
        return _targets_page(request, g, plan, year, values, errors, form.get("form_key", form_key()), 422)
    unit_path = g["unit"]["path"]
    command = RegisterTargets(
        f"dk-{plan}-{g['unit']['code']}-{year}",
        plan,
        unit_path,
        year,
        tuple(targets),
        fields.business_time(None),
        person.principal.actor(),
    )
    stream = f"registration-{plan}:{OrgPath(unit_path).code}:{year}"
    sent = send(
        web_of(request),
        person,
        form,
        request.url.path,
        command,
        stream_id=stream,
        expected=int(form.get("version") or 0),
        fields=TARGET_FIELDS | {"TARGET_NOT_FOR_UNIT": "targets", "UNKNOWN_INDICATOR": "targets"},
        lang=language(request),
    )
    if not sent.ok:
        _targets_field_errors(sent.errors, targets)
        g = _unit_guidance(request, person, code)  # a stale form shows the registration as it now is
        values = {} if sent.stale else values
        status = 409 if sent.stale else 422  # the refused key keeps its answer: a corrected form needs a new key
        return _targets_page(request, g, plan, year, values, sent.errors, form_key(), status)
    web_of(request).drafts.discard(person.user.username, "targets", subject)
    response = RedirectResponse(f"/don-vi/{code}#dang-ky", status_code=303)
    return flash(response, "targets_registered", n=str(len(targets)), year=str(year))


def _targets_field_errors(errors: FormErrors, targets: list[dict[str, Any]]) -> None:
    """An indicator's refusal beside that indicator's input."""
    for item in errors.items:
        if item["field"] == "targets":
            for t in targets:
                if t["indicator_code"] in str(item["text"]):
                    item["field"] = f"t-{t['indicator_code']}"
                    break


# --- nộp báo cáo -----------------------------------------------------------------------------------------------


def _duty(g: dict[str, Any], plan: str, period: str) -> dict[str, Any] | None:
    """The unit's reporting duty of ``plan`` for ``period``, with this period's deadline if the plan states one."""
    kind = "ANNUAL" if period.isdigit() else period.rsplit("_", 1)[0]
    for duty in g["reporting_duties"]:
        if duty["plan_id"] == plan and duty["period_kind"] == kind:
            for candidate in (duty.get("current"), duty.get("next"), *(duty.get("overdue") or [])):
                if candidate and candidate.get("period") == period:
                    return {**duty, "this": candidate}
            return {**duty, "this": None}
    return None


def _report_plans(g: dict[str, Any]) -> list[str]:
    """The plans a unit reports under: those giving it a periodic duty first, then the rest of its chain (a unit
    may report without a duty: it is counted as an extra report, not an expected one)."""
    dutiful = [d["plan_id"] for d in g["reporting_duties"] if d["period_kind"] in ("ANNUAL", "SO_KET", "TONG_KET")]
    return list(dict.fromkeys([*dutiful, *(p["plan_id"] for p in reversed(g["plans"]))]))


def _previous(request: Request, rid: str) -> dict[str, Any]:
    """The report's versions so far (write side): the version a new submit expects, and a return's reason."""
    events = stream_events(web_of(request), report_stream(rid))
    state: dict[str, Any] = {"stream_version": len(events), "version": 0, "outcome": None, "reason": None}
    for e in events:
        if e.NAME == "ReportSubmitted":
            state.update(version=e.data["version"], outcome=None, reason=None, late=e.data["late"], data=e.data)
        else:
            state.update(outcome=e.data["outcome"], reason=e.data.get("reason"))
    return state


@router.get("/don-vi/{code}/nop-bao-cao")
def report_form(
    request: Request, person: Signed, code: str, plan: str | None = None, period: str | None = None
) -> Response:
    """The report form: values per indicator, narrative, initiatives, attachments by reference; the deadline."""
    require_role(person.principal, SUBMITTER, "submit report")
    g = _unit_guidance(request, person, code)
    return _report_page(request, g, plan, periods.checked(period), {}, FormErrors(), form_key())


def _report_page(
    request: Request,
    g: dict[str, Any],
    plan: str | None,
    period: str,
    values: dict[str, str],
    errors: FormErrors,
    key: str,
    status: int = 200,
    check: dict[str, Any] | None = None,
) -> Response:
    plans = _report_plans(g)
    plan = plan if plan in plans else (plans[0] if plans else None)
    previous = _previous(request, report_id(plan, g["unit"]["code"], period)) if plan else None
    draft = _draft(request, "report", f"{plan}:{g['unit']['code']}:{period}") if not values and plan else None
    values = draft[0] if draft else values
    context = {
        "g": g,
        "plans": plans,
        "plan": plan,
        "period": period,
        "choices": periods.choices(period),
        "duty": _duty(g, plan, period) if plan else None,
        "indicators": _indicators(g, plan) if plan else [],
        "previous": previous,
        "values": values,
        "errors": errors.items,
        "form_key": key,
        "attachment_rows": range(1, ATTACHMENT_ROWS + 1),
        "today": periods.today(),
        "check": check,
        "draft_saved": draft[1] if draft else None,
    }
    return render(request, "report_form.html", context, status)


def _attachments(form: dict[str, str], errors: FormErrors) -> list[str]:
    """Attachments by reference, as officials cite a document: ``Số 12/BC-UBND ngày 25/11/2026 của UBND xã``."""
    found = []
    for i in range(1, ATTACHMENT_ROWS + 1):
        number, issuer = fields.text(form, f"att-{i}-so"), fields.text(form, f"att-{i}-noi")
        day = fields.day(form, f"att-{i}-ngay", errors, "Ngày văn bản")
        if not (number or issuer or day):
            continue
        if not number:
            errors.add(f"att-{i}-so", f"Tài liệu {i}: hãy nhập số, ký hiệu văn bản.", "REQUIRED")
            continue
        text = f"Số {number}" + (f" ngày {day:%d/%m/%Y}" if day else "") + (f" của {issuer}" if issuer else "")
        found.append(text[:500])
    return found


@router.post("/don-vi/{code}/nop-bao-cao")
async def report_submit(request: Request, person: Signed, code: str) -> Response:
    """Check (what will be recorded: version, deadline, late or not, receiver), then send: ReportSubmitted."""
    require_role(person.principal, SUBMITTER, "submit report")
    form = {k: str(v) for k, v in (await request.form()).items()}
    g = _unit_guidance(request, person, code)
    errors, plan = FormErrors(), fields.text(form, "plan")
    period = periods.checked(fields.text(form, "period") or None)
    subject = f"{plan}:{g['unit']['code']}:{period}"
    if form.get("step") == "draft":
        back = f"/don-vi/{code}/nop-bao-cao?plan={plan}&period={period}"
        return _save_draft(request, person, "report", subject, form, back)
    on = fields.day(form, "report_date", errors, "Ngày ký báo cáo")
    fields.not_after_today(on, "report_date", errors, "Ngày ký báo cáo")
    values = []
    for indicator in _indicators(g, plan):
        value = fields.number(form, f"v-{indicator['code']}", errors, f"Kết quả {indicator['code']}")
        if value is not None:
            values.append({"indicator_code": indicator["code"], "value": value, "note": None})
    attachments = _attachments(form, errors)
    narrative = fields.text(form, "narrative") or None
    shown = {k: v for k, v in form.items() if k not in ("csrf_token",)}
    if errors:
        return _report_page(request, g, plan, period, shown, errors, form.get("form_key") or form_key(), 422)
    command = SubmitReport(
        plan,
        g["unit"]["path"],
        period,
        fields.business_time(on),
        person.principal.actor(),
        values=tuple(values),
        narrative=narrative,
        attachments=tuple(attachments),
        initiatives=tuple(fields.lines(form, "initiatives")),
    )
    rid = report_id(plan, g["unit"]["code"], period)
    web, lang = web_of(request), language(request)
    if form.get("step") == "edit":
        return _report_page(request, g, plan, period, shown, errors, form["form_key"])
    if form.get("step") != "send":
        data, errors = preview(web, command, stream_id=report_stream(rid), fields=REPORT_FIELDS, lang=lang)
        check = {"data": data, "attachments": attachments, "values": values, "on": on} if data else None
        return _report_page(request, g, plan, period, shown, errors, form["form_key"], 422 if errors else 200, check)
    sent = send(
        web,
        person,
        form,
        request.url.path,
        command,
        stream_id=report_stream(rid),
        expected=int(form.get("version") or 0),
        fields=REPORT_FIELDS,
        lang=lang,
    )
    if not sent.ok:
        status = 409 if sent.stale else 422  # the refused key keeps its answer: a corrected form needs a new key
        return _report_page(request, g, plan, period, {} if sent.stale else shown, sent.errors, form_key(), status)
    web.drafts.discard(person.user.username, "report", subject)
    response = RedirectResponse(f"/don-vi/{code}#bao-cao", status_code=303)
    return flash(response, "report_submitted", period=period)


# --- tiếp nhận báo cáo -----------------------------------------------------------------------------------------


def awaiting_review(conn: Any, path: str, period: str, limit: int) -> list[dict[str, Any]]:
    """Reports of the subtree below ``path`` for the period whose latest version waits for review, by commune
    (path) then deadline."""
    s, u = rollup_slot, rollup_unit
    query = (
        select(s, u.c.code, u.c.name)
        .join_from(s, u, u.c.path == s.c.unit_path, isouter=True)
        .where(below(s.c.unit_path, path), s.c.period == period, s.c.version.is_not(None), s.c.outcome.is_(None))
        .order_by(s.c.unit_path, s.c.due_date, s.c.plan_id)
        .limit(limit)
    )
    return [r._asdict() for r in conn.execute(query)]


def _queue_page(
    request: Request, person: Person, period: str, errors: FormErrors, status: int = 200, sort: str = "unit"
) -> Response:
    web, path = web_of(request), person.principal.path
    with web.node.engine.connect() as conn:
        rows = awaiting_review(conn, path, period, QUEUE_LIMIT)
        counts = rollup.counts(conn, [path], period, ALL_PLANS)[path]
    if sort == "deadline":
        rows.sort(key=lambda r: (r["due_date"] or date.max, r["unit_path"]))
    for r in rows:
        r["commune"] = "/".join(r["unit_path"].split("/")[:3])
        r["commune_name"] = web.unit_name(r["commune"])
        r["version_stream"] = 2 * r["version"] - 1  # the stream as the row shows it: v submits and v-1 returns
    context = {
        "rows": rows,
        "period": period,
        "choices": periods.choices(period),
        "numbers": rollup_views.numbers(counts, period),
        "errors": errors.items,
        "form_key": form_key(),
        "sort": sort,
    }
    return render(request, "review_queue.html", context, status)


@router.get("/tiep-nhan-bao-cao")
def review_queue(request: Request, person: Signed, period: str | None = None, sort: str = "unit") -> Response:
    """The reports of my subtree waiting for my level's review, by commune or by deadline."""
    require_role(person.principal, REVIEWER, "review report")
    return _queue_page(request, person, periods.checked(period), FormErrors(), sort=sort)


@router.post("/tiep-nhan-bao-cao")
async def review_submit(request: Request, person: Signed) -> Response:
    """ReportReviewed (accept, or return with a reason) of the version the row was showing."""
    require_role(person.principal, REVIEWER, "review report")
    form = {k: str(v) for k, v in (await request.form()).items()}
    period = periods.checked(fields.text(form, "period") or None)
    rid, outcome = fields.text(form, "report_id"), fields.text(form, "outcome")
    reason = fields.text(form, "reason") or None
    command = ReviewReport(
        rid, person.principal.path, outcome, fields.business_time(None), person.principal.actor(), reason=reason
    )
    sent = send(
        web_of(request),
        person,
        form,
        request.url.path,
        command,
        stream_id=report_stream(rid),
        expected=int(form.get("version") or 0),
        fields=REVIEW_FIELDS,
        lang=language(request),
    )
    if not sent.ok:
        for item in sent.errors.items:
            item["text"] = f"{rid}: {item['text']}"
            item["field"] = None
        return _queue_page(request, person, period, sent.errors, 409 if sent.stale else 422)
    response = RedirectResponse(f"/tiep-nhan-bao-cao?period={period}", status_code=303)
    return flash(response, "report_accepted" if outcome == "ACCEPTED" else "report_returned", report=rid)
