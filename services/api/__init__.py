"""HTTP API (FastAPI): health, problem+json errors and the read endpoints under ``/api/v1``."""
