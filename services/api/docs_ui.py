"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from assets the node serves itself, so both work on a network with
no internet (provincial networks often are). The assets are the npm packages' own files, vendored with their
licences in ``static/docs/`` (``VENDORED.md``; refreshed by ``infra/vendor-docs-ui.sh``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "docs"
ASSETS_URL = "/docs-assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    """Serve ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and their assets (create the app with
    ``docs_url=None, redoc_url=None``: FastAPI's own pages load their scripts from a public CDN)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    title = f"{app.title} — API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/swagger-ui/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters={"validatorUrl": None},  # else Swagger UI asks validator.swagger.io for a badge
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            redoc_js_url=f"{ASSETS_URL}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
