"""``GET /metrics`` (Prometheus): relay lag, consumer lag per partition, events applied per projection, dead
letters (read at scrape time), requests per route template and process metrics — the registry the app keeps in
``app.state.metrics`` (``services.api.httpmetrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.bootstrap import Node
from services.pipeline.metrics import exposition


def router(_node: Node) -> APIRouter:
    """The ``/metrics`` route."""
    metrics = APIRouter()

    @metrics.get("/metrics", tags=["ops"], response_class=Response, response_model=None)
    def get_metrics(request: Request) -> Response:
        """Prometheus metrics: relay lag, consumer lag per partition, events applied, dead letters, requests per
        route, process metrics (OpenMetrics when the scraper asks for it)."""
        body, content_type = exposition(request.app.state.metrics.registry, request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return metrics
