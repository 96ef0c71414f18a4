"""The HTTP API's metrics: requests and their latency per route template (``/api/v1/awards/{proposal_id}``, never
the raw path, so the series stay few), beside the pipeline collector and the process metrics, in one registry per
app (``app.state.metrics``, served by ``GET /metrics``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.pipeline.metrics import PipelineMetrics, process_registry

if TYPE_CHECKING:
    from services.bootstrap import Node

UNMATCHED = "<unmatched>"  # a path no route answers (404): one series for all of them
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """One app's registry: pipeline figures read at scrape time, process metrics, and the request metrics."""

    def __init__(self, node: Node) -> None:
        self.registry: CollectorRegistry = process_registry(PipelineMetrics.for_node(node))
        self.requests = Counter(
            "thidua_http_requests",
            "HTTP requests answered, per method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "thidua_http_request_duration_seconds",
            "Time to answer an HTTP request, per method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class RequestMetrics:
    """ASGI middleware timing every HTTP request, labelled with the template of the route that answered it."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(scope["method"], route_template(scope), status, time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (Starlette records it in the scope; older versions do not,
    then the app's routes are matched again), or ``<unmatched>``."""
    route: Any = scope.get("route")
    if route is None:
        for candidate in scope["app"].router.routes if "app" in scope else []:
            if candidate.matches(scope)[0] == Match.FULL:
                route = candidate
                break
    return str(getattr(route, "path", None) or UNMATCHED)
