"""RFC 7807 problem+json responses, Vietnamese first."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.kernel.errors import ThiduaError

PROBLEM_TYPE_BASE = "https://thidua-sync.example/problems/"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response with a stable ``code``."""
    body = {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    """Map domain errors, validation errors and HTTP errors to problem+json."""

    @app.exception_handler(ThiduaError)
    async def _domain(_: Request, exc: ThiduaError) -> JSONResponse:
        return problem(exc.http_status, exc.code, exc.message_vi, exc.message, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return problem(
            422,
            "VALIDATION_FAILED",
            "Dữ liệu không hợp lệ",
            "Dữ liệu không hợp lệ / Invalid request data",
            errors=errors,
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem(404, "NOT_FOUND", "Không tìm thấy", "Không tìm thấy tài nguyên / Resource not found")
        return problem(exc.status_code, f"HTTP_{exc.status_code}", str(exc.detail), str(exc.detail))
