"""Signatures of deliveries: HMAC-SHA256 with the subscription's secret over ``<timestamp>.<body>``.

A receiver recomputes ``sha256=`` + hex(HMAC(secret, timestamp + "." + body)) from the ``X-Thidua-Timestamp``
header and the raw body, compares in constant time, and rejects timestamps too far from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Thidua-Signature"
TIMESTAMP_HEADER = "X-Thidua-Timestamp"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signature`` signs ``body`` at ``timestamp`` and the timestamp is recent."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
