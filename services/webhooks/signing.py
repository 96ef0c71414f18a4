"""Signatures of deliveries, by the Standard Webhooks specification (https://www.standardwebhooks.com/), so that
receivers use ready-made verifiers (the ``standardwebhooks`` packages for Python, JavaScript, Go, Java, C#, …):

* ``webhook-id``: the delivery's id (the same on every retry of it: deduplicate by it, or by the event id);
* ``webhook-timestamp``: Unix seconds of the attempt (reject those more than 5 minutes off: replays);
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, ``<webhook-id>.<webhook-timestamp>.<body>``)), where
  the key is the bytes of the subscription's secret ``whsec_<base64>``.

Deprecated, sent for one more release: ``X-Thidua-Timestamp`` and ``X-Thidua-Signature`` (``sha256=`` + hex
HMAC-SHA256 with the whole secret string over ``<timestamp>.<body>``), checked by :func:`verify`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Thidua-Signature"  # deprecated: webhook-signature
TIMESTAMP_HEADER = "X-Thidua-Timestamp"  # deprecated: webhook-timestamp
ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A subscription secret as Standard Webhooks writes it: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signing_key(secret: str) -> bytes:
    """The key bytes of a secret: the base64 after ``whsec_``. Secrets made before this release are URL-safe
    base64 (``-``, ``_``): their bytes are decoded as such (give a standard verifier ``whsec_`` + the standard
    base64 of those bytes, :func:`standard_secret`, or subscribe again)."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def standard_secret(secret: str) -> str:
    """The secret in the form every Standard Webhooks verifier reads (the same for secrets made since this release)."""
    return SECRET_PREFIX + base64.b64encode(signing_key(secret)).decode("ascii")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of ``body`` sent as message ``msg_id`` at ``timestamp``."""
    mac = hmac.new(signing_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signature headers of a delivery: the standard three, and the deprecated two."""
    return {
        ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: standard_signature(secret, msg_id, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The deprecated ``X-Thidua-Signature`` value of ``body`` sent at ``timestamp`` (Unix seconds)."""
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
    """Whether the deprecated ``signature`` signs ``body`` at ``timestamp`` and the timestamp is recent."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
