"""Award work in the browser, through the command bus: propose (đề nghị) with the computed route and prerequisites
shown before sending, my inbox (hồ sơ đang chờ tại đơn vị), forward (trình, with the council's opinion), return
(trả lại) and decide (quyết định); the decision's list (Danh sách khen thưởng kèm theo Quyết định số …)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from projections.awards import queries, views
from projections.guidance.compose import guidance
from projections.orgunits import queries as orgunits
from projections.plans import queries as plan_queries
from services.api.routers.awards import unknown_proposal
from services.api.routers.commands_awards import FORWARDERS, RETURNERS, proposal_access
from services.api.security.scopes import DECIDER, SUBMITTER, require_role, require_within
from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.awards.levels import Authority
from services.awards.model import proposal_stream
from services.kernel.errors import ThiduaError
from services.kernel.labels import ROLES, label
from services.web import docx, fields, periods
from services.web.auth import Person, Signed
from services.web.commands import preview, send
from services.web.forms import FormErrors, form_key
from services.web.grids import Column, Grid
from services.web.i18n import language
from services.web.rendering import flash

from . import export, render, web_of

router = APIRouter(include_in_schema=False)
INBOX_LIMIT = 200
NOMINEE_UNITS = 2000
KINDS = [("COLLECTIVE", "Tập thể"), ("INDIVIDUAL", "Cá nhân"), ("HOUSEHOLD", "Hộ gia đình")]
PROPOSE_FIELDS = {
    "FORM_NOT_FOR_OCCASION": "offer",
    "FORM_NOT_ALLOWED_IN_PLAN": "offer",
    "AUTHORITY_MISMATCH": "offer",
    "UNKNOWN_AWARD_FORM": "offer",
    "UNKNOWN_PLAN": "offer",
    "SUBJECT_NOT_ALLOWED": "nominee_kind",
    "OUT_OF_SUBTREE": "nominee_path",
    "UNKNOWN_ORG_UNIT": "nominee_path",
}
DECIDE_FIELDS = {"DECISION_INCOMPLETE": "decision_number"}
RETURN_FIELDS = {"INVALID_REASON": "return_reason"}


# --- đề nghị khen thưởng ---------------------------------------------------------------------------------------


def _offers(request: Request, person: Person) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """My unit's guidance and the award forms its plans offer it (the only ones selectable)."""
    web = web_of(request)
    code = person.principal.org_unit.code
    with web.node.engine.connect() as conn:
        g = guidance(conn, web.node.official_units, web.matrix, code, periods.today())
        nominees = orgunits.subtree(conn, person.principal.path)[:NOMINEE_UNITS]
    offers = [
        {**a, "value": f"{a['plan_id']}|{a['occasion']}|{a['form_code']}"}
        for a in g["award_forms"]
        if a.get("form_code")
    ]
    return {"g": g, "nominees": nominees}, offers


def _propose_page(
    request: Request,
    person: Person,
    values: dict[str, str],
    errors: FormErrors,
    key: str,
    status: int = 200,
    check: dict[str, Any] | None = None,
) -> Response:
    base, offers = _offers(request, person)
    pid = (
        values.get("proposal_id")
        or f"dn-{person.principal.org_unit.code.lower()}-{periods.today().year}-{uuid.uuid4().hex[:6]}"
    )
    context = {
        **base,
        "offers": offers,
        "kinds": KINDS,
        "values": values,
        "proposal_id": pid,
        "errors": errors.items,
        "form_key": key,
        "check": check,
    }
    return render(request, "propose_form.html", context, status)


@router.get("/de-nghi-khen-thuong")
def propose_form(request: Request, person: Signed, nominee: str | None = None) -> Response:
    """Choose the nominee in my subtree, the occasion and a form my plans offer; then check and send."""
    require_role(person.principal, SUBMITTER, "propose award")
    values = {"nominee_path": nominee} if nominee else {}
    return _propose_page(request, person, values, FormErrors(), form_key())


