"""The node's HTTP application; the embedded default also runs the projection tail in-process."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from projections.orgunits import queries
from services.bootstrap import Node
from services.kernel.adminunits import UnitType
from services.kernel.errors import UnknownOrgUnit
from services.kernel.labels import LEVELS, SUBJECT_CATEGORIES, UNIT_KINDS, label
from services.kernel.settings import ApiSettings

from . import docs_ui, problems
from .asof import ReadAt, make_cache
from .httpmetrics import ApiMetrics, RequestMetrics
from .limits import BodyLimit, ParameterGuard
from .pagination import CursorCodec
from .security import Caller, Security, current_principal, require_sees, require_within
from .security.clients import revoked_client_ids

DESCRIPTION = """Đồng bộ dữ liệu thi đua, khen thưởng giữa các cấp / Emulation and commendation data sync between
administrative levels.

**Truy cập / access**: lấy mã truy cập tại `POST /api/v1/token` (client credentials: AccessKey = `client_id`,
SecretKey = `client_secret`), gửi `Authorization: Bearer <token>`. Mỗi bên gọi chỉ đọc và thao tác trong phạm vi
đơn vị của mình, với các vai trò mã truy cập ghi nhận / get a token at `POST /api/v1/token` and send it as a bearer
token; a caller reads and acts only within its org unit's subtree, with the roles its token names.
401: mã truy cập sai, hết hạn / bad or expired token; 403: ngoài phạm vi hoặc thiếu vai trò (quy tắc trong `rule`) /
outside the subtree or without the role; 429: vượt hạn mức, xem `Retry-After` / over quota.

**Lệnh / commands** trả 201 với mã sự kiện và phiên bản luồng (`ETag`); `If-Match` kiểm tra phiên bản (409 khi
lệch); `Idempotency-Key` cho phép gửi lại an toàn / answer 201 with the event ids and the stream version (`ETag`);
`If-Match` checks the version (409 on conflict); `Idempotency-Key` makes retries safe."""


def create_app(node: Node[ApiSettings], run_projections: bool = True, run_webhooks: bool | None = None) -> FastAPI:
    """Build the FastAPI app for ``node``; with ``run_projections`` the embedded tail runs in a thread, and so
    does the builder of read models whose live tables hold another version (blue/green, ``projections.bluegreen``).
    Starting refuses a database at another schema revision (``DatabaseNotCurrent``: run ``thidua db upgrade``).

    The webhook reactor (``run_webhooks``, default: the setting ``webhooks_enabled``) runs only while the app
    serves, never in replays or rebuilds. Building the app touches no file and no database.
    """
    stop = threading.Event()
    webhooks = node.settings.webhooks_enabled if run_webhooks is None else run_webhooks
    asof = make_cache(node)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        node.open_db()
        asof.start()  # drops the as-of rebuilds an earlier run left
        threads = []
        if run_projections:
            threads.append(
                _thread(node.runner.run_forever, stop, node.settings.projection_poll_seconds, "projection-tail")
            )
            threads.append(_builder(node, stop))
        dispatcher = _dispatcher(node) if webhooks else None
        if dispatcher is not None:
            node.bus.after_commit.append(dispatcher.wakeup.set)
            threads.append(_thread(dispatcher.run_forever, stop, node.settings.webhook_poll_seconds, "webhooks"))
        try:
            yield
        finally:
            stop.set()
            node.runner.wakeup.set()
            if dispatcher is not None:
                dispatcher.wakeup.set()
                node.bus.after_commit.remove(dispatcher.wakeup.set)
            for thread in threads:
                thread.join(timeout=10)
            if dispatcher is not None:
                dispatcher.close()
            asof.close()
            app.state.security.clients.close()
            node.close()

    app = FastAPI(
        title="thidua-sync",
        version="0.1.0",
        lifespan=lifespan,
        description=DESCRIPTION,
        docs_url=None,  # /docs and /redoc come from docs_ui: assets served by the node, no CDN
        redoc_url=None,
    )
    docs_ui.install(app)
    app.state.node = node
    app.state.asof = asof
    app.state.cursors = CursorCodec(node.engine)
    app.state.security = Security.for_node(node.settings, node.engine)
    app.state.metrics = ApiMetrics(node)  # served by GET /metrics (routers/metrics.py)
    app.add_middleware(BodyLimit, max_bytes=node.settings.api_max_body_bytes)
    app.add_middleware(ParameterGuard)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)  # outermost: times every answer, 413s included
    problems.install(app)

    @app.exception_handler(SQLAlchemyError)
    async def _rebuilding(_: Any, exc: SQLAlchemyError) -> JSONResponse:
        """A query the live tables of a read model being rebuilt blue/green cannot answer (its columns changed):
        503 until the new version is switched in; any other database failure stays a 500."""
        stale = node.runner.stale()
        if not stale:
            raise exc
        return problems.problem(
            503,
            "READ_MODEL_REBUILDING",
            "Dữ liệu đang được dựng lại",
            f"Dữ liệu tổng hợp đang được dựng lại theo phiên bản mới ({', '.join(p.name for p in stale)}); thử lại "
            "sau ít phút / Read models being rebuilt to their new version; retry in a moment.",
            {"Retry-After": "5"},
        )

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "node_id": node.settings.node_id}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        """Readiness: the database answers; reports projection lag."""
        try:
            with node.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            rebuilding = [p.name for p in node.runner.stale()]  # blue/green: the old version answers meanwhile
            return JSONResponse({"status": "ready", "projection_lag": node.runner.lag(), "rebuilding": rebuilding})
        except SQLAlchemyError as exc:  # the database is down or unreachable
            return problems.problem(
                503,
                "NOT_READY",
                "Chưa sẵn sàng",
                f"Cơ sở dữ liệu không phản hồi / Database not reachable: {type(exc).__name__}",
            )

    def _unit(conn: Connection, code: str) -> dict[str, Any]:
        unit = queries.by_code(conn, code)
        if unit is None:
            raise UnknownOrgUnit(code)
        return unit

    protected = {
        "tags": ["org-units"],
        "responses": problems.READ_RESPONSES,
        "dependencies": [Depends(current_principal)],
    }

    @app.get("/api/v1/org-units/{code}", **protected)  # type: ignore[arg-type]
    def get_org_unit(code: str, principal: Caller, reading: ReadAt) -> dict[str, Any]:
        """One org unit by code (official province/commune code, unit code, or VN for central), with ancestors.

        Readable: the caller's subtree and the units above it.
        """
        with reading.connect() as conn:
            unit = _unit(conn, code)
            require_sees(principal, unit["path"])
            unit["ancestors"] = [_unit_json(a) for a in queries.ancestors(conn, unit["path"])]
        return reading.stamp(_unit_json(unit))

    @app.get("/api/v1/org-units/{code}/children", **protected)  # type: ignore[arg-type]
    def get_children(code: str, principal: Caller, reading: ReadAt) -> dict[str, Any]:
        """Direct children of an org unit in the caller's subtree, ordered by code."""
        with reading.connect() as conn:
            parent = _unit(conn, code)["path"]
            require_within(principal, parent)
            items = queries.children(conn, parent)
        return reading.stamp({"parent_path": parent, "items": [_unit_json(r) for r in items]})

    for make_router in routers():
        app.include_router(make_router(node))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _thread(target: Any, stop: threading.Event, poll: float, name: str) -> threading.Thread:
    thread = threading.Thread(target=target, args=(stop, poll), name=name, daemon=True)
    thread.start()
    return thread


