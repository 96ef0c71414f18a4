"""Cursor pagination: an opaque cursor carries the last sort key; pages are stable while rows are added."""

from __future__ import annotations

import base64
import json
from typing import Any

from services.kernel.errors import DomainRefusal

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(json.dumps(key, ensure_ascii=False).encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key inside ``cursor``; a malformed cursor is a 422 problem."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise DomainRefusal(
            "INVALID_CURSOR", 422, "Con trỏ phân trang không hợp lệ.", "Invalid pagination cursor.", cursor=cursor
        ) from exc
    if not isinstance(key, list):
        raise DomainRefusal(
            "INVALID_CURSOR", 422, "Con trỏ phân trang không hợp lệ.", "Invalid pagination cursor.", cursor=cursor
        )
    return key


def page(items: list[dict[str, Any]], limit: int, key_fields: tuple[str, ...]) -> dict[str, Any]:
    """A page body from ``limit + 1`` fetched rows: ``items`` and ``next_cursor`` (null on the last page)."""
    more = len(items) > limit
    items = items[:limit]
    cursor = encode_cursor([items[-1][f] for f in key_fields]) if more and items else None
    return {"items": items, "next_cursor": cursor}
