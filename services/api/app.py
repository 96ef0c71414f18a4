"""The node's HTTP application; the embedded default also runs the projection tail in-process."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from projections.orgunits import queries
from services.bootstrap import Node
from services.kernel.adminunits import UnitType
from services.kernel.errors import UnknownOrgUnit
from services.registry.handlers import SUBJECT_CATEGORIES, UNIT_KINDS

from . import problems
from .labels import LEVELS, label


def create_app(node: Node, run_projections: bool = True) -> FastAPI:
    """Build the FastAPI app for ``node``; with ``run_projections`` the embedded tail runs in a thread."""
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        node.init_db()
        worker = None
        if run_projections:
            worker = threading.Thread(
                target=node.runner.run_forever,
                args=(stop, node.settings.projection_poll_seconds),
                name="projection-tail",
                daemon=True,
            )
            worker.start()
        try:
            yield
        finally:
            stop.set()
            node.runner.wakeup.set()
            if worker:
                worker.join(timeout=10)
            node.close()

    app = FastAPI(
        title="thidua-sync",
        version="0.1.0",
        lifespan=lifespan,
        description="Đồng bộ dữ liệu thi đua, khen thưởng giữa các cấp / "
        "Emulation and commendation data sync between administrative levels",
    )
    problems.install(app)

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
            return JSONResponse({"status": "ready", "projection_lag": node.runner.lag()})
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

    @app.get("/api/v1/org-units/{code}", tags=["org-units"])
    def get_org_unit(code: str) -> dict[str, Any]:
        """One org unit by code (official province/commune code, unit code, or VN for central), with ancestors."""
        with node.engine.connect() as conn:
            unit = _unit(conn, code)
            unit["ancestors"] = [_unit_json(a) for a in queries.ancestors(conn, unit["path"])]
        return _unit_json(unit)

    @app.get("/api/v1/org-units/{code}/children", tags=["org-units"])
    def get_children(code: str) -> dict[str, Any]:
        """Direct children of an org unit, ordered by code."""
        with node.engine.connect() as conn:
            parent = _unit(conn, code)["path"]
            items = queries.children(conn, parent)
        return {"parent_path": parent, "items": [_unit_json(r) for r in items]}

    for make_router in routers():
        app.include_router(make_router(node))
    return app


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
