"""/metrics (Prometheus text): relay lag, consumer lag per partition, events applied per projection, dead letters."""

from services.pipeline.metrics import metrics_router as router

__all__ = ["router"]
