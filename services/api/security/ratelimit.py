"""Per-client token buckets: ``burst`` requests at once, refilled at ``per_minute`` / 60 per second.

The buckets live in the API process: behind several API replicas each replica enforces the quota on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


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

    def take(self, key: str, per_minute: int | None = None) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until a token is back."""
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