def _builder(node: Node, stop: threading.Event) -> threading.Thread:
    """Build the read models whose live tables hold another version; the tail takes each up once switched."""

    def build() -> None:
        node.builder().run_pending(node.projections, stop, on_switch=lambda _: node.runner.wakeup.set())

    thread = threading.Thread(target=build, name="readmodel-builder", daemon=True)
    thread.start()
    return thread


def _dispatcher(node: Node[ApiSettings]) -> Any:
    from services.webhooks.dispatcher import WebhookDispatcher

    return WebhookDispatcher(node.engine, node.store, node.codec, node.settings, revoked_clients=revoked_client_ids())


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the problem+json schemas the error responses refer to."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        found = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(found.pop("$defs", {}))
        components["Problem"] = found
        app.openapi_schema = schema
    return app.openapi_schema


def routers() -> list[Any]:
    """``router(node)`` of every module in ``services/api/routers``, in name order."""
    from . import routers as package

    modules = sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
    return [importlib.import_module(f"{package.__name__}.{m.name}").router for m in modules]


UNIT_TYPE_LABELS = {**{t.value: t.label for t in UnitType}, **UNIT_KINDS, "CENTRAL": "Trung ương"}


def _unit_json(row: dict[str, Any]) -> dict[str, Any]:
    row["level_label"] = label(LEVELS, row["level"])
    row["unit_type_label"] = label(UNIT_TYPE_LABELS, row["unit_type"])
    row["subject_category_label"] = label(SUBJECT_CATEGORIES, row.get("subject_category"))
    if row.get("valid_from") is not None:
        row["valid_from"] = row["valid_from"].isoformat()
    return row
