"""RFC 7807 problem+json responses, Vietnamese first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from services.kernel.errors import Kind, ThiduaError

from .refusals import codes_for

PROBLEM_TYPE_BASE = "https://thidua-sync.example/problems/"
PROBLEM_JSON = "application/problem+json"
STATUS = {  # the HTTP status of each kind of refusal: the one place a domain error meets HTTP
    Kind.UNREADABLE: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.INVALID: 422,
    Kind.RATE_LIMITED: 429,
    Kind.DEFECT: 500,
}

# Vietnamese for the validation errors pydantic reports (its ``type``); English stays pydantic's own message.
FIELD_MESSAGES_VI = {
    "missing": "Thiếu trường bắt buộc",
    "extra_forbidden": "Trường không được phép",
    "string_type": "Phải là chuỗi ký tự",
    "string_too_short": "Chuỗi quá ngắn",
    "string_too_long": "Chuỗi quá dài",
    "string_pattern_mismatch": "Chuỗi sai định dạng",
    "int_type": "Phải là số nguyên",
    "int_parsing": "Phải là số nguyên",
    "int_from_float": "Phải là số nguyên",
    "float_type": "Phải là số",
    "float_parsing": "Phải là số",
    "finite_number": "Phải là số hữu hạn",
    "bool_type": "Phải là true hoặc false",
    "bool_parsing": "Phải là true hoặc false",
    "date_type": "Ngày không hợp lệ (YYYY-MM-DD)",
    "date_parsing": "Ngày không hợp lệ (YYYY-MM-DD)",
    "date_from_datetime_parsing": "Ngày không hợp lệ (YYYY-MM-DD)",
    "date_from_datetime_inexact": "Ngày không được có giờ",
    "datetime_type": "Thời điểm không hợp lệ (ISO 8601)",
    "datetime_parsing": "Thời điểm không hợp lệ (ISO 8601)",
    "datetime_from_date_parsing": "Thời điểm không hợp lệ (ISO 8601)",
    "timezone_aware": "Thời điểm phải có múi giờ",
    "literal_error": "Giá trị không thuộc danh sách cho phép",
    "enum": "Giá trị không thuộc danh sách cho phép",
    "greater_than": "Giá trị quá nhỏ",
    "greater_than_equal": "Giá trị quá nhỏ",
    "less_than": "Giá trị quá lớn",
    "less_than_equal": "Giá trị quá lớn",
    "too_short": "Quá ít phần tử",
    "too_long": "Quá nhiều phần tử",
    "list_type": "Phải là danh sách",
    "dict_type": "Phải là đối tượng JSON",
    "model_type": "Phải là đối tượng JSON",
    "model_attributes_type": "Phải là đối tượng JSON",
    "json_invalid": "JSON không hợp lệ",
    "json_type": "JSON không hợp lệ",
    "value_error": "Giá trị không hợp lệ",
    "url_parsing": "URL không hợp lệ",
    "url_scheme": "URL phải là http hoặc https",
}


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="Vị trí của trường (body.title, query.limit) / where the field is")
    code: str = Field(description="Mã lỗi ổn định (kiểu lỗi của pydantic) / stable error code")
    message_vi: str = Field(description="Thông báo tiếng Việt / Vietnamese message")
    message: str = Field(description="Thông báo tiếng Anh / English message")


class Problem(BaseModel):
    """RFC 7807 problem details with a stable ``code``; the facts that decided it may follow as extra members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI của loại lỗi / problem type URI")
    title: str = Field(description="Tiêu đề tiếng Việt / Vietnamese title")
    status: int = Field(description="Mã trạng thái HTTP / HTTP status")
    detail: str = Field(description="Chi tiết, tiếng Việt trước / detail, Vietnamese first")
    code: str = Field(description="Mã lỗi ổn định, ví dụ OUT_OF_SUBTREE / stable code")
    errors: list[FieldError] | None = Field(None, description="Lỗi theo từng trường (422) / per-field errors (422)")


