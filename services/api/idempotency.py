"""``Idempotency-Key`` on POST: a retried request gets the first response and appends nothing.

A key belongs to one client. The request's fingerprint is SHA-256 over method, path, ``If-Match`` and the body
(canonical JSON, NFC); the same key with another fingerprint is refused (422 ``IDEMPOTENCY_KEY_REUSED``). For
commands the response is stored inside the command's own transaction, under the store's append lock, so two
concurrent retries cannot both append and the record never exists without its events: a command first runs
without looking its key up and stores the response with a plain ``INSERT`` (one statement); when that finds the key
already stored (:class:`KeySeen`: a retry, a reuse or an expired key) or the command is refused, the transaction
rolls back and the key is looked up, to replay the first response, refuse the reuse, or forget the expired key and
run the command once more (``services.api.commanding``). Refusals (4xx) are stored too, in their own transaction.
Keys expire after ``api_idempotency_ttl_hours``: an expired key is ignored (and forgotten) when it comes again, and
a process deletes a client's expired keys with a save at most once every :data:`PURGE_EVERY` seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from services.kernel.db import new_metadata
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.store import utcnow

from .security import Caller

metadata = new_metadata()

api_idempotency = Table(
    "api_idempotency",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False, comment="SHA-256 of method, path, If-Match and body."),
    Column("status_code", Integer, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index(None, "client_id", "expires_at"),
)

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
KEPT_HEADERS = ("etag", "location")
REPLAYED = "Idempotent-Replayed"
PURGE_EVERY = 60.0  # seconds between two deletions of one client's expired keys by one process
_purged: dict[str, float] = {}  # client id → monotonic time of this process's last purge
_purged_lock = threading.Lock()


def _purge_due(client_id: str) -> bool:
    """Whether this process should delete ``client_id``'s expired keys now (and note that it does)."""
    now = time.monotonic()
    with _purged_lock:
        if now - _purged.get(client_id, -PURGE_EVERY) < PURGE_EVERY:
            return False
        _purged[client_id] = now
        return True


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a key."""

    status_code: int
    body: bytes
    media_type: str
    headers: dict[str, str]

    @classmethod
    def of(cls, response: Response) -> StoredResponse:
        """What to keep of ``response``."""
        headers = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
        return cls(response.status_code, bytes(response.body), response.media_type or "application/json", headers)

    def replay(self) -> Response:
        """The stored response, marked as a replay."""
        headers = {**self.headers, REPLAYED: "true"}
        return Response(self.body, self.status_code, headers, self.media_type)


class KeySeen(Exception):
    """The key is already stored (a retry, a reuse, or an expired key): roll back, then look it up."""


class Replay(Exception):
    """The key was used before with the same request: answer with the stored response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


def _naive_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key and the fingerprint of the request that carries it."""

    client_id: str
    key: str
    fingerprint: str
    ttl: timedelta

    def _where(self) -> Any:
        t = api_idempotency.c
        return (t.client_id == self.client_id) & (t.key == self.key)

    def check(self, conn: Connection) -> None:
        """Raise Replay (same request seen) or IDEMPOTENCY_KEY_REUSED (another request); forget an expired key."""
        row = conn.execute(_FIND, {"client_id": self.client_id, "key": self.key}).first()
        if row is None:
            return
        if _naive_utc(row.expires_at) <= _naive_utc(utcnow()):
            conn.execute(delete(api_idempotency).where(self._where()))
            return
        if row.fingerprint != self.fingerprint:
            raise DomainRefusal(
                "IDEMPOTENCY_KEY_REUSED",
                Kind.INVALID,
                f"Khóa Idempotency-Key '{self.key}' đã dùng cho một yêu cầu khác; hãy dùng khóa mới.",
                f"Idempotency-Key '{self.key}' was used for a different request; use a new key.",
                idempotency_key=self.key,
            )
        raise Replay(StoredResponse(row.status_code, row.body, row.media_type, dict(row.headers)))

    def save(self, conn: Connection, stored: StoredResponse, if_absent: bool = False) -> None:
        """Keep the first response (``if_absent``: unless a concurrent request already did); purge expired keys when
        due."""
        now = utcnow()
        t = api_idempotency.c
        if _purge_due(self.client_id):
            conn.execute(delete(api_idempotency).where(t.client_id == self.client_id, t.expires_at < now))
        elif if_absent:  # a refusal's own transaction: the check's deletion of this expired key was rolled back
            conn.execute(delete(api_idempotency).where(self._where(), t.expires_at < now))
        row = {
            "client_id": self.client_id,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "status_code": stored.status_code,
            "media_type": stored.media_type,
            "headers": stored.headers,
            "body": stored.body,
            "created_at": now,
            "expires_at": now + self.ttl,
        }
        if if_absent:
            dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(dialect(api_idempotency).values(row).on_conflict_do_nothing())
            return
        try:
            conn.execute(_INSERT, row)
        except IntegrityError as exc:  # the transaction is lost: the caller rolls back and looks the key up
            raise KeySeen(self.key) from exc


# the hot statements of every command with a key, built once (SQLAlchemy then reuses their compiled form)
_FIND = select(api_idempotency).where(
    api_idempotency.c.client_id == bindparam("client_id"), api_idempotency.c.key == bindparam("key")
)
_INSERT = insert(api_idempotency)


def canonical_body(body: bytes) -> bytes:
    """The body as canonical JSON (sorted keys, NFC) when it is JSON, else as sent."""
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return body
    text = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass")


def fingerprint(method: str, path: str, if_match: str | None, body: bytes) -> str:
    """SHA-256 over what makes two requests the same."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), (if_match or "").encode("latin-1", "replace"), canonical_body(body)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def idempotency_key(
    request: Request,
    principal: Caller,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Khóa chống lặp do bên gọi sinh (ví dụ UUID), tối đa 255 ký tự ASCII; gửi lại cùng khóa và "
            "cùng nội dung trả lại phản hồi đầu tiên / a client-generated key (e.g. a UUID): a retry with the same "
            "key and body returns the first response and appends nothing",
        ),
    ] = None,
) -> IdempotencyKey | None:
    """The request's Idempotency-Key with its fingerprint (None without the header)."""
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise DomainRefusal(
            "INVALID_IDEMPOTENCY_KEY",
            Kind.INVALID,
            "Idempotency-Key phải gồm 1–255 ký tự ASCII in được.",
            "Idempotency-Key must be 1–255 printable ASCII characters.",
        )
    body = await request.body()
    hours = request.app.state.node.settings.api_idempotency_ttl_hours
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    fp = fingerprint(request.method, path, request.headers.get("if-match"), body)
    return IdempotencyKey(principal.client_id, key, fp, timedelta(hours=hours))


Idempotency = Annotated[IdempotencyKey | None, Depends(idempotency_key)]


def run_once(engine: Engine, key: IdempotencyKey | None, action: Callable[[Connection], Response]) -> Response:
    """Run ``action`` in a transaction, at most once per key: a repeat gets the first response."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                if key is not None:
                    key.check(conn)
                response = action(conn)
                if key is not None:
                    key.save(conn, StoredResponse.of(response))
                return response
        except Replay as replay:
            return replay.stored.replay()
        except KeySeen:  # a concurrent request with the same key committed first: replay it
            if attempt or key is None:
                raise
    raise AssertionError("unreachable")
