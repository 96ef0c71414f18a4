"""The web app's pages, one router per module (``router``), in name order; shared helpers below."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from services.web.grids import CSV, XLSX, Grid, to_csv, to_xlsx
from services.web.i18n import Translator, language

if TYPE_CHECKING:
    from services.web.app import Web


def routers() -> list[APIRouter]:
    """``router`` of every module of this package."""
    modules = sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    return [importlib.import_module(f"{__name__}.{m.name}").router for m in modules]


def web_of(request: Request) -> Web:
    """The web app's shared services."""
    return request.app.state.web  # type: ignore[no-any-return]


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A page of people's data (never kept in shared caches)."""
    response = web_of(request).pages.render(request, template, context, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def export(request: Request, grid: Grid, fmt: str, name: str) -> Response:
    """``grid`` as an XLSX or CSV download (404 for any other format)."""
    from fastapi import HTTPException

    _ = Translator(language(request))
    if fmt == "xlsx":
        body, media = to_xlsx(grid, _), XLSX
    elif fmt == "csv":
        body, media = to_csv(grid, _), CSV
    else:
        raise HTTPException(404)
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"', "Cache-Control": "no-store"}
    return Response(body, media_type=media, headers=headers)
