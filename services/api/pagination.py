"""Cursor pagination: an opaque, authenticated cursor carries the last sort key; pages are stable while rows are
added.

A cursor is ``v1.<payload>.<mac>``: the payload is the sort key as compact JSON (base64url), the mac an
HMAC-SHA256 (first 16 bytes, base64url) with the node's cursor secret over the list it belongs to and the payload.
A cursor is refused with ``400 INVALID_CURSOR`` — before anything is decoded or queried — when it is too long, not
of that form, not signed by this node for this list, or (defence in depth) when its key does not have the shape the
list's sort key has. The answer tells the client to start again from the first page.

The cursor secret (``api_node_secret``, one row per node database) is created by the first API process that needs
it: every API process of a node shares it, and it survives restarts and signing-key rotations (a stored event-feed
cursor stays valid).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Column, DateTime, Engine, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from services.kernel.db import new_metadata
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.store import utcnow

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_CHARS = 2048
MAX_KEY_TEXT = 1000
MAX_POSITION = 2**63 - 1
VERSION = "v1"
CURSOR_SECRET = "cursor"

metadata = new_metadata()

api_node_secret = Table(
    "api_node_secret",
    metadata,
    Column("name", String(40), primary_key=True, comment="What the secret is for, e.g. cursor."),
    Column("secret", String(100), nullable=False, comment="32 random bytes, base64url."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    comment="Secrets every API process of the node shares (the HMAC key of pagination cursors).",
)

_SHAPE = re.compile(r"^v1\.([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{22})$")
_LEGACY_POSITION = re.compile(r"^[A-Za-z0-9_-]{1,40}={0,2}$")


def invalid_cursor(reason: str) -> DomainRefusal:
    """400 INVALID_CURSOR: the client should drop the cursor and start again from the first page."""
    return DomainRefusal(
        "INVALID_CURSOR",
        Kind.UNREADABLE,
        "Con trỏ phân trang không hợp lệ hoặc không do nút này cấp; hãy đọc lại từ trang đầu (bỏ tham số con trỏ).",
        "Invalid pagination cursor (corrupted, or not issued by this node for this list); start again from the "
        "first page (omit the cursor).",
        reason=reason,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The element types of sort keys: each checks one decoded JSON value and returns it typed, or raises ValueError.
def text_key(value: Any) -> str:
    """A text column (ids, paths): a string without NUL or lone surrogates, at most ``MAX_KEY_TEXT`` characters."""
    if not isinstance(value, str) or len(value) > MAX_KEY_TEXT or "\x00" in value:
        raise ValueError("not a text key")
    value.encode("utf-8")  # lone surrogates raise UnicodeEncodeError (a ValueError)
    return value


def position_key(value: Any) -> int:
    """A global position: an integer in 0..2^63−1 (booleans are not integers here)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_POSITION:
        raise ValueError("not a position")
    return value


def date_key(value: Any) -> str:
    """A calendar date as ISO text (YYYY-MM-DD)."""
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("not a date")
    date.fromisoformat(value)
    return value


Element = Callable[[Any], Any]


@dataclass(frozen=True)
class CursorKind:
    """The sort key of one list: its name (bound into the MAC) and the type of each element."""

    name: str
    elements: tuple[Element, ...]


PLANS = CursorKind("plans", (text_key,))
AWARDS = CursorKind("awards", (text_key,))
CONFERRED = CursorKind("awards.conferred", (date_key, text_key))
DRILL_DOWN = CursorKind("rollup.drill_down", (text_key,))
ROLLUP_INDICATORS = CursorKind("rollup.indicators", (text_key, text_key))
REPORTS = CursorKind("org_unit.reports", (text_key, text_key))
DELIVERIES = CursorKind("webhook.deliveries", (position_key,))
EVENTS = CursorKind("events", (position_key,))
KINDS = (PLANS, AWARDS, CONFERRED, DRILL_DOWN, ROLLUP_INDICATORS, REPORTS, DELIVERIES, EVENTS)


def _checked(kind: CursorKind, key: Any) -> list[Any]:
    if not isinstance(key, list) or len(key) != len(kind.elements):
        raise ValueError("wrong number of values")
    return [check(value) for check, value in zip(kind.elements, key, strict=True)]


