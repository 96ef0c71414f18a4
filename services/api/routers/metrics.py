"""/metrics (Prometheus text): relay lag, consumer lag per partition, events applied per projection, dead letters."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from services.bootstrap import Node
from services.pipeline.metrics import metrics_router


def router(node: Node) -> APIRouter:
    """The pipeline's public ``GET /metrics``, without a response model: it answers Prometheus text.

    Its endpoint is annotated ``-> Response`` with postponed annotations and a function-local import, which FastAPI
    cannot resolve; left as a response field, that unresolved reference breaks ``/openapi.json``.
    """
    api = metrics_router(node)
    for route in api.routes:
        if isinstance(route, APIRoute):
            route.response_model = None
            route.response_field = None
    return api
