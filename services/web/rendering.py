"""Pages: a Jinja2 environment over ``templates/``, the filters that format numbers and dates by language, the
layout's context (person, navigation, language, CSRF, flash message) and versioned static assets."""

from __future__ import annotations

import hashlib
import json
from base64 import urlsafe_b64decode, urlsafe_b64encode
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from projections.rollup.figures import period_label
from services.api.routers.audit import AUDIT_ROLES

from . import formats
from .auth import PRESESSION_CSRF_COOKIE, current_person, presession_csrf, set_cookie
from .grids import rows_html
from .i18n import Translator, language

STATIC_DIR = Path(__file__).resolve().parent / "static"
FLASH_COOKIE = "thidua_flash"
FLASH_MESSAGES = {  # flash messages are keys of this table (never text from the cookie), with short values
    "signed_out": "Bạn đã đăng xuất.",
    "password_changed": "Đã đổi mật khẩu.",
    "language": "Đã chuyển ngôn ngữ.",
    "draft_saved": "Đã lưu bản nháp. Bản nháp chỉ mình bạn thấy và chưa được gửi.",
    "targets_registered": "Đã đăng ký {n} chỉ tiêu thi đua năm {year}.",
    "report_submitted": "Đã nộp báo cáo kỳ {period}.",
    "report_accepted": "Đã tiếp nhận báo cáo {report}.",
    "report_returned": "Đã trả lại báo cáo {report}.",
    "award_proposed": "Đã gửi đề nghị khen thưởng {proposal}.",
    "award_forwarded": "Đã trình đề nghị {proposal} lên bước tiếp theo.",
    "award_returned": "Đã trả lại đề nghị {proposal} cho đơn vị đề nghị.",
    "award_decided": "Đã ghi quyết định cho đề nghị {proposal}.",
}


def _versions() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in STATIC_DIR.iterdir() if p.is_file()}


class Pages:
    """Renders pages and fragments."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("services.web", "templates"),
            autoescape=select_autoescape(("html",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.versions = _versions()
        self.env.globals["static"] = self.static_url
        self.env.filters.update(FILTERS)
        self.env.globals["period_label"] = period_label
        self.env.globals["rows_html"] = rows_html

    def static_url(self, name: str) -> str:
        """``/static/<name>?v=<hash>``: cached for a year, a changed file gets a new URL."""
        return f"/static/{name}?v={self.versions.get(name, '0')}"

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """The page ``template`` for this request's person and language."""
        lang = language(request)
        values = layout(request, lang) | context
        response = HTMLResponse(self.env.get_template(template).render(values), status, headers)
        if values.get("csrf_cookie"):
            set_cookie(request, response, PRESESSION_CSRF_COOKIE, values["csrf_token"], path="/dang-nhap")
        if request.cookies.get(FLASH_COOKIE) and values.get("flash") is not None:
            response.delete_cookie(FLASH_COOKIE)
        return response


@pass_context
def _num(ctx: Context, value: float | None, digits: int = 0) -> str:
    return formats.number(value, ctx["lang"], digits)


@pass_context
def _pct(ctx: Context, ratio: float | None) -> str:
    return formats.percent(ratio, ctx["lang"])


@pass_context
def _days(ctx: Context, count: int | None) -> str:
    return formats.days(count, ctx["lang"])


FILTERS = {
    "num": _num,
    "pct": _pct,
    "days": _days,
    "day": formats.day,
    "moment": formats.moment,
    "pctval": formats.percent_value,
}


def layout(request: Request, lang: str) -> dict[str, Any]:
    """What every page's layout needs."""
    person = current_person(request)
    needs_form_cookie = person is None and request.url.path == "/dang-nhap"
    token = person.session.csrf_token if person else presession_csrf(request) if needs_form_cookie else ""
    return {
        "request": request,
        "lang": lang,
        "_": Translator(lang),
        "person": person,
        "csrf_token": token,
        "csrf_cookie": needs_form_cookie,
        "flash": flash_of(request),
        "path": request.url.path,
        "nav": navigation(person.principal.roles if person else frozenset()),
        "can_audit": bool(person and person.principal.roles & AUDIT_ROLES),
        "unit_name": request.app.state.web.unit_name(person.principal.path) if person else None,
    }


NAV = [
    ("/", "Trang chủ"),
    ("/tong-hop", "Tổng hợp"),
    ("/ke-hoach", "Kế hoạch"),
    ("/khen-thuong", "Khen thưởng"),
    ("/don-vi", "Đơn vị"),
    ("/hop-thu", "Hộp thư"),
]
AUDIT_NAV = ("/kiem-tra", "Kiểm tra")
REVIEW_NAV = ("/tiep-nhan-bao-cao", "Tiếp nhận báo cáo")


def navigation(roles: frozenset[str]) -> list[tuple[str, str]]:
    """The main navigation: Kiểm tra only for the roles that may read the audit pages."""
    return NAV + ([REVIEW_NAV] if "reviewer" in roles else []) + ([AUDIT_NAV] if roles & AUDIT_ROLES else [])


def flash(response: Response, key: str, **values: str) -> Response:
    """Show the message ``key`` (of FLASH_MESSAGES) on the next page."""
    payload = urlsafe_b64encode(json.dumps({"key": key, "values": values}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, payload, max_age=120, httponly=True, samesite="lax")
    return response


def flash_of(request: Request) -> dict[str, Any] | None:
    """The pending flash message (only known keys; values cut short)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(urlsafe_b64decode(raw.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("key") not in FLASH_MESSAGES:
        return None
    values = {str(k): str(v)[:200] for k, v in (data.get("values") or {}).items()}
    return {"text": FLASH_MESSAGES[data["key"]], "values": values}


def wants_fragment(request: Request, target: str) -> bool:
    """Whether htmx asked for the element ``target`` only (else the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == target


def no_store(response: Response) -> Response:
    """Pages with people's data are not kept by shared caches or the back button after sign-out."""
    response.headers["Cache-Control"] = "no-store"
    return response