class CursorCodec:
    """Signs and checks the cursors of one node (the secret is read, or created, on first use)."""

    def __init__(self, engine: Engine | None = None, secret: bytes | None = None) -> None:
        self._engine = engine
        self._secret = secret

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            assert self._engine is not None
            self._secret = node_secret(self._engine, CURSOR_SECRET)
        return self._secret

    def _mac(self, kind: CursorKind, payload: str) -> str:
        message = f"{VERSION}\x00{kind.name}\x00{payload}".encode("ascii")
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest()[:16])

    def encode(self, kind: CursorKind, key: list[Any]) -> str:
        """The cursor of ``key`` (the sort key of the last row of a page) for the list ``kind``."""
        payload = _b64(json.dumps(_checked(kind, key), ensure_ascii=True, separators=(",", ":")).encode("ascii"))
        return f"{VERSION}.{payload}.{self._mac(kind, payload)}"

    def decode(self, kind: CursorKind, cursor: str | None, legacy: bool = False) -> list[Any] | None:
        """The sort key in ``cursor`` (None without one); 400 INVALID_CURSOR unless this node signed it for
        ``kind`` and it has ``kind``'s shape. ``legacy``: also take the unsigned base64 JSON of release 0.1 when it
        is exactly ``kind``'s shape (the event feed: readers store that cursor; accepted for one release)."""
        if not cursor:
            return None
        if len(cursor) > MAX_CURSOR_CHARS:
            raise invalid_cursor("too long")
        match = _SHAPE.match(cursor)
        if match is None:
            if legacy and _LEGACY_POSITION.match(cursor):
                return self._legacy(kind, cursor)
            raise invalid_cursor("not a cursor of this API")
        payload, mac = match.groups()
        if not hmac.compare_digest(mac, self._mac(kind, payload)):
            raise invalid_cursor("signature does not match (another node, another list, or altered)")
        try:
            return _checked(kind, json.loads(_unb64(payload)))
        except (ValueError, binascii.Error, RecursionError) as exc:
            raise invalid_cursor("the key does not have this list's shape") from exc

    def _legacy(self, kind: CursorKind, cursor: str) -> list[Any]:
        try:
            return _checked(kind, json.loads(base64.urlsafe_b64decode(cursor.encode("ascii"))))
        except (ValueError, binascii.Error) as exc:
            raise invalid_cursor("not a cursor of this API") from exc


def node_secret(engine: Engine, name: str) -> bytes:
    """The node's secret ``name``, created by the first process that asks (concurrent creators agree)."""
    query = select(api_node_secret.c.secret).where(api_node_secret.c.name == name)
    with engine.connect() as conn:
        found: str | None = conn.execute(query).scalar_one_or_none()
    if found is None:
        try:
            with engine.begin() as conn:
                row = {"name": name, "secret": _b64(secrets.token_bytes(32)), "created_at": utcnow()}
                conn.execute(insert(api_node_secret).values(**row))
        except IntegrityError:
            pass  # another process created it first: use theirs
        with engine.connect() as conn:
            found = conn.execute(query).scalar_one()
    return _unb64(found)


def cursor_codec(request: Request) -> CursorCodec:
    """The app's cursor codec (``app.state.cursors``), its secret loaded before the endpoint opens a connection
    (on SQLite a write while the endpoint's read transaction is open would wait for itself)."""
    codec: CursorCodec = request.app.state.cursors
    codec.secret  # noqa: B018 (loads it)
    return codec


Cursors = Annotated[CursorCodec, Depends(cursor_codec)]


def page(
    items: list[dict[str, Any]], limit: int, key_fields: tuple[str, ...], cursors: CursorCodec, kind: CursorKind
) -> dict[str, Any]:
    """A page body from ``limit + 1`` fetched rows: ``items`` and ``next_cursor`` (null on the last page)."""
    more = len(items) > limit
    items = items[:limit]
    cursor = cursors.encode(kind, [_plain(items[-1][f]) for f in key_fields]) if more and items else None
    return {"items": items, "next_cursor": cursor}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
