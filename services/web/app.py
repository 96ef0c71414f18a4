"""The web app as a sub-application mounted at ``/`` of the node's FastAPI app (after the API's routes, so
``/api/v1``, ``/healthz`` and the API's documents keep their addresses): its own pages, error pages, compression
and security headers; the same node, read models and access rules as the API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.orgunits import queries as orgunits
from projections.rollup.codes import CodeCatalog
from services.api.pagination import CursorCodec
from services.awards import AuthorityMatrix, load_authority_matrix
from services.bootstrap import Node
from services.kernel.orgpaths import OrgPath
from services.kernel.settings import ApiSettings

from . import errors
from .auth import Accounts, csrf_protect
from .drafts import Drafts
from .live import LiveFeed
from .pages import routers
from .rendering import STATIC_DIR, Pages

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        (
            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        ),
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


@dataclass
class Web:
    """What the pages share: the node, templates, accounts and the live feed."""

    node: Node[ApiSettings]
    pages: Pages
    accounts: Accounts
    live: LiveFeed
    matrix: AuthorityMatrix
    codes: CodeCatalog
    drafts: Drafts
    names: dict[str, str] = field(default_factory=dict)

    def unit_name(self, path: str) -> str:
        """The name of the org unit at ``path`` (read once, then kept: names of units rarely change)."""
        if path not in self.names:
            with self.node.engine.connect() as conn:
                found = orgunits.by_code(conn, OrgPath(path).code)
            self.names[path] = found["name"] if found else path
        return self.names[path]


class SecurityHeaders:
    """Adds the security headers to every response of the web app, and ``Server-Timing`` (the server's time up to
    the response's start: the whole page for a rendered page) for the browser's developer tools and benchmarks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, adding the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                spent = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS, (b"server-timing", spent)]
            await send(message)

        await self.app(scope, receive, with_headers)


class Assets(StaticFiles):
    """The vendored scripts and the style sheet: addressed with ``?v=<hash>``, cached for a year."""

    def file_response(self, *args: Any, **kwargs: Any) -> Any:
        """The file, with a long cache lifetime."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def build(node: Node[ApiSettings], live_from_runner: bool = True) -> FastAPI:
    """The web sub-application of ``node`` (touches no database until it serves)."""
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(csrf_protect)])
    pages = Pages()
    accounts = Accounts.for_settings(node.settings, node.engine)
    live = LiveFeed(node, node.settings.web_live_poll_seconds, live_from_runner)
    web.state.node, web.state.pages, web.state.accounts = node, pages, accounts
    web.state.cursors = CursorCodec(node.engine)  # the API's cursors: the same secret, from the database
    web.state.web = Web(node, pages, accounts, live, load_authority_matrix(), CodeCatalog(), Drafts(node.engine))
    web.add_middleware(GZipMiddleware, minimum_size=500)
    web.add_middleware(SecurityHeaders)
    errors.install(web, pages)
    for router in routers():
        web.include_router(router)
    web.mount("/static", Assets(directory=STATIC_DIR), name="static")
    return web


def mount(app: FastAPI, node: Node[ApiSettings], live_from_runner: bool = True) -> FastAPI:
    """Serve the web app at ``/`` of ``app`` (the API's). Its tables are operations tables (``accounts.tables``), made
    by ``thidua db upgrade`` like the API's: the API's start refuses a database at another revision."""
    web = build(node, live_from_runner)
    app.mount("/", web)
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(parent: FastAPI) -> AsyncIterator[None]:
        async with serve(parent):  # the API's start: database, read models, projection tail
            yield
            web.state.web.live.stop()

    app.router.lifespan_context = lifespan
    return web