def problem(
    status: int, code: str, title: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response with a stable ``code``."""
    body = {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def not_found() -> JSONResponse:
    """404 NOT_FOUND: no route answers this address."""
    return problem(404, "NOT_FOUND", "Không tìm thấy", "Không tìm thấy tài nguyên / Resource not found")


def malformed_body() -> JSONResponse:
    """400 MALFORMED_BODY: the body is not JSON (a syntax error, bad UTF-8, nested too deep)."""
    return problem(
        400,
        "MALFORMED_BODY",
        "Không đọc được nội dung yêu cầu",
        "Nội dung yêu cầu không phải JSON UTF-8 hợp lệ; sửa cú pháp rồi gửi lại / The request body is not valid "
        "UTF-8 JSON; fix its syntax and send it again",
    )


def status_of(exc: ThiduaError) -> int:
    """The HTTP status of a refusal, by its kind."""
    return STATUS[exc.kind]


def domain_problem(exc: ThiduaError) -> JSONResponse:
    """The problem+json of a refusal (with its headers, e.g. Retry-After or WWW-Authenticate)."""
    headers = getattr(exc, "headers", None)
    return problem(status_of(exc), exc.code, exc.message_vi, exc.message, headers, **exc.details)


def field_errors(errors: Any) -> list[dict[str, str]]:
    """Per-field errors of a pydantic validation, Vietnamese first."""
    return [
        {
            "field": ".".join(str(p) for p in e["loc"]),
            "code": e["type"],
            "message_vi": FIELD_MESSAGES_VI.get(e["type"], "Giá trị không hợp lệ"),
            "message": e["msg"],
        }
        for e in errors
    ]


def install(app: FastAPI) -> None:
    """Map domain errors, validation errors and HTTP errors to problem+json."""

    @app.exception_handler(ThiduaError)
    async def _domain(_: Request, exc: ThiduaError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return malformed_body()  # not JSON at all: nothing to point a field at
        return problem(
            422,
            "VALIDATION_FAILED",
            "Dữ liệu không hợp lệ",
            "Dữ liệu không hợp lệ / Invalid request data",
            errors=field_errors(exc.errors()),
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return not_found()
        if exc.status_code == 400:
            return malformed_body()
        if exc.status_code == 413:
            return problem(413, "PAYLOAD_TOO_LARGE", "Nội dung yêu cầu quá lớn", str(exc.detail))
        return problem(exc.status_code, f"HTTP_{exc.status_code}", str(exc.detail), str(exc.detail), exc.headers)


RESPONSE_TEXT = {
    400: "Yêu cầu không đọc được: nội dung không phải JSON UTF-8, tham số chứa ký tự điều khiển, con trỏ phân trang "
    "không hợp lệ, grant_type không hỗ trợ / unreadable request: body not UTF-8 JSON, a parameter with a control "
    "character, an invalid pagination cursor, an unsupported grant_type",
    401: "Thiếu, sai, hết hạn hoặc đã thu hồi mã truy cập / missing, invalid, expired or revoked token",
    403: "Không được phép: ngoài phạm vi đơn vị (OUT_OF_SUBTREE), thiếu vai trò (ROLE_NOT_ALLOWED) hoặc sai thẩm "
    "quyền; quy tắc ở trường 'rule' / forbidden: outside the caller's subtree, without the role, or without the "
    "authority; the rule is in 'rule'",
    404: "Không tìm thấy / not found",
    409: "Xung đột: phiên bản (If-Match), trạng thái hoặc đã tồn tại / conflict: version (If-Match), state, "
    "or already exists",
    413: "Nội dung yêu cầu quá lớn / request body too large",
    422: "Dữ liệu không hợp lệ (lỗi theo từng trường) hoặc bị quy tắc nghiệp vụ từ chối / invalid data "
    "(per-field errors) or refused by a rule",
    429: "Vượt hạn mức yêu cầu; thử lại sau Retry-After giây / quota exceeded; retry after Retry-After seconds",
    503: "Tạm thời chưa trả lời được; thử lại sau Retry-After giây / temporarily unavailable; retry after Retry-After",
}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"description": 'Bearer realm="thidua"', "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Giây phải chờ / seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Giây phải chờ / seconds to wait", "schema": {"type": "integer"}}},
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json answers with these statuses."""
    return {
        status: {
            "description": f"{RESPONSE_TEXT[status]}. Mã / codes (docs/api.md): {', '.join(codes_for(status))}",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
            **({"headers": RESPONSE_HEADERS[status]} if status in RESPONSE_HEADERS else {}),
        }
        for status in statuses
    }


READ_RESPONSES = problem_responses(400, 401, 403, 404, 422, 429, 503)
WRITE_RESPONSES = problem_responses(400, 401, 403, 404, 409, 413, 422, 429)