def _route_view(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """The computed route of a proposal as the check page shows it: each step's org unit, role and authority,
    the form's legal basis (who decides, through whom it is submitted), the prerequisites and warnings."""
    web = web_of(request)
    form = web.matrix.form(data["form_code"], periods.today())
    steps = [
        {
            "org_unit": s["org_unit"],
            "role_label": label(ROLES, s["role"]),
            "authority_label": Authority(s["authority"]).label_vi,
        }
        for s in data["route"]
    ]
    checks = [c | {"status_label": label(views.PREREQUISITES, c["status"])} for c in data["prerequisites"]]
    basis = f"{form.legal_basis} [{form.verification}]"
    return {"form_name": form.name_vi, "steps": steps, "basis": basis, "checks": checks, "warnings": data["warnings"]}


@router.post("/de-nghi-khen-thuong")
async def propose_submit(request: Request, person: Signed) -> Response:
    """Check: the route and prerequisites the domain computes (nothing is written); send: AwardProposed."""
    require_role(person.principal, SUBMITTER, "propose award")
    form = {k: str(v) for k, v in (await request.form()).items()}
    errors = FormErrors()
    plan_id, occasion, form_code = ([*fields.text(form, "offer").split("|"), "", "", ""])[:3]
    if not form_code:
        errors.add("offer", "Hãy chọn hình thức khen thưởng và dịp.", "REQUIRED")
    for name, what in (("nominee_name", "tên đối tượng được đề nghị"), ("achievements", "thành tích")):
        if not fields.text(form, name):
            errors.add(name, f"Hãy nhập {what}.", "REQUIRED")
    nominee_path = fields.text(form, "nominee_path")
    if not person.principal.covers(nominee_path or "-"):
        errors.add("nominee_path", "Hãy chọn đơn vị của đối tượng trong phạm vi đơn vị mình.", "OUT_OF_SUBTREE")
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    if errors:
        return _propose_page(request, person, values, errors, form.get("form_key") or form_key(), 422)
    pid = fields.text(form, "proposal_id")
    command = ProposeAward(
        pid,
        person.principal.path,
        fields.text(form, "nominee_kind") or "COLLECTIVE",
        fields.text(form, "nominee_name"),
        nominee_path,
        form_code,
        occasion,
        fields.text(form, "achievements"),
        fields.business_time(None),
        person.principal.actor(),
        plan_id=plan_id or None,
    )
    web, lang = web_of(request), language(request)
    if form.get("step") == "edit":
        return _propose_page(request, person, values, errors, form["form_key"])
    if form.get("step") != "send":
        data, errors = preview(web, command, stream_id=proposal_stream(pid), fields=PROPOSE_FIELDS, lang=lang)
        check = {"data": data, **_route_view(request, data)} if data else None
        return _propose_page(request, person, values, errors, form["form_key"], 422 if errors else 200, check)
    sent = send(
        web,
        person,
        form,
        request.url.path,
        command,
        stream_id=proposal_stream(pid),
        expected=0,
        fields=PROPOSE_FIELDS,
        lang=lang,
    )
    if not sent.ok:
        return _propose_page(request, person, values, sent.errors, form_key(), 422)  # the refused key keeps its answer
    return flash(RedirectResponse(f"/khen-thuong/{pid}", status_code=303), "award_proposed", proposal=pid)


# --- hộp thư: hồ sơ đang chờ tại đơn vị ----------------------------------------------------------------------


@router.get("/hop-thu")
def inbox(request: Request, person: Signed) -> Response:
    """Proposals held by my org unit, the longest held first, each with what my unit must do."""
    web = web_of(request)
    with web.node.engine.connect() as conn:
        count, items = queries.held_by(conn, person.principal.path, INBOX_LIMIT)
    now = views.now_of(None)
    context = {"count": count, "items": [views.summary(i, now) for i in items]}
    return render(request, "inbox.html", context)


def actions(person: Person, p: dict[str, Any]) -> dict[str, Any]:
    """What the person may do with a proposal held by their unit (the API's role rules; the domain decides the rest)."""
    roles = person.principal.roles
    held = (
        p["state"] == "PENDING" and p["holder"]["org_unit"] and p["holder"]["org_unit"]["path"] == person.principal.path
    )
    role = p["holder"]["role"] if held else None
    council = held and p["holder"].get("authority") == "HOI_DONG_TDKT"
    return {
        "forward": bool(held and role != "DECIDE" and roles & FORWARDERS),
        "return": bool(held and roles & RETURNERS),
        "decide": bool(held and roles & DECIDER),
        "council": council,
        "decide_step": role == "DECIDE",
    }


def show_proposal(
    request: Request,
    person: Person,
    proposal_id: str,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """One proposal: route and the step holding it, history, prerequisites, decision; and, held by my unit, the
    forms to forward, return or decide it (with the version shown, so a stale form is refused)."""
    web = web_of(request)
    with web.node.engine.connect() as conn:
        found = queries.proposal(conn, proposal_id)
        if found is None:
            raise unknown_proposal(proposal_id)
        require_within(person.principal, found["nominee_path"])
        plan = plan_queries.summaries(conn, [found["plan_id"]]).get(found["plan_id"]) if found["plan_id"] else None
    p = views.detail(found, plan, views.now_of(None))
    context = {
        "p": p,
        "version": found["version"],
        "can": actions(person, p),
        "errors": (errors or FormErrors()).items,
        "values": values or {},
        "form_key": form_key(),
        "today": periods.today(),
    }
    return render(request, "award.html", context, status)


async def _act(
    request: Request, person: Person, proposal_id: str, build: Any, fields_of: dict[str, str], done: str
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    errors = FormErrors()
    try:
        command, authorize = build(form, errors)
    except ThiduaError as refusal:
        errors.refusal(refusal, fields_of, language(request))
        command = None
    values = {k: v for k, v in form.items() if k not in ("csrf_token", "form_key")}
    if errors or command is None:
        return show_proposal(request, person, proposal_id, errors, values, 422)
    sent = send(
        web_of(request),
        person,
        form,
        request.url.path,
        command,
        stream_id=proposal_stream(proposal_id),
        expected=int(form.get("version") or 0),
        authorize=authorize,
        fields=fields_of,
        lang=language(request),
    )
    if not sent.ok:
        return show_proposal(
            request, person, proposal_id, sent.errors, {} if sent.stale else values, 409 if sent.stale else 422
        )
    return flash(RedirectResponse(f"/khen-thuong/{proposal_id}", status_code=303), done, proposal=proposal_id)


@router.post("/khen-thuong/{proposal_id}/trinh")
async def forward(request: Request, person: Signed, proposal_id: str) -> Response:
    """AwardForwarded to the next step of the route (with the council's opinion where the step is the council's)."""
    require_role(person.principal, FORWARDERS, "forward award")

    def build(form: dict[str, str], errors: FormErrors) -> tuple[Any, Any]:
        note = fields.text(form, "note") or None
        command = ForwardAward(
            proposal_id, person.principal.path, fields.business_time(None), person.principal.actor(), note
        )
        return command, proposal_access(person.principal, proposal_id, "forward award")

    return await _act(request, person, proposal_id, build, {}, "award_forwarded")


@router.post("/khen-thuong/{proposal_id}/tra-lai")
async def give_back(request: Request, person: Signed, proposal_id: str) -> Response:
    """AwardReturned to the proposer, with a reason."""
    require_role(person.principal, RETURNERS, "return award")

    def build(form: dict[str, str], errors: FormErrors) -> tuple[Any, Any]:
        reason = fields.text(form, "return_reason")
        if not reason:
            errors.add("return_reason", "Hãy nêu lý do trả lại hồ sơ.", "REQUIRED")
        command = ReturnAward(
            proposal_id, person.principal.path, reason, fields.business_time(None), person.principal.actor()
        )
        return command, proposal_access(person.principal, proposal_id, "return award")

    return await _act(request, person, proposal_id, build, RETURN_FIELDS, "award_returned")


@router.post("/khen-thuong/{proposal_id}/quyet-dinh")
async def decide(request: Request, person: Signed, proposal_id: str) -> Response:
    """AwardDecided: approve with the decision's number and date, or reject with a reason."""
    require_role(person.principal, DECIDER, "decide award")

    def build(form: dict[str, str], errors: FormErrors) -> tuple[Any, Any]:
        outcome = fields.text(form, "outcome")
        if outcome not in ("APPROVED", "REJECTED"):
            errors.add("outcome", "Hãy chọn khen thưởng hoặc không khen thưởng.", "REQUIRED")
        on = fields.day(form, "decision_date", errors, "Ngày quyết định", required=outcome == "APPROVED")
        fields.not_after_today(on, "decision_date", errors, "Ngày quyết định")
        number = fields.text(form, "decision_number") or None
        if outcome == "APPROVED" and not number:
            errors.add("decision_number", "Hãy nhập số quyết định, ví dụ 215/QĐ-UBND.", "DECISION_INCOMPLETE")
        reason = fields.text(form, "reason") or None
        if outcome == "REJECTED" and not reason:
            errors.add("reason", "Hãy nêu lý do không khen thưởng.", "DECISION_INCOMPLETE")
        approved = outcome == "APPROVED"
        command = DecideAward(
            proposal_id,
            person.principal.path,
            outcome,
            fields.business_time(on),
            person.principal.actor(),
            number if approved else None,
            on if approved else None,
            None if approved else reason,
        )
        return command, proposal_access(person.principal, proposal_id, "decide award", step_role=False)

    return await _act(request, person, proposal_id, build, DECIDE_FIELDS, "award_decided")


# --- danh sách khen thưởng kèm theo quyết định ----------------------------------------------------------------

LIST_COLUMNS = [
    Column("stt", "STT", kind="int", sortable=False),
    Column("nominee", "Tên tập thể, cá nhân", sortable=False),
    Column("kind", "Đối tượng", sortable=False, label=True),
    Column("unit", "Đơn vị", sortable=False),
    Column("form", "Hình thức khen thưởng", sortable=False),
    Column("proposal_id", "Mã hồ sơ", sortable=False),
]


def decision(request: Request, person: Person, decider: str, number: str) -> tuple[dict[str, Any], Grid]:
    """One decision's list: the decider (within my subtree, or above a nominee of mine), its date, its awards."""
    web = web_of(request)
    with web.node.engine.connect() as conn:
        rows = queries.decision_list(conn, decider, number)
    rows = [r for r in rows if person.principal.covers(r["nominee_path"]) or person.principal.covers(decider)]
    if not rows:
        raise unknown_proposal(number)
    first = rows[0]
    entries = [
        {
            "stt": i,
            "nominee": r["nominee_name"],
            "kind": views.NOMINEE_KINDS.get(r["nominee_kind"], r["nominee_kind"]),
            "unit": r["nominee_unit_name"] or "",
            "form": views.form_name(r["form_code"], r["decision_date"]),
            "proposal_id": r["proposal_id"],
            "links": {"proposal_id": f"/khen-thuong/{r['proposal_id']}"},
        }
        for i, r in enumerate(rows, start=1)
    ]
    head = {
        "number": number,
        "date": first["decision_date"],
        "decider": first["decider_name"],
        "authority": Authority(first["decider_authority"]).label_vi if first["decider_authority"] else "",
        "path": decider,
    }
    title = (
        f"Số {number} ngày {first['decision_date']:%d/%m/%Y} của {head['authority'] or ''} ({first['decider_name']})"
    )
    grid = Grid("Danh sách khen thưởng kèm theo Quyết định", title, LIST_COLUMNS, entries, [("Quyết định", title)])
    return head, grid


@router.get("/quyet-dinh")
def decision_page(request: Request, person: Signed, noi: str, so: str) -> Response:
    """The list attached to decision ``so`` of the decider ``noi`` (printable; DOCX and XLSX)."""
    head, grid = decision(request, person, noi, so)
    return render(request, "decision_list.html", {"d": head, "grid": grid})


@router.get("/quyet-dinh/xuat.{fmt}")
def decision_export(request: Request, person: Signed, fmt: str, noi: str, so: str) -> Response:
    """The decision's list as DOCX (as attached to the decision) or XLSX (the same rows)."""
    head, grid = decision(request, person, noi, so)
    name = "danh-sach-khen-thuong-" + "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in so)
    if fmt != "docx":
        return export(request, grid, fmt, name)
    titles = [
        "DANH SÁCH KHEN THƯỞNG",
        f"(Kèm theo Quyết định số {so} ngày {head['date']:%d/%m/%Y} của {head['authority']} – {head['decider']})",
    ]
    rows = [[str(r["stt"]), r["nominee"], r["kind"], r["unit"], r["form"]] for r in grid.rows]
    body = docx.document(titles, [c.title for c in LIST_COLUMNS[:5]], rows)
    disposition = {"Content-Disposition": f'attachment; filename="{name}.docx"', "Cache-Control": "no-store"}
    return Response(body, media_type=docx.DOCX, headers=disposition)
