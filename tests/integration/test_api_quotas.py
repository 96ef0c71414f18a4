"""Quotas shared by every API process of a node: on PostgreSQL the buckets are rows of
``api_quota`` taken from atomically; on SQLite (the embedded default: one process) they stay in the process."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from services.api.security import Security
from services.api.security.ratelimit import SharedRateLimiter
from services.kernel.settings import Settings


def test_concurrent_takes_from_one_bucket_never_exceed_it(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, node_id="p31", api_rate_limit_per_minute=600, api_rate_limit_burst=5)
    limiter = Security.for_node(settings, engine).limiter
    assert isinstance(limiter, SharedRateLimiter) == (engine.dialect.name == "postgresql")
    results: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(3):
            wait = limiter.take("c-lgsp", 6)  # a client's own quota: 6/min (one back every 10 s), burst min(5, 6)
            with lock:
                results.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed = sum(1 for w in results if w == 0.0)
    assert len(results) == 24 and 5 <= allowed <= 6, results  # the burst, and at most one refilled meanwhile
    assert all(0 < w <= 10 for w in results if w), results  # Retry-After: until the next token
    assert limiter.take("token:anyone", local=True) == 0.0  # ids callers choose stay in the process
