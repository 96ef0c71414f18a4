"""Per-client token buckets: ``min(burst, per_minute)`` requests at once, refilled at ``per_minute`` / 60 per
second.

On the embedded default (SQLite: one API process) the buckets live in the process (:class:`RateLimiter`). On
PostgreSQL every API process of the node shares them (:class:`SharedRateLimiter`, table ``api_quota``): one atomic
``INSERT … ON CONFLICT DO UPDATE`` refills and takes from the bucket on the database's clock, so N replicas give a
client its quota once, not N times. A process takes a **lease** of ``capacity // 10`` tokens at once (one statement
for that many requests; a single token when the bucket holds fewer, and for buckets under 20 nothing changes) and
spends it within :data:`LEASE_SECONDS`; what it did not spend goes back into the bucket with its next take. Every
request allowed is a token taken from the shared bucket, so the quota is never exceeded; a lease held by one process
can make another refuse a few requests early (at most the lease less one, per other process, for a second).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, Engine, Float, String, Table, text

from services.kernel.db import new_metadata

from .errors import WouldBlock

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

    def take(self, key: str, per_minute: int | None = None, local: bool = False, blocking: bool = True) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until a token is back (``local``: the
        bucket stays in this process, whatever the limiter; these buckets never block)."""
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


LEASE_SECONDS = 1.0  # a lease not spent by then goes back to the shared bucket at the process's next take
LEASE_FRACTION = 10  # a lease is this fraction of the bucket's capacity (1 token below 20)

_TAKE = text(
    """
    INSERT INTO api_quota AS q (bucket, tokens, updated, allowed)
    VALUES (:bucket, :capacity - :lease, extract(epoch FROM clock_timestamp()), true)
    ON CONFLICT (bucket) DO UPDATE SET
        tokens = LEAST(:capacity, q.tokens + :returned + (extract(epoch FROM clock_timestamp()) - q.updated) * :rate)
                 - CASE WHEN LEAST(:capacity, q.tokens + :returned
                                   + (extract(epoch FROM clock_timestamp()) - q.updated) * :rate)
                             >= :lease THEN :lease ELSE 0 END,
        allowed = LEAST(:capacity, q.tokens + :returned + (extract(epoch FROM clock_timestamp()) - q.updated) * :rate)
                  >= :lease,
        updated = extract(epoch FROM clock_timestamp())
    RETURNING tokens, allowed
    """
)


@dataclass
class _Lease:
    tokens: int  # taken from the shared bucket, not yet spent
    until: float  # monotonic time after which they go back


class SharedRateLimiter(RateLimiter):
    """The buckets of client quotas in PostgreSQL (``api_quota``), shared by every API process of the node and taken
    from in leases (see the module); keys that are not clients (``local``: the token endpoint's per-id buckets, whose
    ids callers choose) stay in the process, so no caller can grow the table."""

    def __init__(self, engine: Engine, per_minute: int, burst: int, lease_seconds: float = LEASE_SECONDS) -> None:
        super().__init__(per_minute, burst)
        self.engine = engine
        self.lease_seconds = lease_seconds
        self._leases: dict[str, _Lease] = {}
        self.statements = 0  # takes that went to the database (tests, benchmarks)

    def take(self, key: str, per_minute: int | None = None, local: bool = False, blocking: bool = True) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until a token is back (unless ``blocking``,
        :class:`WouldBlock` when that needs the database: no token of this process's lease left)."""
        if local:
            return super().take(key, per_minute)
        rate = (per_minute or self.per_minute) / 60.0
        capacity = max(1.0, float(min(self.burst, per_minute or self.per_minute)))
        now = self.clock()
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease.tokens > 0 and now < lease.until:
                lease.tokens -= 1
                return 0.0
            if not blocking:
                raise WouldBlock
            self._leases.pop(key, None)
        returned = lease.tokens if lease is not None else 0
        size = max(1, int(capacity) // LEASE_FRACTION)
        row = self._take(key, capacity, rate, size, returned)
        if not row.allowed and size > 1:  # fewer left than a lease: one token, as a process without leases would
            size, row = 1, self._take(key, capacity, rate, 1, 0)
        if row.allowed:
            if size > 1:
                with self._lock:  # another thread may have leased meanwhile: keep both
                    held = self._leases.setdefault(key, _Lease(0, now + self.lease_seconds))
                    held.tokens += size - 1
            return 0.0
        return (1.0 - float(row.tokens)) / rate if rate > 0 else 60.0

    def _take(self, key: str, capacity: float, rate: float, lease: int, returned: int) -> Any:
        """One atomic take of ``lease`` tokens from the shared bucket, giving back ``returned`` first."""
        self.statements += 1
        params = {"bucket": key, "capacity": capacity, "rate": rate, "lease": lease, "returned": returned}
        with self.engine.begin() as conn:
            return conn.execute(_TAKE, params).one()
