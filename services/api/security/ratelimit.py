"""Per-client token buckets: ``min(burst, per_minute)`` requests at once, refilled at ``per_minute`` / 60 per
second.

On the embedded default (SQLite: one API process) the buckets live in the process (:class:`RateLimiter`). On
PostgreSQL every API process of the node shares them (:class:`SharedRateLimiter`, table ``api_quota``): one atomic
``INSERT … ON CONFLICT DO UPDATE`` per request refills and takes from the bucket on the database's clock, so N
replicas give a client its quota once, not N times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Engine, Float, String, Table, text

from services.kernel.db import new_metadata

metadata = new_metadata()

api_quota = Table(
    "api_quota",
    metadata,
    Column("bucket", String(100), primary_key=True, comment="The client id whose quota this is."),
    Column("tokens", Float, nullable=False, comment="Requests left in the bucket at updated."),
    Column("updated", Float, nullable=False, comment="Database clock (Unix seconds) of the last take."),
    Column("allowed", Boolean, nullable=False, comment="Whether the last take found a token."),
    comment="Token buckets of the API's quotas, shared by every API process of the node (PostgreSQL only).",
)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by client id."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: int | None = None, local: bool = False) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until a token is back (``local``: the
        bucket stays in this process, whatever the limiter)."""
        rate = (per_minute or self.per_minute) / 60.0
        capacity = max(1.0, float(min(self.burst, per_minute or self.per_minute)))
        now = self.clock()
        with self._lock:
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._forget_idle(now)
            bucket = self._buckets.setdefault(key, _Bucket(capacity, now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate if rate > 0 else 60.0

    def _forget_idle(self, now: float) -> None:
        """Drop buckets idle long enough to be full again (bounds memory under many client ids)."""
        refill = 60.0 * self.burst / max(self.per_minute, 1)
        for key in [k for k, b in self._buckets.items() if now - b.updated >= refill]:
            del self._buckets[key]


_TAKE = text(
    """
    INSERT INTO api_quota AS q (bucket, tokens, updated, allowed)
    VALUES (:bucket, :capacity - 1, extract(epoch FROM clock_timestamp()), true)
    ON CONFLICT (bucket) DO UPDATE SET
        tokens = LEAST(:capacity, q.tokens + (extract(epoch FROM clock_timestamp()) - q.updated) * :rate)
                 - CASE WHEN LEAST(:capacity, q.tokens + (extract(epoch FROM clock_timestamp()) - q.updated) * :rate)
                             >= 1 THEN 1 ELSE 0 END,
        allowed = LEAST(:capacity, q.tokens + (extract(epoch FROM clock_timestamp()) - q.updated) * :rate) >= 1,
        updated = extract(epoch FROM clock_timestamp())
    RETURNING tokens, allowed
    """
)


class SharedRateLimiter(RateLimiter):
    """The buckets of client quotas in PostgreSQL (``api_quota``), shared by every API process of the node; keys
    that are not clients (``local``: the token endpoint's per-id buckets, whose ids callers choose) stay in the
    process, so no caller can grow the table."""

    def __init__(self, engine: Engine, per_minute: int, burst: int) -> None:
        super().__init__(per_minute, burst)
        self.engine = engine

    def take(self, key: str, per_minute: int | None = None, local: bool = False) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until a token is back."""
        if local:
            return super().take(key, per_minute)
        rate = (per_minute or self.per_minute) / 60.0
        capacity = max(1.0, float(min(self.burst, per_minute or self.per_minute)))
        with self.engine.begin() as conn:
            row = conn.execute(_TAKE, {"bucket": key, "capacity": capacity, "rate": rate}).one()
        if row.allowed:
            return 0.0
        return (1.0 - float(row.tokens)) / rate if rate > 0 else 60.0
