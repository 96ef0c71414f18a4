"""Error pages in Vietnamese (English switchable), never JSON in a browser: 403 with the rule that refused, 404,
422 for a bad address, 500 with an incident number for the help desk; no session goes to sign-in."""

from __future__ import annotations

import logging
import secrets
from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from services.api.problems import not_found, problem, status_of
from services.kernel.errors import ThiduaError

from .auth import PasswordChangeRequired, SignInRequired, sign_in_url
from .rendering import Pages

log = logging.getLogger("thidua.web")

TITLES = {
    400: "Yêu cầu không hợp lệ",
    403: "Không được phép truy cập",
    404: "Không tìm thấy trang",
    405: "Thao tác không hỗ trợ",
    409: "Dữ liệu đã thay đổi",
    413: "Tệp hoặc nội dung quá lớn",
    422: "Địa chỉ hoặc dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi hệ thống",
}
RULES = {  # the rule behind a 403, in words (its code is shown beside it for the help desk)
    "SUBTREE": "Mỗi người chỉ xem và thao tác trong phạm vi đơn vị của mình: đơn vị mình và các đơn vị trực thuộc.",
    "ROLE": "Mỗi thao tác cần một vai trò; tài khoản của bạn không có vai trò đó.",
    "CSRF": "Mọi biểu mẫu phải gửi từ chính trang của hệ thống, kèm mã chống giả mạo của phiên làm việc.",
}

PLAIN = (
    '<!doctype html><html lang="vi"><meta charset="utf-8"><title>{title}</title>'
    '<main><h1>{title}</h1><p>{vi}</p><p lang="en">{en}</p><p><a href="/">Trang chủ</a></p></main></html>'
)


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI, pages: Pages) -> None:
    """Map refusals, unknown pages, bad parameters and crashes to pages."""

    def page(request: Request, status: int, code: str, message: tuple[str, str], **extra: Any) -> Response:
        if request.url.path.startswith("/api/"):  # an API address no route answers: the API's own answer
            return not_found() if status == 404 else problem(status, code, code, f"{message[0]} / {message[1]}")
        context = {
            "status": status,
            "title": TITLES.get(status, "Lỗi"),
            "code": code,
            "message_vi": message[0],
            "message_en": message[1],
            "rule": extra.get("rule"),
            "rule_text": RULES.get(extra.get("rule", "")),
            "incident": extra.get("incident"),
        }
        try:
            response: Response = pages.render(request, "error.html", context, status)
        except Exception:
            log.exception("error page failed")
            response = HTMLResponse(
                PLAIN.format(title=escape(str(context["title"])), vi=escape(message[0]), en=escape(message[1])), status
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return _redirect(request, sign_in_url(request, exc.reason))

    @app.exception_handler(PasswordChangeRequired)
    async def _password(request: Request, _: PasswordChangeRequired) -> Response:
        return _redirect(request, "/doi-mat-khau")

    @app.exception_handler(ThiduaError)
    async def _refused(request: Request, exc: ThiduaError) -> Response:
        return page(request, status_of(exc), exc.code, (exc.message_vi, exc.message_en), **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in exc.errors())
        return page(request, 422, "VALIDATION_FAILED", (f"Tham số không hợp lệ: {fields}.", f"Invalid: {fields}."))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            vi, en = "Không có trang tại địa chỉ này.", "There is no page at this address."
            return page(request, 404, "NOT_FOUND", (vi, en))
        return page(request, exc.status_code, f"HTTP_{exc.status_code}", (str(exc.detail), str(exc.detail)))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        incident = secrets.token_hex(4).upper()
        log.error("web page failed: %s %s (incident %s)", request.method, request.url.path, incident, exc_info=exc)
        vi = f"Đã có lỗi khi tạo trang này. Xin thử lại; nếu vẫn lỗi, báo bộ phận hỗ trợ mã sự cố {incident}."
        en = f"Something went wrong building this page. Try again; if it persists, quote incident {incident}."
        return page(request, 500, "INTERNAL_ERROR", (vi, en), incident=incident)
