"""The webhook reactor: new events → deliveries → signed POSTs, retried with exponential backoff.

Scanning writes one delivery row per (subscription, event) and moves the reactor's own position in the same
transaction, so every matching event gets exactly one delivery. Sending claims a due delivery with a lease (an
UPDATE that only one dispatcher can win, on SQLite and PostgreSQL alike), posts outside any transaction, then
records the attempt. Failures wait ``base × 2^(attempt−1)`` seconds (±20 %, at most ``max``); after
``max_attempts`` the delivery is FAILED with its last error kept in the log. Delivery is at least once (a crash
after the POST and before the record repeats it): receivers deduplicate by ``X-Thidua-Event-Id``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.kernel.cloudevents import MEDIA_TYPE, to_cloudevent
from services.kernel.codec import AvroCodec
from services.kernel.settings import ApiSettings
from services.kernel.store import EventStore, utcnow
from services.kernel.tables import event

from . import signing, subscriptions
from .tables import webhook_attempt, webhook_delivery, webhook_position

log = logging.getLogger(__name__)
REACTOR = "webhooks"
LEASE = timedelta(minutes=2)
SCAN_BATCH = 500
SEND_BATCH = 50


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter and a cap."""

    base: float
    cap: float
    max_attempts: int

    def delay(self, attempt: int, jitter: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        spread = random.uniform(0.8, 1.2) if jitter is None else jitter  # noqa: S311 (not cryptographic)
        return float(min(self.cap, self.base * 2 ** (attempt - 1)) * spread)


class WebhookDispatcher:
    """Scans the store for subscribed events and delivers them."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        codec: AvroCodec,
        settings: ApiSettings,
        client: httpx.Client | None = None,
        *,
        revoked_clients: Select[tuple[str]],
    ) -> None:
        self.engine = engine
        self.revoked_clients = revoked_clients  # the API's query of revoked client ids: no delivery to them
        self.store = store
        self.codec = codec
        self.backoff = Backoff(
            settings.webhook_backoff_base_seconds, settings.webhook_backoff_max_seconds, settings.webhook_max_attempts
        )
        self.client = client or httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
        self.pool = ThreadPoolExecutor(max(1, settings.webhook_concurrency), thread_name_prefix="webhook")
        self.wakeup = threading.Event()

    def close(self) -> None:
        """Stop sending and release the HTTP client."""
        self.pool.shutdown(wait=True)
        self.client.close()

    # --- scanning --------------------------------------------------------------------------------------------

    def scan(self) -> int:
        """Turn the next batch of events into deliveries; return the number of events read."""
        with self.engine.begin() as conn:
            subs = subscriptions.active(conn, self.revoked_clients)
            recorded = conn.execute(
                select(webhook_position.c.position).where(webhook_position.c.reactor == REACTOR)
            ).scalar()
            if not subs:  # nothing to deliver: keep up with the head, no history is owed to later subscriptions
                head = int(conn.execute(select(func.coalesce(func.max(event.c.position), 0))).scalar_one())
                if recorded != head:
                    self._set_position(conn, head)
                return 0
            start = int(recorded) if recorded is not None else min(s.start_position for s in subs)
            stored = self.store.read_all(start, SCAN_BATCH, conn)
            if not stored:
                if recorded is None:
                    self._set_position(conn, start)
                return 0
            now = utcnow()
            rows = [
                _delivery(sub.subscription_id, s.event_id, s.position, s.event_type, now)
                for s in stored
                for sub in subs
                if sub.matches(s.event_type, s.org_unit_path, s.position)
            ]
            if rows:
                conn.execute(_insert(conn)(webhook_delivery).values(rows).on_conflict_do_nothing())
            self._set_position(conn, stored[-1].position)
        return len(stored)

    @staticmethod
    def _set_position(conn: Connection, position: int) -> None:
        now = utcnow()
        stmt = _insert(conn)(webhook_position).values(reactor=REACTOR, position=position, updated_at=now)
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["reactor"], set_={"position": position, "updated_at": now})
        )

    # --- sending ---------------------------------------------------------------------------------------------

    def claim(self, limit: int = SEND_BATCH) -> list[dict[str, Any]]:
        """Due deliveries this dispatcher now holds (a lease), with their subscription."""
        now = utcnow()
        with self.engine.begin() as conn:
            found: list[str] = list(
                conn.execute(
                    select(webhook_delivery.c.delivery_id)
                    .where(subscriptions.due(now, self.revoked_clients))
                    .order_by(webhook_delivery.c.next_attempt_at, webhook_delivery.c.position)
                    .limit(limit)
                ).scalars()
            )
            claimed = []
            for delivery_id in found:
                won = conn.execute(
                    update(webhook_delivery)
                    .where(webhook_delivery.c.delivery_id == delivery_id, subscriptions.lease_free(now))
                    .values(lease_until=now + LEASE)
                )
                if won.rowcount == 1:
                    row = conn.execute(
                        select(webhook_delivery).where(webhook_delivery.c.delivery_id == delivery_id)
                    ).one()
                    sub = subscriptions.get(conn, row.subscription_id)
                    claimed.append({**row._asdict(), "subscription": sub})
        return claimed

    def send(self, delivery: dict[str, Any]) -> bool:
        """One attempt at one delivery, recorded; True when the receiver answered 2xx."""
        sub = delivery["subscription"]
        attempt = delivery["attempts"] + 1
        stored = self.store.read_all(delivery["position"] - 1, 1)[0]
        body = _json_bytes(to_cloudevent(stored, self.codec))
        timestamp = int(time.time())
        headers = {
            "Content-Type": MEDIA_TYPE,
            "User-Agent": "thidua-sync-webhooks/1",
            **signing.headers(sub.secret, delivery["delivery_id"], timestamp, body),
            "X-Thidua-Event-Id": stored.event_id,
            "X-Thidua-Event-Type": stored.event_type,
            "X-Thidua-Delivery": delivery["delivery_id"],
            "X-Thidua-Attempt": str(attempt),
            "X-Thidua-Subscription": sub.subscription_id,
        }
        started = time.monotonic()
        status, error = None, None
        try:
            status = self.client.post(sub.url, content=body, headers=headers).status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
        self._record(delivery, attempt, status, error, int((time.monotonic() - started) * 1000))
        return error is None

    def _record(self, delivery: dict[str, Any], attempt: int, status: int | None, error: str | None, ms: int) -> None:
        now = utcnow()
        if error is None:
            values: dict[str, Any] = {"state": "DELIVERED", "finished_at": now}
        elif attempt >= self.backoff.max_attempts:
            values = {"state": "FAILED", "finished_at": now}
            log.warning("webhook delivery %s given up after %d attempts: %s", delivery["delivery_id"], attempt, error)
        else:
            values = {"next_attempt_at": now + timedelta(seconds=self.backoff.delay(attempt))}
        values |= {"attempts": attempt, "last_status": status, "last_error": error, "lease_until": None}
        with self.engine.begin() as conn:
            conn.execute(
                insert(webhook_attempt).values(
                    delivery_id=delivery["delivery_id"],
                    attempt=attempt,
                    at=now,
                    status_code=status,
                    error=error,
                    duration_ms=ms,
                )
            )
            conn.execute(
                update(webhook_delivery)
                .where(webhook_delivery.c.delivery_id == delivery["delivery_id"], webhook_delivery.c.state == "PENDING")
                .values(**values)
            )

    # --- the loop --------------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Scan one batch and send what is due; return how much work was done."""
        scanned = self.scan()
        claimed = self.claim()
        list(self.pool.map(self._send_safely, claimed))
        return scanned + len(claimed)

    def _send_safely(self, delivery: dict[str, Any]) -> None:
        try:
            self.send(delivery)
        except Exception:  # an unexpected failure: the lease runs out and the delivery is tried again
            log.exception("webhook delivery %s failed unexpectedly", delivery["delivery_id"])

    def next_due_in(self, poll_seconds: float) -> float:
        """Seconds until the earliest pending attempt (at most ``poll_seconds``)."""
        with self.engine.connect() as conn:
            earliest = conn.execute(
                select(webhook_delivery.c.next_attempt_at)
                .where(webhook_delivery.c.state == "PENDING")
                .order_by(webhook_delivery.c.next_attempt_at)
                .limit(1)
            ).scalar()
        if earliest is None:
            return poll_seconds
        wait = (_naive(earliest) - _naive(utcnow())).total_seconds()
        return min(poll_seconds, max(wait, 0.01))

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Work until ``stop`` is set; ``wakeup`` (set after each command) cuts the idle wait short."""
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    self.wakeup.wait(self.next_due_in(poll_seconds))
                    self.wakeup.clear()
            except Exception:  # keep going: the database may come back
                log.exception("webhook dispatcher cycle failed; retrying")
                stop.wait(max(poll_seconds, 1.0))


def _delivery(subscription_id: str, event_id: str, position: int, event_type: str, now: datetime) -> dict[str, Any]:
    return {
        "delivery_id": str(uuid.uuid4()),
        "subscription_id": subscription_id,
        "event_id": event_id,
        "position": position,
        "event_type": event_type,
        "state": "PENDING",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_status": None,
        "last_error": None,
        "created_at": now,
        "finished_at": None,
    }


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _json_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment
