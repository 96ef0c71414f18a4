"""Quotas shared by every API process of a node: on PostgreSQL the buckets are rows of ``api_quota`` taken from
atomically, in leases of a tenth of the bucket that never add up to more than the bucket and go back when not spent
in time; on SQLite (the embedded default: one process) they stay in the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.api.security import Security
from services.api.security.ratelimit import SharedRateLimiter
from services.kernel.settings import Settings
from services.migrations import upgrade
from tests.conftest import _postgres_engine


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


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """A fresh PostgreSQL schema at the head (the shared buckets are PostgreSQL's; SQLite has one API process)."""
    for engine in _postgres_engine(postgres_url):
        upgrade(engine)
        yield engine


def test_two_processes_leasing_from_one_bucket_allow_exactly_its_capacity(pg_engine: Engine) -> None:
    a, b = SharedRateLimiter(pg_engine, 60, 60), SharedRateLimiter(pg_engine, 60, 60)  # two processes, capacity 60
    started = time.monotonic()
    answers = [(a, b)[i % 2].take("c-lgsp") for i in range(60)]
    assert a.statements + b.statements == 10  # a statement per lease of 6, not one per request
    answers += [(a, b)[i % 2].take("c-lgsp") for i in range(40)]
    refilled = (time.monotonic() - started) * 1.0  # 60/min: one token back a second
    allowed = sum(1 for w in answers if w == 0.0)
    assert 60 <= allowed <= 60 + refilled + 1, answers  # the bucket once, not once per process
    assert answers[:60] == [0.0] * 60  # leases of 6: each process spends its own, none is refused early


def test_a_lease_not_spent_in_time_goes_back_to_the_bucket(pg_engine: Engine) -> None:
    a, b = (SharedRateLimiter(pg_engine, 60, 60, lease_seconds=0) for _ in range(2))
    started = time.monotonic()
    answers = [(a, b)[i % 2].take("c-lgsp") for i in range(100)]  # every lease expires at once: 5 go back each time
    refilled = time.monotonic() - started
    allowed = sum(1 for w in answers if w == 0.0)
    assert 60 <= allowed <= 60 + refilled + 1, answers  # nothing leased is lost (without returns: 10 allowed)
